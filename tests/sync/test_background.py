"""The API the GUI calls: BackgroundSync start / events / last result / cancel, and the nightly time."""

from __future__ import annotations

from datetime import datetime

from sync.client import BackgroundSync, ProgressEvent, SyncConfig, SyncResult
from tests.fakes.demo_store import add_media, fill_demo
from tests.sync.conftest import enrol_store


def test_background_sync_reports_progress_and_keeps_the_last_result(store, data_dir, hq):
    fill_demo(store, segments=1)
    enrol_store(store, data_dir, hq)
    events = []
    bg = BackgroundSync(store, data_dir, on_event=events.append)
    assert bg.last_result is None and not bg.running
    assert bg.start() is True
    result = bg.wait(timeout=120)
    assert result.ok and not bg.running
    assert isinstance(events[-1], SyncResult) and any(isinstance(e, ProgressEvent) for e in events)
    assert BackgroundSync(store, data_dir).last_result.message == result.message  # survives a restart


def test_cancel_stops_at_a_chunk_boundary_and_the_next_run_resumes(store, data_dir, hq):
    sha = add_media(store, 24 << 20)
    store.append("capture.segment", {"i": 0}, media=[sha])
    enrol_store(store, data_dir, hq, bandwidth_kbps=8 * 1024)  # slow enough to cancel midway
    holder = {}

    def on_event(event):
        if isinstance(event, ProgressEvent) and event.phase == "blobs" and event.bytes_done >= (4 << 20):
            holder["bg"].cancel()

    bg = holder["bg"] = BackgroundSync(store, data_dir, on_event=on_event)
    bg.start()
    cancelled = bg.wait(timeout=120)
    assert not cancelled.ok and "取消" in cancelled.message
    config = SyncConfig.load(data_dir)
    config.bandwidth_kbps = None
    config.save(data_dir)
    bg2 = BackgroundSync(store, data_dir)
    bg2.start()
    assert bg2.wait(timeout=120).ok


def test_nightly_schedule_time():
    config = SyncConfig(nightly_at="22:30")
    assert config.next_nightly(datetime(2026, 5, 1, 21, 0)) == datetime(2026, 5, 1, 22, 30)
    assert config.next_nightly(datetime(2026, 5, 1, 23, 0)) == datetime(2026, 5, 2, 22, 30)
    assert SyncConfig(nightly_at=None).next_nightly(datetime(2026, 5, 1)) is None
