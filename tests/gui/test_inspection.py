"""现场检查 (2-5) end to end through the real widgets: recording with synthetic A/V, the notice,
key shots, the form, finalize, finish, PDF, stop; then the store holds it all and verifies clean."""

from __future__ import annotations

from datetime import datetime, timedelta

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox

import field_app.capture.recordings  # noqa: F401 - registers the recording checks with verify
from field_app.core.deadlines import BEIJING
from field_app.store.verify import verify_report
from tests.gui.helpers import button, click, open_cases, start, unlock, use_synthetic
from tests.harness.qt_typing import type_text
from tests.unit.store.conftest import WANG


def wizard_message(win) -> str:
    return win.wizard.message.text()


def begin_inspection(qtbot, win) -> None:
    unlock(qtbot, win)
    open_cases(qtbot, win)
    use_synthetic(win)
    start(qtbot, win, "inspection")
    qtbot.waitUntil(lambda: win.panel.running and win.panel.frames_shown > 0, timeout=20000)


def opening_step(qtbot, win) -> None:
    click(qtbot, win.wizard.body, "enter_opening")
    assert win.state.step_title.startswith("告知录音录像")
    for item in ("av_notice", "certificates", "place_sign"):
        win.wizard.body.findChild(QCheckBox, f"check_{item}").setChecked(True)
    click(qtbot, win.wizard.body, "shot_place_sign")
    assert "已拍摄" in wizard_message(win)


def fill_2_5(qtbot, win) -> None:
    w = win.wizard
    ed = w.editors
    start_at = (datetime.now(BEIJING) - timedelta(minutes=30)).strftime("%Y-%m-%d %H:%M")
    qtbot.keyClicks(ed["time"].start, start_at)
    qtbot.mouseClick(ed["time"].findChildren(type(button(w.body, "finalizeButton")))[1],
                     Qt.MouseButton.LeftButton)  # 现在 for the end
    assert ed["place"].value() == "恒泰大厦6层项目部"  # from the place typed on the case screen
    assert ed["party"].value()["name"] == "石家庄恒泰建筑劳务有限公司"
    assert [o["name"] for o in ed["inspectors"].value()] == [WANG[0], "刘晓燕"]
    for key in ("party_notified", "certificates_shown", "rights_told", "av_notice"):
        ed[key].yes.click()
    type_text(ed["party_notified"].note, "电话通知，项目经理到场")
    type_text(ed["rights_told"].note, "告知陈述申辩权和申请回避权")
    type_text(ed["statement"].edit, "无")
    type_text(ed["findings"].edit, "现场查阅考勤表和工资支付台账，九月、十月工资未发放。")


