"""Fault tests through a TCP proxy that cuts, resets or stalls the link after N bytes (as tusd's e2e
tests do), HQ killed mid-ingest, and every request replayed 3×.

Default run: a 48 MB recording, 4 MiB chunks, cuts, resets and stalls spread over the whole upload. The full
200 MB run is marked slow (and bench/sync.py exercises 1 GiB).
"""

from __future__ import annotations

import os
import threading

import pytest

from sync.client import SyncConfig, SyncSession, sync_once
from sync.client.transport import Transport
from tests.fakes.demo_store import add_media, fill_demo
from tests.harness.hq import FaultProxy, field_hq
from tests.sync.conftest import enrol_store
from tests.sync.helpers import assert_hq_holds_everything, hq_state

MIB = 1 << 20
CHUNK = 4 * MIB  # the test HQ's chunk size (hq fixture: --chunk-mib 4)


def _points(total: int, count: int, seed: int) -> list[int]:
    """``count`` cut points spread across ``total`` bytes (one per slice, at a random spot in it)."""
    rng = __import__("random").Random(seed)
    step = total // count
    return [i * step + rng.randrange(1, step) for i in range(count)]


def _interrupted_sync(store, data_dir, hq, size: int, cuts: int, modes: list[str], seed: int):
    sha = add_media(store, size)
    store.append("capture.segment", {"index": 0, "duration_ms": 600_000}, record_id="rec-long", media=[sha])
    proxy = FaultProxy(hq.port)
    try:
        enrol_store(store, data_dir, hq, url=proxy.url, max_attempts=6, timeout_seconds=2.0)
        rng = __import__("random").Random(seed)
        # Gaps a little over one chunk (headers, JSON calls and re-sent chunks count too): cuts land
        # everywhere — in headers, mid-chunk, between requests — and every retry can still finish.
        proxy.schedule([(rng.randrange(CHUNK + 1, 2 * CHUNK), modes[i % len(modes)]) for i in range(cuts)])
        session = SyncSession(store, data_dir)
        result = session.run()
        interruptions = len(proxy.faults_fired)
    finally:
        proxy.close()
    assert result.ok, result.message
    assert interruptions >= min(cuts, size // (2 * CHUNK)), proxy.faults_fired
    assert_hq_holds_everything(hq, store)
    resent = session.transport.counters.chunk_bytes_sent - size
    assert 0 <= resent <= interruptions * CHUNK, (resent, interruptions)
    return interruptions, resent


def test_cut_reset_and_stall_across_a_48mb_upload(store, data_dir, hq):
    interruptions, resent = _interrupted_sync(store, data_dir, hq, 48 * MIB, 14, ["cut", "reset", "cut", "stall"], 1)
    assert interruptions >= 8


@pytest.mark.slow
def test_cuts_across_a_200mb_upload(store, data_dir, hq):
    _interrupted_sync(store, data_dir, hq, 200 * MIB, 40, ["cut", "reset", "cut", "cut", "stall"], 2)


def test_each_interruption_ends_the_run_and_the_next_run_resumes(store, data_dir, hq):
    """One sync per interruption (as when the laptop is shut): each run re-sends at most one chunk."""
    size = 24 * MIB
    sha = add_media(store, size)
    store.append("capture.segment", {"index": 0}, media=[sha])
    proxy = FaultProxy(hq.port)
    try:
        enrol_store(store, data_dir, hq, url=proxy.url, max_attempts=1)
        sent_total, runs = 0, 0
        for point in _points(size, 8, 3) + [None]:
            if point is not None:
                proxy.arm(point - proxy.upstream_bytes if point > proxy.upstream_bytes else 1,
                          "reset" if runs % 2 else "cut")
            session = SyncSession(store, data_dir)
            result = session.run()
            runs += 1
            sent_total += session.transport.counters.chunk_bytes_sent
            if result.ok:
                break
            assert "断点" in result.message or "中断" in result.message, result.message
        assert result.ok, result.message
    finally:
        proxy.close()
    assert runs >= 6
    assert sent_total - size <= (runs - 1) * 4 * MIB
    assert_hq_holds_everything(hq, store)


def test_kill_hq_mid_ingest_no_receipt_covers_what_is_not_on_disk(store, data_dir, hq_factory):
    hq = hq_factory()
    fill_demo(store, segments=1)
    # 16 MiB/s: the 32 MiB upload takes 2 s, so a progress event (at most every 0.2 s) comes mid-way;
    # unlimited on loopback the whole blob can be acknowledged before the first event fires
    enrol_store(store, data_dir, hq, max_attempts=2, bandwidth_kbps=16 * 1024)
    assert sync_once(store, data_dir).ok                 # receipt 1 covers the demo
    covered_before = store.size
    sha = add_media(store, 32 * MIB)
    new_seq = store.append("capture.segment", {"index": 1}, media=[sha]).seq
    killed = threading.Event()

    def kill_midway(event):
        if event.phase == "blobs" and event.bytes_done > 12 * MIB and not killed.is_set():
            killed.set()
            hq.kill()

    result = SyncSession(store, data_dir, on_progress=kill_midway).run()
    assert killed.is_set() and not result.ok
    state = hq_state(hq)
    # No receipt covers an entry whose blob is not complete on disk.
    refs = {}
    for row in state["entries"]:
        for blob in __import__("json").loads(row[6]):
            refs.setdefault(blob, row[1])
    for _device, size, _body in state["receipts"]:
        for blob, first_seq in refs.items():
            if first_seq <= size:
                assert state["files"].get(blob) == blob
    assert state["receipts"] and all(size < new_seq for _d, size, _b in state["receipts"])
    assert max(size for _d, size, _b in state["receipts"]) == covered_before
    assert sha not in state["files"]
    check = field_hq("verify", "--data-dir", str(hq.data_dir))
    assert check.returncode == 0, check.stdout
    # Restart HQ on the same directory: the upload resumes and completes.
    hq.start()
    enrol_cfg = SyncConfig.load(data_dir)
    enrol_cfg.hq_url = hq.url
    enrol_cfg.bandwidth_kbps = None
    enrol_cfg.save(data_dir)
    session = SyncSession(store, data_dir)
    final = session.run()
    assert final.ok, final.message
    assert session.transport.counters.chunk_bytes_sent <= 32 * MIB - 8 * MIB  # resumed, not restarted
    assert_hq_holds_everything(hq, store)


class _Recorder(Transport):
    """A transport that keeps every request it sent (method, path, headers, body) for replaying."""

    def __init__(self, *a, **kw) -> None:
        super().__init__(*a, **kw)
        self.sent: list[tuple] = []

    def _send(self, method, path, head, body, chunk):
        self.sent.append((method, path, dict(head), bytes(body), chunk))
        return super()._send(method, path, head, body, chunk)


def test_replaying_every_request_three_times_changes_nothing(store, data_dir, hq):
    fill_demo(store, segments=2, segment_bytes=5 * MIB)  # more than one chunk per blob
    enrol_store(store, data_dir, hq)
    recorder = _Recorder(hq.url, device_id=store.store_id, signer=lambda m: store.device_sign("request", m))
    assert SyncSession(store, data_dir, transport=recorder).run().ok
    before = hq_state(hq)
    requests = list(recorder.sent)
    assert {m for m, *_ in requests} == {"GET", "POST", "PUT"}
    raw = Transport(hq.url)
    verbatim = []
    for method, path, head, body, chunk in requests:
        for _ in range(3):
            try:
                raw._send(method, path, head, body, chunk)
                verbatim.append(("ok", path))
            except Exception as exc:  # noqa: BLE001
                verbatim.append((getattr(exc, "code", type(exc).__name__), path))
    # Signed requests replayed verbatim are refused as replays (except the unauthenticated clock).
    assert {code for code, path in verbatim if not path.endswith("/v1/time")} == {2005}
    assert hq_state(hq) == before
    # The same requests freshly signed (what a retrying client sends) are idempotent.
    fresh = Transport(hq.url, device_id=store.store_id, signer=lambda m: store.device_sign("request", m))
    for method, path, head, body, chunk in requests:
        extra = {k: v for k, v in head.items() if k in ("X-FR-Prefix-SHA256", "X-FR-Blob-Size")}
        for _ in range(3):
            if path.endswith("/v1/time"):
                continue
            fresh.request(method, path, body, signed=True, headers=extra, chunk=chunk,
                          body_sha256=extra.get("X-FR-Prefix-SHA256"))  # a chunk signs its prefix hash
    assert hq_state(hq) == before
    assert_hq_holds_everything(hq, store)
