"""Unlock, set-up, idle lock and the case list, through the real widgets on a real store."""

from __future__ import annotations

from PySide6.QtCore import Qt

from field_app.store import Store
from tests.gui.helpers import click, open_cases, unlock
from tests.harness.qt_typing import type_text
from tests.unit.store.conftest import HENGTAI, LIU, WANG


def test_wrong_password_is_refused_in_chinese_and_counted(qtbot, window):
    page = window.unlock_page
    assert window.stack.currentWidget() is page
    cert, password, _, _ = page.slots[0]
    cert.setCurrentText(WANG[1])
    qtbot.keyClicks(password, "not-the-password")
    click(qtbot, page, "unlockButton0")
    qtbot.waitUntil(lambda: "还可再试" in page.message.text(), timeout=10000)
    assert password.text() == ""  # cleared: the next try starts fresh
    assert not window.state.store.is_unlocked
    assert not page.proceed_button.isEnabled()


def test_two_officers_unlock_and_the_header_names_both(qtbot, window):
    unlock(qtbot, window)
    assert [o.cert_no for o in window.state.store.unlocked_officers] == [WANG[1], LIU[1]]
    text = window.officers_label.text()
    assert WANG[0] in text and LIU[0] in text
    assert "未录制" in window.recording_label.text()


def test_case_list_search_create_and_timeline(qtbot, window):
    unlock(qtbot, window, officers=(WANG,))  # one officer is enough to browse
    open_cases(qtbot, window)
    page = window.cases_page
    assert page.table.item(0, 1).text() == HENGTAI["party_name"]
    # create a case with its party
    fields = page.new_fields
    type_text(fields["case_no"], "长人社监〔2026〕第0142号")
    type_text(fields["party_name"], "石家庄康宁民营医院")
    qtbot.keyClicks(fields["credit_code"], "521301021860913902")
    click(qtbot, page, "createCase")
    qtbot.waitUntil(lambda: "已登记案件" in page.message.text(), timeout=10000)
    # search by party name (Chinese) and by credit code
    page.search_edit.clear()
    type_text(page.search_edit, "康宁")
    click(qtbot, page, "searchButton")
    qtbot.waitUntil(lambda: page.table.rowCount() == 1 and
                    page.table.item(0, 1).text() == "石家庄康宁民营医院", timeout=10000)
    page.search_edit.clear()
    qtbot.keyClicks(page.search_edit, HENGTAI["credit_code"])
    qtbot.keyClick(page.search_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: page.table.rowCount() == 1 and
                    page.table.item(0, 0).text() == HENGTAI["case_no"], timeout=10000)
    qtbot.waitUntil(lambda: page.timeline.count() >= 1, timeout=10000)
    assert "立案登记" in page.timeline.item(0).text()
    assert window.case_label.text() == f"案件：{HENGTAI['case_no']}"


def test_duplicate_case_number_is_refused(qtbot, window):
    unlock(qtbot, window, officers=(WANG,))
    open_cases(qtbot, window)
    page = window.cases_page
    type_text(page.new_fields["case_no"], HENGTAI["case_no"])
    type_text(page.new_fields["party_name"], "另一家公司")
    click(qtbot, page, "createCase")
    qtbot.waitUntil(lambda: "已被另一个案件使用" in page.message.text(), timeout=10000)


def test_idle_lock_returns_to_unlock(qtbot, window):
    unlock(qtbot, window, officers=(WANG,))
    open_cases(qtbot, window)
    window.state.store.idle_timeout = 0.0
    assert window.check_idle()
    assert not window.state.store.is_unlocked
    assert window.stack.currentWidget() is window.unlock_page
    assert window.officers_label.text() == "未解锁"


def test_first_launch_setup_creates_a_store(qtbot, keyring_env, isolated_home, hq_keys, tmp_path):
    from field_app.ui import common
    from field_app.ui.app import create_app
    from field_app.ui.main_window import MainWindow
    from tests.gui.conftest import CHEAP_KDF

    create_app()
    key_file = tmp_path / "hq.pub"
    key_file.write_text(hq_keys[1].hex())
    win = MainWindow(isolated_home)
    qtbot.addWidget(win)
    page = win.setup_page
    page.kdf = CHEAP_KDF
    assert win.stack.currentWidget() is page
    click(qtbot, page, "createStore")
    assert "两名执法人员" in page.message.text()
    for row, officer in zip(page.officer_rows, (WANG, LIU)):
        type_text(row[0], officer[0])
        qtbot.keyClicks(row[1], officer[1])
        type_text(row[2], officer[2])
        qtbot.keyClicks(row[3], officer[3])
    qtbot.keyClicks(page.hq_key_edit, str(key_file))
    click(qtbot, page, "createStore")
    qtbot.waitUntil(lambda: win.state.store is not None, timeout=20000)
    assert win.stack.currentWidget() is win.cases_page
    assert sorted(win.state.store.enrolled_cert_nos) == sorted([WANG[1], LIU[1]])
    win.close()
    reopened = Store.open(isolated_home)
    assert reopened.enrolled_cert_nos
    common.ASK = common._ask


def test_status_bar_counts_overdue_deadlines_of_every_case(qtbot, window):
    """A sealing done on the emergency path three days ago and never reported: its 24-hour
    report deadline is overdue, and the status bar says so on the case screen too."""
    from datetime import datetime, timedelta

    from field_app.core.deadlines import BEIJING
    from field_app.core.driver import ManualClock
    from field_app.core.engine import ProcedureSession
    from field_app.core.state import Officer

    unlock(qtbot, window)
    open_cases(qtbot, window)
    qtbot.waitUntil(lambda: "无逾期期限" in window.deadline_status.text(), timeout=10000)
    store = window.state.store
    clock = ManualClock(datetime.now(BEIJING) - timedelta(days=3))
    session = ProcedureSession.start(
        window.registry(), "sealing", [Officer(WANG[0], WANG[1]), Officer(LIU[0], LIU[1])],
        writer=store, recording=window.recording_registry(), clock=clock,
        context={"case_no": HENGTAI["case_no"]})
    session.choose_emergency("sealing_approval", "当事人正在转移工资台账，情况紧急")
    window.back_to_cases()  # what 返回案件列表 does: the case screen, deadlines counted again
    qtbot.waitUntil(lambda: "逾期期限：1" in window.deadline_status.text(), timeout=10000)
    qtbot.waitUntil(lambda: window.cases_page.deadlines.count() >= 1 and "已逾期" in
                    window.cases_page.deadlines.item(0).text(), timeout=10000)
