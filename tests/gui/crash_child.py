"""Child process for the crash-resume test: the real app (offscreen) unlocks, starts an inspection
with synthetic A/V, confirms the notice, finishes the opening, types into the 2-5 draft, writes
"R" to the ack file and keeps recording until the test kills it with SIGKILL."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
FINDINGS = "崩溃前输入：九月、十月工资未发放。"


def main(data_dir: str, ack: str) -> None:
    from field_app.ui import common
    from field_app.ui.app import create_app
    from field_app.ui.main_window import MainWindow
    from tests.gui.conftest import small_settings, synthetic_sources
    from tests.unit.store.conftest import LIU, WANG

    app = create_app()
    common.ASK = lambda parent, title, summary: True
    win = MainWindow(Path(data_dir))

    def wait(cond, timeout=30.0):
        end = time.monotonic() + timeout
        while not cond():
            if time.monotonic() > end:
                raise TimeoutError
            app.processEvents()
            time.sleep(0.01)

    page = win.unlock_page
    for i, officer in enumerate((WANG, LIU)):
        page.slots[i][0].setCurrentText(officer[1])
        page.slots[i][1].setText(officer[3])
        page.unlock(i)
        wait(lambda n=i + 1: len(win.state.store.unlocked_officers) == n)
    win.show_cases()
    wait(lambda: win.state.case is not None)
    win._work_page()
    win.panel.sources, win.panel.settings = synthetic_sources, small_settings
    win.cases_page.matter_edit.setText("工资支付情况检查")
    win.cases_page._start()
    wait(lambda: win.panel.running and win.panel.frames_shown > 0)
    w = win.wizard
    win.panel.confirm_notice()
    w.enter("opening")
    for item in ("av_notice", "certificates", "place_sign"):
        w.confirm(item, True)
    w.finalize()
    w.enter("record")
    w.editors["findings"].set_value(FINDINGS)
    w.editors["findings"].edited.emit()
    w.save_now()
    wait(lambda: win.panel.session.segment_count >= 1)
    fd = os.open(ack, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.write(fd, b"R\n")
    end = time.monotonic() + 120
    while time.monotonic() < end:  # recording on, until killed
        app.processEvents()
        time.sleep(0.01)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
