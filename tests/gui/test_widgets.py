"""The ops runner and the Q&A editor on their own, with real threads and real key events."""

from __future__ import annotations

import threading

from PySide6.QtCore import Qt

from field_app.store import WrongPassword
from field_app.ui.app import create_app
from field_app.ui.ops import OpRunner
from field_app.ui.qa import QAEditor
from tests.harness.qt_typing import type_text


def test_ops_runner_delivers_results_and_errors_on_the_gui_thread(qtbot):
    create_app()
    ops = OpRunner()
    gui = threading.get_ident()
    seen: dict = {}

    def work():
        seen["worker"] = threading.get_ident()
        return 42

    ops.run(work, on_done=lambda r: seen.update(result=r, done_thread=threading.get_ident()),
            what="cases")
    qtbot.waitUntil(lambda: "result" in seen, timeout=5000)
    assert seen["result"] == 42 and seen["worker"] != gui and seen["done_thread"] == gui

    def chinese():
        raise WrongPassword("密码不正确。")

    def internal():
        raise KeyError("x")

    errors: list[str] = []
    ops.run(chinese, on_error=errors.append)
    ops.run(internal, on_error=errors.append)
    qtbot.waitUntil(lambda: len(errors) == 2, timeout=5000)
    assert "密码不正确。" in errors
    assert any("详细信息已写入日志" in e for e in errors)  # never a traceback on screen
    assert ops.busy == 0


def test_qa_editor_enter_moves_on_and_records_turns(qtbot):
    create_app()
    qa = QAEditor()
    qtbot.addWidget(qa)
    qa.show()
    qtbot.waitExposed(qa)
    changes = []
    qa.changed.connect(lambda: changes.append(1))
    type_text(qa.question, "你单位有多少名劳动者？")
    qtbot.keyClick(qa.question, Qt.Key.Key_Return)
    assert qa.focusWidget() is qa.answer
    type_text(qa.answer, "一百二十人。")
    qtbot.keyClick(qa.answer, Qt.Key.Key_Return)
    assert qa.focusWidget() is qa.question and qa.question.text() == "" and qa.answer.text() == ""
    assert qa.turns() == [{"q": "你单位有多少名劳动者？", "a": "一百二十人。"}]
    # correct a turn: select it, edit, save
    qa.list.setCurrentRow(0)
    qa.answer.clear()
    type_text(qa.answer, "一百二十三人。")
    qtbot.keyClick(qa.answer, Qt.Key.Key_Return)
    assert qa.turns() == [{"q": "你单位有多少名劳动者？", "a": "一百二十三人。"}]
    qa.list.setCurrentRow(0)
    qtbot.mouseClick(qa.findChild(type(qa.add_button), "qaDelete"), Qt.MouseButton.LeftButton)
    assert qa.turns() == [] and len(changes) == 3
