"""The main window opened through pytest-qt on real widgets."""

from __future__ import annotations

from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QLineEdit

from field_app import APP_NAME_ZH
from field_app.ui.app import create_app
from field_app.ui.main_window import MainWindow
from tests.harness.qt_typing import type_text


def test_main_window_shows_title_and_data_dir(qtbot, isolated_home):
    create_app()
    window = MainWindow(isolated_home)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    assert window.windowTitle() == APP_NAME_ZH
    assert window.data_dir_label.text() == f"数据目录：{isolated_home}"
    # Whatever page is showing (here: first-launch set-up), the data directory is in sight.
    assert window.data_dir_status.isVisible() and window.data_dir_status.text() == f"数据目录：{isolated_home}"
    # Recording state is always visible, and honest before anything records.
    assert window.recording_label.isVisible() and "未录制" in window.recording_label.text()


def test_title_font_draws_every_chinese_character(qtbot, isolated_home):
    create_app()
    window = MainWindow(isolated_home)
    qtbot.addWidget(window)
    metrics = QFontMetrics(window.title_label.font())
    missing = [ch for ch in APP_NAME_ZH + "数据目录未录制解锁" if not metrics.inFontUcs4(ord(ch))]
    assert missing == [], f"no glyph for {missing} in {window.title_label.font().family()}"


def test_typing_chinese_through_the_input_method_helper(qtbot):
    create_app()
    field = QLineEdit()
    qtbot.addWidget(field)
    field.show()
    type_text(field, "石家庄恒泰建筑劳务有限公司")
    type_text(field, "（陈卫东）")
    assert field.text() == "石家庄恒泰建筑劳务有限公司（陈卫东）"
