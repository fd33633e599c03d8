"""The laptop's sync client (no Qt; never imports ``field_app``: the app hands it its store).

API for the app and the GUI::

    from sync.client import BackgroundSync, SyncConfig, SyncResult, ProgressEvent, enrol, sync_once

    enrol(store, data_dir, "https://hq.example:8443", "ABCD-EFGH-JKMN-PQRS", ca_file="hq-ca.pem")
    result = sync_once(store, data_dir, on_progress=print)    # blocking, one shot
    bg = BackgroundSync(store, data_dir, on_event=handler)     # the GUI's "立即同步", status bar, schedule

See docs/protocol.md.
"""

from __future__ import annotations

from sync.client.background import BackgroundSync
from sync.client.config import SyncConfig
from sync.client.engine import SyncSession, sync_once
from sync.client.enrol import Enrolment, current_enrolment, enrol
from sync.client.errors import SyncCancelled, SyncError
from sync.client.progress import PHASES, ProgressEvent, SyncResult

__all__ = ["BackgroundSync", "Enrolment", "PHASES", "ProgressEvent", "SyncCancelled", "SyncConfig", "SyncError",
           "SyncResult", "SyncSession", "current_enrolment", "enrol", "sync_once"]
