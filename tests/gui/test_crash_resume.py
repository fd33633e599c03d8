"""Kill the app with SIGKILL mid-wizard while recording; restart: the draft and the recording are
there, the gap is logged, and the procedure continues where it was with a new recording."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import field_app.capture.recordings  # noqa: F401 - registers the recording checks with verify
from field_app.store.verify import verify_report
from tests.conftest import REPO_ROOT
from tests.gui.crash_child import FINDINGS
from tests.gui.helpers import click, open_cases, unlock, use_synthetic


def test_kill_mid_wizard_then_resume(qtbot, made_store, keyring_env, tmp_path):
    ack = tmp_path / "ack"
    env = {**os.environ, **keyring_env, "QT_QPA_PLATFORM": "offscreen"}
    child = subprocess.Popen([sys.executable, "-m", "tests.gui.crash_child", str(made_store),
                              str(ack)], cwd=REPO_ROOT, env=env)
    try:
        deadline = time.monotonic() + 90
        while not (ack.exists() and ack.read_text().strip()):
            assert child.poll() is None, "the child app ended before recording"
            assert time.monotonic() < deadline, "the child app never started recording"
            time.sleep(0.1)
        time.sleep(0.5)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(30)

    from field_app.ui import common
    from field_app.ui.app import create_app
    from field_app.ui.main_window import MainWindow

    create_app()
    asked = []
    common.ASK = lambda parent, title, summary: asked.append(summary) or True
    win = MainWindow(made_store)
    qtbot.addWidget(win)
    win.show()
    use_synthetic(win)  # before unlock: the resume offer may come as soon as the cases are shown
    try:
        unlock(qtbot, win)
        open_cases(qtbot, win)
        store = win.state.store
        qtbot.waitUntil(lambda: any(e.entry_type == "recording.gap"
                                    for e in store.entries_after(0, 100000)), timeout=30000)
        gap = next(e for e in store.entries_after(0, 100000) if e.entry_type == "recording.gap")
        assert gap.payload["cause"] == "crash"
        page = win.cases_page
        # The app offers to continue the cut procedure by itself (ASK answered 确定 above): the case
        # is selected and the wizard opens where the log says it was — no searching, no clicking.
        qtbot.waitUntil(lambda: getattr(win, "wizard", None) is not None and win.wizard.session is not None
                        and win.stack.currentWidget() is win.work_page, timeout=20000)
        assert page.open_combo.count() == 1 and asked and "意外退出或断电" in asked[0]
        w = win.wizard
        assert w.session.current is not None and w.session.current.id == "record"
        assert w.editors["findings"].value() == FINDINGS  # the draft is back
        qtbot.waitUntil(lambda: win.panel.stop_button.isEnabled(), timeout=20000)
        assert win.panel.session.procedure_sessions == (w.session.id,)
        click(qtbot, win.panel, "stopButton")
        qtbot.waitUntil(lambda: "录像已结束" in win.panel.message.text(), timeout=30000)
        starts = [e for e in store.entries_after(0, 100000) if e.entry_type == "recording.start"]
        assert len(starts) == 2  # the cut recording and the new segment run
        cut = starts[0].payload["recording_id"]
        assert gap.record_id == cut
        assert any(e.entry_type == "recording.segment" and e.record_id == cut
                   for e in store.entries_after(0, 100000))  # what was recorded before the kill
        assert verify_report(store).errors == []
    finally:
        win.close()
        common.ASK = common._ask
