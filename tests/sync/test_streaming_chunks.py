"""Chunks stream to disk (``PUT /v1/blobs/{sha}/chunks/{i}``): HQ authenticates against the declared
prefix hash (SHA-256 of the blob up to the chunk's end) before reading the body, writes at the acknowledged offset while receiving, and leaves
the ``.part`` file at that offset whenever a chunk is refused, cut or fails. Real HQ (subprocess,
4 MiB chunks), real store, raw HTTP where the client library would not misbehave on purpose."""

from __future__ import annotations

import hashlib
import http.client
import json
import socket
import threading
import time

import pytest

from sync.client import SyncSession
from sync.client.transport import Transport
from sync.protocol import auth
from sync.protocol.errors import Code, ProtocolError
from tests.fakes.demo_store import add_media
from tests.sync.conftest import enrol_store
from tests.sync.helpers import assert_hq_holds_everything, hq_state

MIB = 1 << 20
CHUNK = 4 * MIB  # the test HQ's chunk size


@pytest.fixture
def upload(store, data_dir, hq):
    """A 10 MiB blob (chunks of 4, 4, 2 MiB) whose entry HQ holds, and a signed transport."""
    sha = add_media(store, 10 * MIB)
    store.append("capture.segment", {"i": 0}, media=[sha])
    enrol_store(store, data_dir, hq)
    t = Transport(hq.url, device_id=store.store_id, signer=lambda m: store.device_sign("request", m))
    t.measure_clock()
    entries = [e.to_json() for e in store.entries_after(0, 99)]
    t.request("POST", "/v1/entries", json.dumps({"v": 1, "entries": entries}).encode())
    with store.open_media(sha) as fh:
        data = fh.read()
    return sha, data, t


def _chunk(data: bytes, index: int) -> bytes:
    return data[index * CHUNK:(index + 1) * CHUNK]


def _prefix(data: bytes, index: int, body: bytes) -> str:
    """What a chunk declares: the SHA-256 of the blob's acknowledged bytes before it followed by ``body``."""
    return hashlib.sha256(data[:index * CHUNK] + body).hexdigest()


def _put(t: Transport, sha: str, index: int, body: bytes, data: bytes, declared: str | None = None) -> dict:
    """PUT a chunk signed over (and declaring) ``declared`` (default: the prefix hash with ``body``)."""
    declared = declared or _prefix(data, index, body)
    return t.request("PUT", f"/v1/blobs/{sha}/chunks/{index}", body, body_sha256=declared, chunk=True,
                     headers={"X-FR-Prefix-SHA256": declared, "X-FR-Blob-Size": str(len(data))})


def _signed_headers(store, t: Transport, path: str, declared: str, size: int, length: int | None,
                    shift_ms: int = 0) -> dict:
    stamp, nonce = t.now_ms() + shift_ms, auth.new_nonce()
    signature = store.device_sign("request", auth.signing_string("PUT", path, stamp, nonce, declared)).hex()
    head = {auth.H_PROTOCOL: "1", auth.H_DEVICE: store.store_id, auth.H_TIME: str(stamp), auth.H_NONCE: nonce,
            auth.H_SIGNATURE: signature, "X-FR-Prefix-SHA256": declared, "X-FR-Blob-Size": str(size),
            "Content-Type": "application/octet-stream"}
    if length is not None:
        head["Content-Length"] = str(length)
    return head


def _part(hq, store, sha):
    return hq.data_dir / "uploads" / store.store_id / f"{sha}.part"


def _part_size(hq, store, sha) -> int:
    path = _part(hq, store, sha)
    return path.stat().st_size if path.exists() else 0


def _acked(hq) -> list:
    return [(size, acked) for _device, _sha, size, acked in hq_state(hq)["uploads"]]