def test_inspection_end_to_end(qtbot, window, tmp_path):
    win = window
    begin_inspection(qtbot, win)
    assert "录制中" in win.panel.indicator.text()
    assert win.panel.notice.isVisible()  # the standard notice is prompted at the start
    qtbot.waitUntil(lambda: win.panel.meter.value() > 20, timeout=5000)  # the tone is heard
    assert "现场检查" in win.step_label.text()

    opening_step(qtbot, win)
    # skipping the notice: finalize is refused (the recorder does not count as recording)
    click(qtbot, win.wizard.body, "finalizeButton")
    assert "须全程音像记录" in wizard_message(win)
    click(qtbot, win.panel, "noticeButton")
    qtbot.waitUntil(lambda: win.panel.session.notice_confirmed, timeout=5000)
    click(qtbot, win.wizard.body, "finalizeButton")
    assert "已定稿" in wizard_message(win) or "已完成" in wizard_message(win) or \
        win.wizard.session.state.is_done("opening")
    assert win.wizard.session.state.is_done("opening")

    click(qtbot, win.wizard.body, "enter_record")
    # a marker and a pause with a reason, and the pause demands the reason
    click(qtbot, win.panel, "marker_key_evidence")
    click(qtbot, win.panel, "pauseButton")
    assert "必须说明原因" in win.panel.message.text()
    fill_2_5(qtbot, win)
    click(qtbot, win.wizard.body, "shot_vouchers")
    win.wizard.save_now()
    entries_before = win.state.store.size
    click(qtbot, win.wizard.body, "finalizeButton")
    assert win.wizard.session.state.is_done("record"), wizard_message(win)
    assert win.state.store.size > entries_before

    click(qtbot, win.wizard.body, "finishButton")
    assert win.wizard.session.finished
    assert "结束" in win.step_label.text()

    pdf = tmp_path / "2-5.pdf"
    win.pdf_target = lambda record_id: str(pdf)
    click(qtbot, win.wizard.body, "printButton")
    qtbot.waitUntil(pdf.exists, timeout=30000)
    assert pdf.read_bytes().startswith(b"%PDF")
    # sign-off, page by page: a refusal needs who, why and the witness
    qtbot.waitUntil(lambda: win.wizard.signoff is not None, timeout=10000)
    sign = win.wizard.signoff
    click(qtbot, sign, "refuse_1_1")
    assert "见证人" in sign.message.text()
    type_text(sign.who, "陈卫东")
    type_text(sign.reason, "对检查结果有异议")
    type_text(sign.witness, "周桂兰")
    click(qtbot, sign, "refuse_1_1")
    assert "拒绝签名" in sign.message.text(), sign.message.text()
    click(qtbot, sign, "photo_1_1")
    assert "已存档" in sign.message.text(), sign.message.text()
    pages = sign.history().current.all_pages()
    for copy, page in pages[1:]:
        click(qtbot, sign, f"sign_{copy}_{page}")
    assert sign.history().complete

    click(qtbot, win.panel, "stopButton")
    qtbot.waitUntil(lambda: "录像已结束" in win.panel.message.text(), timeout=30000)
    assert "未录制" in win.recording_label.text()

    store = win.state.store
    types = [e.entry_type for e in store.entries_after(0, 10000)]
    for needed in ("procedure.start", "record", "key_shot", "recording.start", "recording.marker",
                   "recording.segment", "recording.still", "recording.stop", "print",
                   "print.signoff", "print.photo", "procedure.finish"):
        assert needed in types, needed
    record = next(e for e in store.entries_after(0, 10000) if e.entry_type == "record"
                  and e.payload["document"]["id"] == "2-5")
    assert "工资未发放" in record.payload["values"]["findings"]
    # the record names the site recording and its span in it (from entering the step to finalizing)
    [started] = [e for e in store.entries_after(0, 10000) if e.entry_type == "recording.start"]
    span = record.payload["recording"]
    assert span["recording_id"] == started.payload["recording_id"]
    assert span["start"] is not None and 0 <= span["start"] <= span["end"]
    stopped = next(e for e in store.entries_after(0, 10000) if e.entry_type == "recording.stop")
    assert span["end"] <= stopped.payload["offset"]
    assert verify_report(store).errors == []


def test_one_officer_cannot_start_a_procedure(qtbot, window):
    unlock(qtbot, window, officers=(WANG,))
    open_cases(qtbot, window)
    start(qtbot, window, "inspection")
    assert "不得少于两人" in window.cases_page.message.text()
    assert window.stack.currentWidget() is window.cases_page


def test_recording_state_shown_in_header_and_pause_needs_reason(qtbot, window):
    begin_inspection(qtbot, window)
    assert "未告知" in window.recording_label.text()
    click(qtbot, window.panel, "noticeButton")
    type_text(window.panel.pause_reason, "当事人要求休息十分钟")
    click(qtbot, window.panel, "pauseButton")
    qtbot.waitUntil(lambda: "已暂停" in window.panel.indicator.text(), timeout=5000)
    window.refresh_header()
    assert "已暂停" in window.recording_label.text()
    click(qtbot, window.panel, "pauseButton")  # 继续录像
    qtbot.waitUntil(lambda: "录制中" in window.panel.indicator.text(), timeout=5000)
    store = window.state.store
    pauses = [e for e in store.entries_after(0, 10000) if e.entry_type == "recording.pause"]
    assert pauses and pauses[0].payload["reason"] == "当事人要求休息十分钟"
