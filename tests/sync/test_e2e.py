"""Acceptance: a real HQ in a subprocess, a store filled with the demo, sync; HQ holds every entry and
blob; the receipt verifies; a second sync sends nothing. Also against PostgreSQL."""

from __future__ import annotations

import subprocess

from sync.client import SyncConfig, SyncSession, sync_once
from sync.protocol.receipt import Receipt
from tests.fakes.demo_store import add_media, fill_demo
from tests.harness.hq import field_hq
from tests.sync.conftest import enrol_store
from tests.sync.helpers import assert_hq_holds_everything, hq_state


def _full_cycle(store, data_dir, hq):
    fill_demo(store, segments=3, segment_bytes=(1 << 20) + 12345)
    enrol_store(store, data_dir, hq)
    events = []
    first = sync_once(store, data_dir, on_progress=events.append)
    assert first.ok, first.message
    assert first.entries_sent >= 10 and first.blobs_uploaded == 5
    assert first.receipt_size == store.size == first.log_size
    state = assert_hq_holds_everything(hq, store)
    # the receipt: signed by the HQ key pinned at enrolment, root = this store's root at its size
    logged = store.record_versions("sync.receipts")
    assert len(logged) == 1
    receipt = Receipt.from_json(logged[-1].payload["receipt"])
    hq_key = bytes.fromhex(store.record_versions("sync.enrolment")[-1].payload["hq_key"])
    assert receipt.verify(hq_key=hq_key, device_id=store.store_id, device_key=store.device_public_key)
    assert store.root_at(receipt.size) == receipt.root
    assert {e.phase for e in events} >= {"connect", "pull", "entries", "blobs", "receipt", "done"}
    # second sync: nothing sent, nothing appended
    size = store.size
    session = SyncSession(store, data_dir)
    second = session.run()
    assert second.ok, second.message
    assert (second.entries_sent, second.blobs_uploaded, second.bytes_uploaded) == (0, 0, 0)
    assert session.transport.counters.chunk_bytes_sent == 0
    assert [m for m, p, s in session.transport.counters.per_request if m in ("POST", "PUT") and "entries" in p] == []
    assert store.size == size
    assert hq_state(hq) == {**state, "receipts": hq_state(hq)["receipts"]}
    return state


def test_end_to_end_sqlite(store, data_dir, hq):
    _full_cycle(store, data_dir, hq)
    result = field_hq("verify", "--data-dir", str(hq.data_dir))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "未发现问题" in result.stdout
    # the laptop's verifier checks the logged receipt against the log
    from field_app.store import verify
    verify.load_plugins(["field_app.sync_checks"])
    assert verify.verify_store(store) == []


def test_end_to_end_postgresql(store, data_dir, hq_factory, pg_dsn):
    hq = hq_factory(db=pg_dsn)
    _full_cycle(store, data_dir, hq)
    result = field_hq("verify", "--data-dir", str(hq.data_dir), "--db", pg_dsn)
    assert result.returncode == 0, result.stdout + result.stderr


def test_new_evidence_after_a_sync_is_sent_alone(store, data_dir, hq):
    fill_demo(store, segments=1)
    enrol_store(store, data_dir, hq)
    assert sync_once(store, data_dir).ok
    before = store.size
    sha = add_media(store, 300_000)
    store.append("capture.photo", {"caption": "补拍"}, media=[sha])
    session = SyncSession(store, data_dir)
    result = session.run()
    assert result.ok, result.message
    assert result.entries_sent == 2  # the photo entry and the new receipt entry (the last one went with sync 1)
    assert result.blobs_uploaded == 1 and session.transport.counters.chunk_bytes_sent == 300_000
    assert store.size == before + 2
    assert_hq_holds_everything(hq, store)
