"""The sync part of the status bar: what is still to be sent to HQ, the last result, and 「立即同步」.

Runs ``sync.client.BackgroundSync`` (its own thread); progress events and the result come back to the
GUI thread through a queued Qt signal. Dangerous: a sync needs the store unlocked — the idle lock
stops it, and it resumes from where it stopped the next time.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget


class _Bridge(QObject):
    event = Signal(object)


class SyncBar(QWidget):
    """Label + button. ``attach(store)`` after unlock, ``detach()`` when locked."""

    def __init__(self, data_dir: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.data_dir = data_dir
        self.store = None
        self.background = None
        self.label = QLabel("待同步：—　上次同步：从未", self)
        self.label.setObjectName("syncStatus")
        self.button = QPushButton("立即同步", self)
        self.button.setObjectName("syncNowButton")
        self.button.setMinimumHeight(36)
        self.button.setEnabled(False)
        self.button.clicked.connect(self.sync_now)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.label)
        row.addWidget(self.button)
        self._bridge = _Bridge(self)
        self._bridge.event.connect(self._on_event, Qt.ConnectionType.QueuedConnection)
        self._progress = ""
        self.on_finished = None  # called on the GUI thread with each finished sync's result

    def attach(self, store) -> None:
        from sync.client import BackgroundSync

        self.store = store
        self.background = BackgroundSync(store, self.data_dir, on_event=self._bridge.event.emit)
        self.refresh()

    def detach(self) -> None:
        if self.background is not None and self.background.running:
            self.background.cancel()
        self.store = self.background = None
        self.refresh()

    def enrolled(self) -> bool:
        from sync.client import current_enrolment

        return self.store is not None and self.store.is_unlocked and current_enrolment(self.store) is not None

    def refresh(self) -> None:
        """Recompute the label from the store and the last result (cheap: two small reads)."""
        if self.store is None or not self.store.is_unlocked:
            self.label.setText("待同步：—（已锁定）")
            self.button.setEnabled(False)
            return
        running = self.background is not None and self.background.running
        if not self.enrolled():
            self.label.setText("未登记到局端（请信息技术人员运行 field-app enroll）")
            self.button.setEnabled(False)
            return
        last = self.background.last_result if self.background else None
        covered = last.receipt_size if last else 0
        pending = max(0, self.store.size - covered)
        when = time.strftime("%m-%d %H:%M", time.localtime(last.finished)) if last and last.finished else "从未"
        outcome = "" if last is None else ("（成功）" if last.ok else f"（未完成：{last.message}）")
        text = f"待同步：{pending} 条记录　上次同步：{when}{outcome}"
        if running and self._progress:
            text = f"同步中：{self._progress}"
        self.label.setText(text)
        self.button.setEnabled(not running)

    def sync_now(self) -> None:
        if self.background is None or not self.enrolled():
            return
        if self.background.start():
            self._progress = "开始"
            self.button.setEnabled(False)
            self.refresh()

    def _on_event(self, event) -> None:
        from sync.client import ProgressEvent

        if isinstance(event, ProgressEvent):
            self._progress = event.message
            self.label.setText(f"同步中：{event.message}")
            return
        self._progress = ""
        if self.on_finished is not None:
            self.on_finished(event)
        self.refresh()
