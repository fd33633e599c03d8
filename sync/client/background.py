"""The client API the GUI calls: run a sync in the background, watch it, see the last result.

::

    from sync.client import BackgroundSync

    bg = BackgroundSync(store, data_dir, on_event=handler)  # handler(ProgressEvent | SyncResult), on the sync thread
    bg.start()              # "立即同步": False if a sync is already running
    bg.running              # for the status bar
    bg.cancel()             # stops at the next chunk/batch; resumes from there next time
    bg.last_result          # SyncResult of the last finished sync (also after a restart: sync-last.json)
    bg.start_schedule()     # nightly at SyncConfig.nightly_at (local time); stop_schedule()

The GUI must marshal ``on_event`` calls to its own thread (e.g. a queued Qt signal); this module has
no Qt. Dangerous: the store must stay unlocked while a sync runs; if it is locked (idle lock), the
sync stops with a "已锁定" result and resumes from where it stopped next time.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime
from pathlib import Path
from typing import Callable

from sync.client.config import LAST_RESULT_NAME, SyncConfig
from sync.client.engine import SyncSession
from sync.client.progress import ProgressEvent, SyncResult
from sync.client.storeapi import SyncStore

Event = ProgressEvent | SyncResult


class BackgroundSync:
    def __init__(self, store: SyncStore, data_dir: Path, *, on_event: Callable[[Event], None] | None = None,
                 config_loader: Callable[[], SyncConfig] | None = None) -> None:
        self.store = store
        self.data_dir = Path(data_dir)
        self.on_event = on_event
        self._config_loader = config_loader or (lambda: SyncConfig.load(self.data_dir))
        self._thread: threading.Thread | None = None
        self._cancel = threading.Event()
        self._lock = threading.Lock()
        self._last: SyncResult | None = None
        self._schedule_stop: threading.Event | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def last_result(self) -> SyncResult | None:
        if self._last is None:
            try:
                self._last = SyncResult.from_json(json.loads((self.data_dir / LAST_RESULT_NAME).read_text("utf-8")))
            except (OSError, ValueError, TypeError):
                return None
        return self._last

    def start(self) -> bool:
        """Start one sync now on a background thread; False if one is already running."""
        with self._lock:
            if self.running:
                return False
            self._cancel = threading.Event()
            self._thread = threading.Thread(target=self._work, name="field-sync", daemon=True)
            self._thread.start()
            return True

    def cancel(self) -> None:
        self._cancel.set()

    def wait(self, timeout: float | None = None) -> SyncResult | None:
        """Block until the running sync ends (tests, shutdown); returns the last result."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return self.last_result

    def _emit(self, event: Event) -> None:
        if self.on_event is not None:
            try:
                self.on_event(event)
            except Exception:  # noqa: BLE001 - a broken listener must not stop the sync
                pass

    def _work(self) -> None:
        try:
            config = self._config_loader()
            result = SyncSession(self.store, self.data_dir, config, on_progress=self._emit, cancel=self._cancel).run()
        except Exception as exc:  # noqa: BLE001 - report, never kill the app
            result = SyncResult(False, f"同步程序内部错误（{exc.__class__.__name__}），请联系信息技术人员。")
        self._last = result
        self._emit(result)

    # --- nightly schedule --------------------------------------------------------------------------

    def start_schedule(self, now: Callable[[], datetime] = datetime.now) -> None:
        """Run a sync every night at ``SyncConfig.nightly_at`` (re-read each time) until ``stop_schedule``."""
        if self._schedule_stop is not None:
            return
        stop = self._schedule_stop = threading.Event()

        def loop() -> None:
            while not stop.is_set():
                when = self._config_loader().next_nightly(now())
                wait = 3600.0 if when is None else max(1.0, (when - now()).total_seconds())
                if stop.wait(min(wait, 3600.0)):
                    return
                if when is not None and now() >= when:
                    self.start()

        threading.Thread(target=loop, name="field-sync-schedule", daemon=True).start()

    def stop_schedule(self) -> None:
        if self._schedule_stop is not None:
            self._schedule_stop.set()
            self._schedule_stop = None
