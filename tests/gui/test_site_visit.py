"""One site visit, one recording: a second procedure at the same place joins the running recording
(the camera does not stop); starting at another place means leaving this one, which ends it."""

from __future__ import annotations

import field_app.capture.recordings  # noqa: F401 - registers the recording checks with verify
from field_app.store.verify import verify_report
from tests.gui.helpers import click, confirm_notice, open_cases, start, unlock, use_synthetic

PLACE = "恒泰大厦6层项目部"


def test_procedures_at_one_place_share_one_recording_and_leaving_ends_it(qtbot, window):
    win = window
    unlock(qtbot, win)
    open_cases(qtbot, win)
    use_synthetic(win)
    start(qtbot, win, "inspection", place=PLACE)
    qtbot.waitUntil(lambda: win.panel.running and win.panel.frames_shown > 0, timeout=20000)
    confirm_notice(qtbot, win)
    first = win.panel.session
    inspection = win.wizard.session.id

    # the inspection turns into questioning at the same place: the camera does not stop
    click(qtbot, win.work_page, "backButton")
    assert win.panel.running
    start(qtbot, win, "questioning", place=PLACE, matter="询问项目经理")
    assert win.panel.session is first and win.panel.running
    questioning = win.wizard.session.id
    assert set(first.procedure_sessions) == {inspection, questioning}
    assert first.notice_confirmed  # the notice given at the start covers the whole visit

    # another place: leaving this one ends its recording; a new one starts there
    click(qtbot, win.work_page, "backButton")
    start(qtbot, win, "inspection", place="恒泰大厦地下一层仓库", matter="查看仓库")
    qtbot.waitUntil(lambda: not first.active, timeout=30000)
    qtbot.waitUntil(lambda: win.panel.session is not first and win.panel.stop_button.isEnabled(),
                    timeout=20000)
    second = win.panel.session
    assert second.procedure_sessions == (win.wizard.session.id,)
    click(qtbot, win.panel, "stopButton")
    qtbot.waitUntil(lambda: "录像已结束" in win.panel.message.text(), timeout=30000)
    assert "未录制" in win.recording_label.text()

    store = win.state.store
    entries = store.entries_after(0, 100000)
    starts = [e for e in entries if e.entry_type == "recording.start"]
    stops = [e for e in entries if e.entry_type == "recording.stop"]
    assert [e.payload["place"] for e in starts] == [PLACE, "恒泰大厦地下一层仓库"]
    assert {e.record_id for e in stops} == {e.record_id for e in starts}
    # the log (not only the window) says the questioning joined the first recording, and when
    joined = [e for e in entries if e.entry_type == "recording.procedure"]
    assert [(e.record_id, e.payload["procedure_session"]) for e in joined] == [(first.recording_id, questioning)]
    assert verify_report(store).errors == []
