"""The status bar's sync part against a real HQ (`field-hq serve` on loopback): what is pending, the
「立即同步」 button, and the last result."""

from __future__ import annotations

from PySide6.QtCore import Qt

from field_app.store import Store
from tests.gui.helpers import button, unlock
from tests.sync.conftest import enrol_store, hq, hq_factory  # noqa: F401 (fixtures)
from tests.unit.store.conftest import WANG


def test_not_enrolled_says_so_and_offers_no_sync(qtbot, window):
    unlock(qtbot, window)
    qtbot.waitUntil(lambda: "未登记到局端" in window.sync_bar.label.text(), timeout=10000)
    assert not button(window, "syncNowButton").isEnabled()


def test_sync_now_sends_everything_and_shows_the_result(qtbot, made_store, hq, keyring_env):  # noqa: F811
    store = Store.open(made_store)
    store.unlock(WANG[1], WANG[3])
    enrol_store(store, made_store, hq)
    store.close()

    from field_app.ui import common
    from field_app.ui.app import create_app
    from field_app.ui.main_window import MainWindow

    create_app()
    common.ASK = lambda parent, title, summary: True
    win = MainWindow(made_store)
    qtbot.addWidget(win)
    win.show()
    unlock(qtbot, win)
    bar = win.sync_bar
    qtbot.waitUntil(lambda: "上次同步：从未" in bar.label.text(), timeout=10000)
    pending_before = int(bar.label.text().split("待同步：")[1].split(" 条")[0])
    assert pending_before > 0
    qtbot.mouseClick(button(win, "syncNowButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "（成功）" in bar.label.text(), timeout=60000)
    assert "待同步：0 条记录" in bar.label.text()
    assert button(win, "syncNowButton").isEnabled()
    win.close()
