"""The scripted demo: five procedures on the real store with synthetic A/V, a PDF per record,
verify clean; then the GUI opens the same data and the demo password unlocks it."""

from __future__ import annotations

import field_app.capture.recordings  # noqa: F401 - registers the recording checks with verify
from field_app.demo import CASE, OFFICERS, run_demo
from field_app.store import Store
from field_app.store.verify import verify_report
from tests.gui.conftest import CHEAP_KDF
from tests.gui.helpers import button, click


def test_demo_runs_all_five_procedures_and_opens_in_the_gui(qtbot, keyring_env, isolated_home,
                                                              tmp_path):
    out = tmp_path / "out"
    result = run_demo(isolated_home, out, seconds_per_procedure=0.2, kdf=CHEAP_KDF,
                      say=lambda text: None)
    assert result.records >= 5 and len(result.pdfs) == result.records
    assert all(p.read_bytes().startswith(b"%PDF") for p in result.pdfs)
    password = result.password_file.read_text().strip()
    store = Store.open(isolated_home)
    store.unlock(OFFICERS[0][1], password)
    entries = store.entries_after(0, 100000)
    finished = [e for e in entries if e.entry_type == "procedure.finish"]
    assert len(finished) == 5
    assert len({e.payload["recording_id"] for e in entries if e.entry_type == "recording.start"}) == 1
    assert verify_report(store).errors == []
    store.close()

    from field_app.ui.app import create_app
    from field_app.ui.main_window import MainWindow

    create_app()
    win = MainWindow(isolated_home)
    qtbot.addWidget(win)
    page = win.unlock_page
    page.slots[0][0].setCurrentText(OFFICERS[0][1])
    qtbot.keyClicks(page.slots[0][1], password)
    click(qtbot, page, "unlockButton0")
    # The button is enabled when the unlock result reaches the GUI thread (after the store unlocks).
    qtbot.waitUntil(lambda: button(page, "proceedButton").isEnabled(), timeout=10000)
    click(qtbot, page, "proceedButton")
    qtbot.waitUntil(lambda: win.cases_page.timeline.count() > 10, timeout=20000)
    assert win.cases_page.table.item(0, 0).text() == CASE["case_no"]
    texts = [win.cases_page.timeline.item(i).text() for i in range(win.cases_page.timeline.count())]
    assert any("文书定稿" in t for t in texts) and any("打印" in t for t in texts)
    win.close()
