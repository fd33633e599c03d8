"""Pruning: only media a verified receipt covers, only past the retention setting, logged first."""

from __future__ import annotations

import pytest

from field_app.store import MediaMissing, verify
from sync.client import SyncSession, sync_once
from sync.client.config import SyncConfig
from sync.client.prune import prunable
from sync.protocol.receipt import Receipt
from tests.fakes.demo_store import add_media, fill_demo
from tests.sync.conftest import enrol_store
from tests.sync.helpers import hq_state


def test_nothing_is_pruned_before_the_retention_period(store, data_dir, hq):
    media = fill_demo(store, segments=2)
    enrol_store(store, data_dir, hq)  # default retention: 30 days
    result = sync_once(store, data_dir)
    assert result.ok and result.pruned == 0
    for sha in media:
        assert store.media_path(sha).exists()


def test_media_covered_by_a_receipt_is_pruned_logged_and_verifiable(store, data_dir, hq):
    media = fill_demo(store, segments=2)
    enrol_store(store, data_dir, hq, retention_days=0)
    result = sync_once(store, data_dir)
    assert result.ok, result.message
    assert result.pruned == len(media)
    for sha in media:
        assert not store.media_path(sha).exists()
        with pytest.raises(MediaMissing):
            store.open_media(sha)
    pruned = [e for e in store.entries_after(0, 10_000) if e.entry_type == "store.media_pruned"]
    assert {e.payload["sha256"] for e in pruned} == set(media)
    assert all(e.payload["evidence"]["receipt"]["size"] >= 1 for e in pruned)
    verify.load_plugins(["field_app.sync_checks"])
    assert verify.verify_store(store) == []  # a pruned file with its entry is not "media_missing"
    assert set(media) <= set(hq_state(hq)["files"])  # HQ holds every pruned file
    size = store.size
    second = SyncSession(store, data_dir).run()
    assert second.ok and second.entries_sent == 0 and store.size == size  # prune entries went with sync 1


def test_media_beyond_the_receipt_is_never_pruned(store, data_dir, hq):
    fill_demo(store, segments=1)
    enrol_store(store, data_dir, hq)
    assert sync_once(store, data_dir, prune=False).ok
    receipt = Receipt.from_json(store.record_versions("sync.receipts")[-1].payload["receipt"])
    late = add_media(store, 1000)
    store.append("capture.photo", {"late": True}, media=[late])
    config = SyncConfig(prune=True, retention_days=0)
    allowed = prunable(store, receipt, config)
    assert late not in allowed and allowed
    assert prunable(store, receipt, SyncConfig(prune=False, retention_days=0)) == []
    assert prunable(store, receipt, SyncConfig(prune=True, retention_days=1)) == []


def test_a_missing_file_without_a_prune_entry_is_still_reported(store):
    sha = add_media(store, 1000)
    store.append("capture.photo", {}, media=[sha])
    store.media_path(sha).unlink()
    assert [p.kind for p in verify.verify_store(store)] == ["media_missing"]