def _wait(condition, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def _code(fn) -> int:
    with pytest.raises(ProtocolError) as caught:
        fn()
    return caught.value.code


def test_a_body_that_does_not_match_its_declared_hash_is_cut_back_and_the_upload_continues(store, data_dir,
                                                                                         hq, upload):
    sha, data, t = upload
    assert _put(t, sha, 0, _chunk(data, 0), data)["offset"] == CHUNK
    good = _chunk(data, 1)
    damaged = bytes([good[0] ^ 0xFF]) + good[1:]  # altered in transit: signed and declared as the good one
    assert _code(lambda: _put(t, sha, 1, damaged, data, declared=_prefix(data, 1, good))) \
        == Code.CHUNK_HASH_MISMATCH
    assert _part_size(hq, store, sha) == CHUNK  # the damaged bytes were written while streaming, then cut
    assert _acked(hq) == [(len(data), CHUNK)]
    assert t.request("GET", f"/v1/blobs/{sha}")["offset"] == CHUNK
    # The next correct chunks complete the blob: the running hash did not take in the damaged bytes
    # (commit checks the whole blob against its name: 4004 otherwise).
    assert _put(t, sha, 1, good, data)["offset"] == 2 * CHUNK
    assert _put(t, sha, 2, _chunk(data, 2), data)["complete"] is True
    assert hq_state(hq)["files"][sha] == sha
    assert SyncSession(store, data_dir).run().ok
    assert_hq_holds_everything(hq, store)


def test_a_signature_that_does_not_cover_the_declared_prefix_hash_is_refused_and_writes_nothing(
        store, hq, upload):
    sha, data, t = upload
    body = _chunk(data, 0)
    # Transport signs the body's own hash; the declared header says something else.
    assert _code(lambda: t.request("PUT", f"/v1/blobs/{sha}/chunks/0", body, chunk=True,
                                   headers={"X-FR-Prefix-SHA256": "00" * 32, "X-FR-Blob-Size": str(len(data))})) \
        == Code.AUTH_BAD_SIGNATURE
    assert not _part(hq, store, sha).exists()


def test_a_right_chunk_declared_without_the_bytes_before_it_is_refused(store, hq, upload):
    """The declared hash binds a chunk to everything before it: the chunk's own hash (the bytes are
    right, the prefix is not declared) is a mismatch, cut back to the acknowledged offset."""
    sha, data, t = upload
    assert _put(t, sha, 0, _chunk(data, 0), data)["offset"] == CHUNK
    body = _chunk(data, 1)
    assert _code(lambda: _put(t, sha, 1, body, data, declared=hashlib.sha256(body).hexdigest())) \
        == Code.CHUNK_HASH_MISMATCH
    assert _part_size(hq, store, sha) == CHUNK and _acked(hq) == [(len(data), CHUNK)]
    assert _put(t, sha, 1, body, data)["offset"] == 2 * CHUNK


def test_a_client_that_disconnects_mid_chunk_leaves_the_offset_and_a_resume_completes(store, data_dir, hq,
                                                                                        upload):
    sha, data, t = upload
    assert _put(t, sha, 0, _chunk(data, 0), data)["offset"] == CHUNK
    body = _chunk(data, 1)
    path = f"/v1/blobs/{sha}/chunks/1"
    head = _signed_headers(store, t, path, _prefix(data, 1, body), len(data), len(body))
    sock = socket.create_connection(("127.0.0.1", hq.port), timeout=10)
    try:
        sock.sendall(f"PUT {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode()
                     + "".join(f"{k}: {v}\r\n" for k, v in head.items()).encode() + b"\r\n")
        sock.sendall(body[:CHUNK // 2])
        # HQ writes while it receives: part of the chunk reaches the file before the body is complete.
        assert _wait(lambda: _part_size(hq, store, sha) > CHUNK), _part_size(hq, store, sha)
    finally:
        sock.close()
    assert _wait(lambda: _part_size(hq, store, sha) == CHUNK)  # cut back to the acknowledged offset
    assert _acked(hq) == [(len(data), CHUNK)]
    session = SyncSession(store, data_dir)
    assert session.run().ok
    assert session.transport.counters.chunk_bytes_sent == len(data) - CHUNK  # resumed at the offset
    assert_hq_holds_everything(hq, store)


def test_unauthenticated_badly_signed_replayed_or_misplaced_chunks_write_nothing(store, hq, upload):
    sha, data, t = upload
    body = _chunk(data, 0)
    digest = hashlib.sha256(body).hexdigest()
    path = f"/v1/blobs/{sha}/chunks/0"
    uploads = hq.data_dir / "uploads"
    before = hq_state(hq)

    def raw(head: dict, payload: bytes = body) -> tuple[int, int]:
        conn = http.client.HTTPConnection("127.0.0.1", hq.port, timeout=30)
        try:
            conn.request("PUT", path, body=payload, headers=head)
            response = conn.getresponse()
            return response.status, json.loads(response.read())["error"]["code"]
        finally:
            conn.close()

    assert raw({"X-FR-Prefix-SHA256": digest, "X-FR-Blob-Size": str(len(data))}) == (401, Code.AUTH_MISSING)
    stranger = Transport(hq.url, device_id=store.store_id, signer=lambda m: b"\x01" * 64)
    assert _code(lambda: _put(stranger, sha, 0, body, data)) == Code.AUTH_BAD_SIGNATURE
    head = _signed_headers(store, t, path, digest, len(data), len(body))
    head[auth.H_SIGNATURE] = head[auth.H_SIGNATURE][:-2] + ("00" if head[auth.H_SIGNATURE][-2:] != "00" else "11")
    assert raw(head) == (401, Code.AUTH_BAD_SIGNATURE)
    assert raw(_signed_headers(store, t, path, digest, len(data), len(body), shift_ms=-3600_000)) \
        == (401, Code.AUTH_CLOCK_SKEW)
    assert _code(lambda: _put(t, "ab" * 32, 0, body, data)) == Code.BLOB_NOT_EXPECTED
    assert _code(lambda: _put(t, sha, 1, _chunk(data, 1), data)) == Code.CHUNK_OUT_OF_ORDER
    assert _code(lambda: _put(t, sha, 0, body[:1000], data)) == Code.CHUNK_SIZE_WRONG
    assert [p for p in uploads.rglob("*") if p.is_file()] == []  # not a byte, not even an empty file
    after = hq_state(hq)
    assert _acked(hq) in ([], [(len(data), 0)])  # at most the upload's row, at offset 0
    assert {k: v for k, v in after.items() if k != "uploads"} == {k: v for k, v in before.items() if k != "uploads"}
    # A correctly signed chunk whose body is not what it declares is written while it streams, then
    # cut back; its nonce is used, so sending the same request again is a refused replay.
    head = _signed_headers(store, t, path, digest, len(data), len(body))
    assert raw(head, b"\x00" * len(body)) == (422, Code.CHUNK_HASH_MISMATCH)
    assert raw(head) == (409, Code.AUTH_REPLAYED)
    assert _part_size(hq, store, sha) == 0 and _acked(hq) == [(len(data), 0)]


def test_a_body_longer_or_shorter_than_the_chunk_without_content_length_is_refused_and_cut_back(store, hq,
                                                                                               upload):
    sha, data, t = upload
    body = _chunk(data, 0)
    path = f"/v1/blobs/{sha}/chunks/0"

    def chunked(payload: bytes) -> tuple[int, int]:
        head = _signed_headers(store, t, path, hashlib.sha256(payload).hexdigest(), len(data), None)
        conn = http.client.HTTPConnection("127.0.0.1", hq.port, timeout=30)
        try:
            conn.request("PUT", path, body=(payload[i:i + MIB] for i in range(0, len(payload), MIB)),
                         headers=head, encode_chunked=True)
            response = conn.getresponse()
            answer = json.loads(response.read())
            return response.status, answer["error"]["code"] if "error" in answer else answer["offset"]
        except (BrokenPipeError, ConnectionResetError):
            return 0, 0  # HQ answered early and closed; the state checks below still apply
        finally:
            conn.close()

    assert chunked(body + b"x") in {(400, Code.CHUNK_SIZE_WRONG), (0, 0)}
    assert _wait(lambda: _part_size(hq, store, sha) == 0)
    assert chunked(body[:-1]) == (400, Code.CHUNK_SIZE_WRONG)
    assert _part_size(hq, store, sha) == 0
    assert chunked(body) == (200, CHUNK)  # chunked transfer encoding is fine when the length is right
    assert _acked(hq) == [(len(data), CHUNK)]


# A middle chunk and the last one (it commits the blob); senders slow enough that the duplicates wait
# for the one writing (then are answered with its offset), or slower than HQ's wait (then "busy").
@pytest.mark.parametrize("index, pause", [(0, 0.01), (2, 0.01), (1, 0.16)])
def test_concurrent_duplicates_of_a_chunk_never_corrupt_the_upload(store, data_dir, hq, upload, index, pause):
    sha, data, t = upload
    for i in range(index):
        _put(t, sha, i, _chunk(data, i), data)
    body = _chunk(data, index)
    path = f"/v1/blobs/{sha}/chunks/{index}"
    results: list = []
    gate = threading.Barrier(4)

    def slow(payload: bytes):  # a slow sender: the duplicates overlap while one holds the upload
        for i in range(0, len(payload), 256 << 10):
            yield payload[i:i + (256 << 10)]
            time.sleep(pause)

    def send() -> None:
        head = _signed_headers(store, t, path, _prefix(data, index, body), len(data), len(body))
        conn = http.client.HTTPConnection("127.0.0.1", hq.port, timeout=60)
        try:
            gate.wait(timeout=30)
            conn.request("PUT", path, body=slow(body), headers=head)
            response = conn.getresponse()
            results.append((response.status, json.loads(response.read())))
        finally:
            conn.close()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=120)
    assert len(results) == 4
    end = min(len(data), (index + 1) * CHUNK)
    for status, answer in results:  # done, done by another (same offset), or "busy, retry"
        assert (status == 200 and answer["offset"] == end) or \
            (status == 503 and answer["error"]["code"] == Code.SERVER_BUSY), (status, answer)
    assert any(status == 200 for status, _ in results)
    if end == len(data):
        assert hq_state(hq)["files"][sha] == sha and not _part(hq, store, sha).exists()
    else:
        assert _part(hq, store, sha).read_bytes() == data[:end]
        assert _acked(hq) == [(len(data), end)]
    assert SyncSession(store, data_dir).run().ok
    assert_hq_holds_everything(hq, store)
