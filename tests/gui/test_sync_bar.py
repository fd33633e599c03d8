"""The status bar's sync part against a real HQ (`field-hq serve` on loopback): what is pending, the
「立即同步」 button, and the last result."""

from __future__ import annotations

from PySide6.QtCore import Qt

from field_app.store import Store
from tests.gui.helpers import button, open_cases, unlock
from tests.sync.conftest import enrol_store, hq, hq_factory  # noqa: F401 (fixtures)
from tests.unit.store.conftest import WANG


def _enrolled(made_store, hq):
    store = Store.open(made_store)
    store.unlock(WANG[1], WANG[3])
    enrol_store(store, made_store, hq)
    store.close()


def _unlocked_window(qtbot, made_store):
    """The main window on ``made_store``, both officers unlocked (a fresh window: it reads sync.json)."""
    from field_app.ui import common
    from field_app.ui.app import create_app
    from field_app.ui.main_window import MainWindow

    create_app()
    common.ASK = lambda parent, title, summary: True
    win = MainWindow(made_store)
    qtbot.addWidget(win)
    win.show()
    unlock(qtbot, win)
    return win


def test_not_enrolled_says_so_and_offers_no_sync(qtbot, window):
    unlock(qtbot, window)
    qtbot.waitUntil(lambda: "未登记到局端" in window.sync_bar.label.text(), timeout=10000)
    assert not button(window, "syncNowButton").isEnabled()


def test_sync_now_sends_everything_and_shows_the_result(qtbot, made_store, hq, keyring_env):  # noqa: F811
    _enrolled(made_store, hq)

    win = _unlocked_window(qtbot, made_store)
    bar = win.sync_bar
    qtbot.waitUntil(lambda: "上次同步：从未" in bar.label.text(), timeout=10000)
    pending_before = int(bar.label.text().split("待同步：")[1].split(" 条")[0])
    assert pending_before > 0
    qtbot.mouseClick(button(win, "syncNowButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "（成功）" in bar.label.text(), timeout=60000)
    assert "待同步：0 条记录" in bar.label.text()
    assert button(win, "syncNowButton").isEnabled()
    win.close()


def test_definitions_pulled_by_a_sync_are_used_for_new_procedures(qtbot, made_store, hq_factory, keyring_env,  # noqa: F811
                                                                    tmp_path):
    from tests.sync.test_pull_definitions import _hq_forms_with_new_2_5

    hq = hq_factory(extra=("--forms-dir", str(_hq_forms_with_new_2_5(tmp_path / "forms"))))
    _enrolled(made_store, hq)

    win = _unlocked_window(qtbot, made_store)
    assert ("2-5", 2) not in win.registry().documents
    qtbot.mouseClick(button(win, "syncNowButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "（成功）" in win.sync_bar.label.text(), timeout=60000)
    assert win.registry().documents[("2-5", 2)].title == "检查（勘验）笔录（2027版）"
    win.close()


def test_a_case_assigned_at_hq_is_offered_for_registration_after_a_sync(qtbot, made_store, hq, keyring_env):  # noqa: F811
    from tests.sync.conftest import DEPARTMENT

    _enrolled(made_store, hq)
    hq.admin("assign-case", "--department", DEPARTMENT, "--case-no", "长人社监〔2026〕第0142号",
             "--party", "石家庄康宁民营医院", "--officer", WANG[1])

    win = _unlocked_window(qtbot, made_store)
    open_cases(qtbot, win)
    page = win.cases_page
    qtbot.waitUntil(lambda: page.assign_combo.count() == 1, timeout=10000)
    assert not page.assign_combo.isEnabled()
    qtbot.mouseClick(button(win, "syncNowButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "（成功）" in win.sync_bar.label.text(), timeout=60000)
    qtbot.waitUntil(lambda: page.assign_combo.count() == 2, timeout=10000)
    page.assign_combo.setCurrentIndex(1)
    page.assign_combo.activated.emit(1)
    assert page.new_fields["case_no"].text() == "长人社监〔2026〕第0142号"
    assert page.new_fields["party_name"].text() == "石家庄康宁民营医院"
    qtbot.mouseClick(button(win, "createCase"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: any(r.case_no == "长人社监〔2026〕第0142号" for r in page.rows), timeout=10000)
    qtbot.waitUntil(lambda: page.assign_combo.count() == 1, timeout=10000)  # registered: no longer offered
    win.close()
