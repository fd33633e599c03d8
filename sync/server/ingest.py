"""Ingest: accepting a device's log entries, its media blobs in chunks, and issuing signed receipts.

Every operation is idempotent: repeating a push, a chunk or a receipt request changes nothing that the
first one did not (entries already held are compared by hash and skipped; a chunk below the
acknowledged offset is answered with the offset; a receipt for the same size is the stored one).

A chunk streams to disk (``begin_chunk`` → ``ChunkStream``). Order for one chunk: the request is
authenticated against the prefix hash it declares — the SHA-256 of the blob from its first byte to
the chunk's end — (by the caller, before any byte is read) → under the upload's lock: blob expected,
size unchanged, index at the acknowledged offset, declared length right → the body is written at that
offset as it arrives while a copy of the upload's running hash advances over it (one hash pass per
byte) → prefix hash and length checked (otherwise the file is cut back to the acknowledged offset and
nothing changes) → fsync → the copy becomes the running hash → (last chunk:
check the whole upload against its name, fsync, rename, fsync dirs → ``blobs`` row) →
``uploads.acked`` committed → acknowledged. A failure or a cut connection at any point leaves the
acknowledged offset, the running hash and the file's acknowledged bytes as they were.

A receipt covers size n only if entries 1..n are stored and every blob they reference has a
``blobs`` row, so it never covers anything that is not on disk.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from dataclasses import dataclass

from sync.protocol import merkle
from sync.protocol.chain import SHA_RE, WireEntry, check_batch, genesis_hash
from sync.protocol.errors import Code, ProtocolError
from sync.protocol.receipt import RECEIPT_DOMAIN, Receipt
from sync.server.blobstore import BlobHashMismatch, FileBlobStore, PartWriter
from sync.server.db import Database, Tx
from sync.server.identity import Identity

DEFAULT_CHUNK_SIZE = 8 << 20
MAX_BATCH_ENTRIES = 1000
MISSING_LIST_LIMIT = 1000
MAX_BLOB_SIZE = 1 << 40
UPLOAD_LOCK_WAIT = 2.0  # seconds a chunk waits for another request on the same upload (then SERVER_BUSY)


def now_ns() -> int:
    return time.time_ns()


@dataclass
class PushResult:
    accepted: int
    duplicates: int
    head_size: int
    head_hash: str
    missing: list[str]
    missing_total: int


class Ingest:
    def __init__(self, db: Database, blobs: FileBlobStore, identity: Identity,
                 chunk_size: int = DEFAULT_CHUNK_SIZE) -> None:
        self.db = db
        self.blobs = blobs
        self.identity = identity
        self.chunk_size = chunk_size
        self._upload_locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    # --- entries -----------------------------------------------------------------------------------

    def push(self, device_id: str, raw_entries: list) -> PushResult:
        """Verify and store a batch (all or nothing); see ``sync.protocol.chain.check_batch``."""
        if len(raw_entries) > MAX_BATCH_ENTRIES:
            raise ProtocolError(Code.BATCH_TOO_LARGE, detail={"max": MAX_BATCH_ENTRIES})
        entries = [WireEntry.from_json(e) for e in raw_entries]
        with self.db.transaction() as tx:
            device = self._device(tx, device_id)
            _, public_key, _, _, head_size, head_hash, frontier_state = device
            known = {}
            below = [e.seq for e in entries if e.seq <= head_size]
            if below:
                known = {seq: bytes.fromhex(h) for seq, h in tx.all(
                    "SELECT seq, entry_hash FROM entries WHERE device_id = ? AND seq BETWEEN ? AND ?",
                    (device_id, min(below), max(below)))}
            checked = check_batch(entries, store_id=device_id, device_key=bytes.fromhex(public_key),
                                  head_size=head_size, head_hash=bytes.fromhex(head_hash), known_hash=known.get)
            if checked.new:
                received = now_ns()
                tx.executemany(
                    "INSERT INTO entries (device_id, seq, entry_type, record_id, supersedes, payload, media, officers, "
                    "prev_hash, entry_hash, wall_ns, mono_ns, signature, received_ns) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(device_id, e.seq, e.entry_type, e.record_id, e.supersedes, e.payload, json.dumps(list(e.media)),
                      json.dumps(list(e.officers), ensure_ascii=False), e.prev_hash.hex(), e.entry_hash.hex(),
                      e.wall_time, e.mono_time, e.signature.hex(), received) for e in checked.new])
                refs: dict[str, int] = {}
                for e in checked.new:
                    for sha in e.media:
                        refs.setdefault(sha, e.seq)
                tx.executemany("INSERT INTO blob_refs (device_id, sha256, first_seq) VALUES (?, ?, ?) "
                               "ON CONFLICT DO NOTHING", [(device_id, sha, seq) for sha, seq in refs.items()])
                frontier = merkle.Frontier.from_state(json.loads(frontier_state))
                for e in checked.new:
                    frontier.append(e.entry_hash)
                head_size, head_hash = checked.new[-1].seq, checked.new[-1].entry_hash.hex()
                tx.execute("UPDATE devices SET head_size = ?, head_hash = ?, frontier = ?, last_seen_ns = ? "
                           "WHERE device_id = ?", (head_size, head_hash, json.dumps(frontier.to_state()), received,
                                                   device_id))
            missing, total = self._missing(tx, device_id)
        return PushResult(len(checked.new), checked.duplicates, head_size, head_hash, missing, total)

    def _device(self, tx: Tx, device_id: str) -> tuple:
        device = tx.lock_device(device_id)
        if device is None:
            raise ProtocolError(Code.AUTH_UNKNOWN_DEVICE)
        return device

    @staticmethod
    def _missing(tx: Tx, device_id: str) -> tuple[list[str], int]:
        rows = tx.all("SELECT r.sha256 FROM blob_refs r LEFT JOIN blobs b ON b.sha256 = r.sha256 "
                      "WHERE r.device_id = ? AND b.sha256 IS NULL ORDER BY r.first_seq, r.sha256", (device_id,))
        return [r[0] for r in rows[:MISSING_LIST_LIMIT]], len(rows)

    def state(self, device_id: str) -> dict:
        """What HQ holds for this device: head, missing blobs, latest receipt."""
        with self.db.transaction() as tx:
            device = self._device(tx, device_id)
            missing, total = self._missing(tx, device_id)
            receipt = tx.one("SELECT body FROM receipts WHERE device_id = ? ORDER BY size DESC LIMIT 1", (device_id,))
        return {"v": 1, "device": device_id, "head_size": device[4], "head_hash": device[5], "missing_blobs": missing,
                "missing_total": total, "receipt": json.loads(receipt[0]) if receipt else None,
                "chunk_size": self.chunk_size}

    # --- blobs -------------------------------------------------------------------------------------

    def _upload_lock(self, key: str) -> threading.Lock:
        with self._locks_guard:
            return self._upload_locks.setdefault(key, threading.Lock())

    def _expected(self, tx: Tx, device_id: str, sha256: str) -> None:
        if tx.one("SELECT 1 FROM blob_refs WHERE device_id = ? AND sha256 = ?", (device_id, sha256)) is None:
            raise ProtocolError(Code.BLOB_NOT_EXPECTED, detail={"sha256": sha256})

    def blob_state(self, device_id: str, sha256: str) -> dict:
        with self.db.transaction() as tx:
            self._expected(tx, device_id, sha256)
            done = tx.one("SELECT size FROM blobs WHERE sha256 = ?", (sha256,))
            upload = tx.one("SELECT size, chunk_size, acked FROM uploads WHERE device_id = ? AND sha256 = ?",
                            (device_id, sha256))
        if done:
            return {"v": 1, "sha256": sha256, "state": "complete", "offset": done[0], "size": done[0],
                    "chunk_size": self.chunk_size}
        if upload:
            size, chunk, acked = upload
            on_disk = self.blobs.partial_size(f"{device_id}/{sha256}")
            acked = min(acked, on_disk)  # never claim more than the file holds
            acked -= acked % chunk if acked != size else 0
            return {"v": 1, "sha256": sha256, "state": "partial", "offset": acked, "size": size, "chunk_size": chunk}
        return {"v": 1, "sha256": sha256, "state": "absent", "offset": 0, "size": None, "chunk_size": self.chunk_size}

    def put_chunk(self, device_id: str, sha256: str, index: int, size: int, data: bytes,
                  declared_sha256: str) -> dict:
        """A whole chunk already in memory (tools, tests): ``begin_chunk`` → ``write`` → ``finish``."""
        started = self.begin_chunk(device_id, sha256, index, size, declared_sha256, len(data))
        if isinstance(started, dict):
            return started
        started.write([data])  # aborts the stream itself if it fails
        return started.finish()

    def begin_chunk(self, device_id: str, sha256: str, index: int, size: int, declared_sha256: str,
                    length: int | None = None) -> "ChunkStream | dict":
        """Start receiving chunk ``index`` of blob ``sha256`` (``size`` bytes in all); the request declares
        ``declared_sha256`` = SHA-256 of the blob's bytes from 0 to the end of this chunk (its prefix
        hash); ``length`` = its Content-Length if it has one.

        Checks (coded ProtocolError, nothing written): sizes in range, a well-formed declared hash
        (4003), the upload's lock free within ``UPLOAD_LOCK_WAIT`` s (5002, retryable), the blob
        expected from this device (4001), the same total size as before (4005), the chunk at the
        acknowledged offset (4002), ``length`` the chunk's (4006). Returns the answer (a dict) when
        there is nothing to write — the blob is complete, or the chunk is below the acknowledged
        offset — else a ``ChunkStream`` at the chunk's offset that holds the lock.

        Blocking (database, file): call in a worker thread. Dangerous: the caller must end a
        ``ChunkStream`` with ``finish()`` or ``abort()``, or the upload stays locked."""
        if not 0 <= size <= MAX_BLOB_SIZE or index < 0:
            raise ProtocolError(Code.MALFORMED_REQUEST, detail={"why": "size or index out of range"})
        if not isinstance(declared_sha256, str) or not SHA_RE.match(declared_sha256):
            raise ProtocolError(Code.CHUNK_HASH_MISMATCH, detail={"index": index})
        key = f"{device_id}/{sha256}"
        lock = self._upload_lock(key)
        if not lock.acquire(timeout=UPLOAD_LOCK_WAIT):
            raise ProtocolError(Code.SERVER_BUSY, detail={"why": "another request is writing this upload"})
        stream = None
        try:
            with self.db.transaction() as tx:
                self._expected(tx, device_id, sha256)
                if tx.one("SELECT 1 FROM blobs WHERE sha256 = ?", (sha256,)):
                    return self._complete_answer(sha256, size)
                upload = tx.one("SELECT size, chunk_size, acked FROM uploads WHERE device_id = ? AND sha256 = ?",
                                (device_id, sha256))
                if upload is None:
                    upload = (size, self.chunk_size, 0)
                    tx.execute("INSERT INTO uploads (device_id, sha256, size, chunk_size, acked, updated_ns) "
                               "VALUES (?, ?, ?, ?, 0, ?)", (device_id, sha256, size, self.chunk_size, now_ns()))
            total, chunk, acked = upload
            if total != size:
                raise ProtocolError(Code.BLOB_SIZE_MISMATCH, detail={"size": total})
            acked = min(acked, self.blobs.partial_size(key))
            acked -= acked % chunk
            offset = index * chunk
            if offset < acked:
                return {"v": 1, "sha256": sha256, "offset": acked, "complete": False}
            if offset > acked:
                raise ProtocolError(Code.CHUNK_OUT_OF_ORDER, detail={"offset": acked, "chunk_size": chunk})
            expected = min(chunk, total - offset)
            if length is not None and length != expected:
                raise ProtocolError(Code.CHUNK_SIZE_WRONG, detail={"expected": expected})
            try:
                writer = self.blobs.open_chunk(key, offset)
            except OSError as exc:
                raise _storage_error(exc) from exc
            stream = ChunkStream(self, device_id, sha256, index, total, offset, expected, declared_sha256, writer,
                                 lock)
            return stream
        finally:
            if stream is None:
                lock.release()

    def _chunk_done(self, device_id: str, sha256: str, total: int, new_acked: int) -> dict:
        """After a chunk is durable in the .part file: record it (the last one: commit the blob)."""
        key = f"{device_id}/{sha256}"
        if new_acked == total:
            try:
                self.blobs.commit(key, sha256, total)
            except BlobHashMismatch:
                with self.db.transaction() as tx:
                    tx.execute("DELETE FROM uploads WHERE device_id = ? AND sha256 = ?", (device_id, sha256))
                raise ProtocolError(Code.BLOB_HASH_MISMATCH, detail={"sha256": sha256}) from None
            except OSError as exc:
                raise _storage_error(exc) from exc
            with self.db.transaction() as tx:
                tx.execute("INSERT INTO blobs (sha256, size, stored_ns) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                           (sha256, total, now_ns()))
                tx.execute("DELETE FROM uploads WHERE device_id = ? AND sha256 = ?", (device_id, sha256))
            return self._complete_answer(sha256, total)
        with self.db.transaction() as tx:
            tx.execute("UPDATE uploads SET acked = ?, updated_ns = ? WHERE device_id = ? AND sha256 = ?",
                       (new_acked, now_ns(), device_id, sha256))
        return {"v": 1, "sha256": sha256, "offset": new_acked, "complete": False}

    @staticmethod
    def _complete_answer(sha256: str, size: int) -> dict:
        return {"v": 1, "sha256": sha256, "offset": size, "complete": True}

    def adopt_existing_blobs(self) -> int:
        """After a crash between renaming a finished upload into ``blobs/`` and recording it: record blobs
        that are on disk, expected by some device and absent from the table (their name was checked
        against their content before the rename). Returns how many were adopted."""
        adopted = 0
        with self.db.transaction() as tx:
            pending = [r[0] for r in tx.all("SELECT DISTINCT r.sha256 FROM blob_refs r LEFT JOIN blobs b "
                                            "ON b.sha256 = r.sha256 WHERE b.sha256 IS NULL")]
            for sha in pending:
                size = self.blobs.size(sha)
                if size is not None:
                    tx.execute("INSERT INTO blobs (sha256, size, stored_ns) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                               (sha, size, now_ns()))
                    tx.execute("DELETE FROM uploads WHERE sha256 = ?", (sha,))
                    adopted += 1
        return adopted

    # --- receipts ----------------------------------------------------------------------------------

    def receipt(self, device_id: str, clock_offset_ms: int | None = None) -> dict:
        """Sign (or return the stored) receipt for the longest prefix HQ fully holds; see module doc."""
        with self.db.transaction() as tx:
            device = self._device(tx, device_id)
            _, public_key, _, _, head_size, head_hash, frontier_state = device
            first_missing = tx.one("SELECT min(r.first_seq) FROM blob_refs r LEFT JOIN blobs b ON b.sha256 = r.sha256 "
                                   "WHERE r.device_id = ? AND b.sha256 IS NULL", (device_id,))[0]
            covered = head_size if first_missing is None else min(head_size, first_missing - 1)
            if clock_offset_ms is not None:
                tx.execute("UPDATE devices SET clock_offset_ms = ?, last_seen_ns = ? WHERE device_id = ?",
                           (clock_offset_ms, now_ns(), device_id))
            if covered == 0:
                return {"v": 1, "receipt": None, "covered": 0, "head_size": head_size}
            stored = tx.one("SELECT body FROM receipts WHERE device_id = ? AND size = ?", (device_id, covered))
            if stored:
                return {"v": 1, "receipt": json.loads(stored[0]), "covered": covered, "head_size": head_size}
            if covered == head_size:
                root, head = merkle.Frontier.from_state(json.loads(frontier_state)).root(), bytes.fromhex(head_hash)
            else:
                hashes = [bytes.fromhex(r[0]) for r in tx.all(
                    "SELECT entry_hash FROM entries WHERE device_id = ? AND seq <= ? ORDER BY seq", (device_id, covered))]
                root, head = merkle.root(hashes), hashes[-1]
            unsigned = Receipt(self.identity.hq_id, self.identity.public_key, device_id, bytes.fromhex(public_key),
                               covered, root, head, now_ns())
            signed = Receipt(**{**unsigned.__dict__, "signature": self.identity.sign(RECEIPT_DOMAIN + unsigned.body())})
            body = json.dumps(signed.to_json())
            tx.execute("INSERT INTO receipts (device_id, size, body, issued_ns) VALUES (?, ?, ?, ?)",
                       (device_id, covered, body, signed.time_ns))
        return {"v": 1, "receipt": signed.to_json(), "covered": covered, "head_size": head_size}


_END, _STOP = object(), object()  # ChunkStream inbox signals


class ChunkStream:
    """One chunk being received (from ``Ingest.begin_chunk``); holds its upload's lock until it ends.

    Directly: ``write(parts)`` any number of times, then ``finish()`` once; ``abort()`` at any time.
    Or fed from an event loop: ``put(parts)`` as bytes arrive, then ``end()`` — or ``stop()`` to give
    up — while ``drain()`` runs in one worker thread (it writes, then finishes or aborts). Calls may
    come from any thread (serialised here): ``abort`` waits for a ``write`` in progress, cuts the file
    back to the acknowledged offset and releases the lock; it is idempotent and does nothing after
    ``finish``. ``write`` and ``finish`` abort the stream themselves before raising, and refuse to run
    on an ended stream — so every failure leaves the upload as it was before this chunk.
    """

    def __init__(self, ingest: Ingest, device_id: str, sha256: str, index: int, total: int, offset: int,
                 length: int, declared_sha256: str, writer: PartWriter, lock: threading.Lock) -> None:
        self._ingest, self.device_id, self.sha256, self.index = ingest, device_id, sha256, index
        self.total, self.offset, self.length, self.declared = total, offset, length, declared_sha256
        self._writer, self._upload_lock = writer, lock
        self._io = threading.Lock()
        self._ended = False
        self._inbox: queue.SimpleQueue = queue.SimpleQueue()
        self._stopping = False

    @property
    def ended(self) -> bool:
        """Finished or aborted: the lock is released (or about to be, by the call that ended it)."""
        return self._ended

    def write(self, parts: list) -> None:
        """Write received pieces (in order) at the end of what this chunk has written. A body longer
        than the chunk → CHUNK_SIZE_WRONG; a disk error → STORAGE_FULL / SERVER_ERROR (aborted)."""
        with self._io:
            self._check_open()
            try:
                if self._writer.written + sum(len(p) for p in parts) > self.length:
                    raise ProtocolError(Code.CHUNK_SIZE_WRONG, detail={"expected": self.length})
                self._writer.write(parts)
            except OSError as exc:
                self._abort_locked()
                raise _storage_error(exc) from exc
            except BaseException:
                self._abort_locked()
                raise

    def finish(self) -> dict:
        """The body is complete: check its length (4006) and hash (4003) — a mismatch cuts it back —
        then fsync, record it (the last chunk: commit the blob, 4004 if it does not hash to its name)
        and release the lock. Returns the answer ``{offset, complete}``. Blocking (fsync, database)."""
        with self._io:
            self._check_open()
            writer = self._writer
            try:
                if writer.written != self.length:
                    raise ProtocolError(Code.CHUNK_SIZE_WRONG, detail={"expected": self.length})
                if writer.prefix_sha256() != self.declared:
                    raise ProtocolError(Code.CHUNK_HASH_MISMATCH, detail={"index": self.index})
                try:
                    writer.sync()
                except OSError as exc:
                    raise _storage_error(exc) from exc
            except BaseException:
                self._abort_locked()
                raise
            self._ended = True
            try:
                writer.keep()
                return self._ingest._chunk_done(self.device_id, self.sha256, self.total, self.offset + self.length)
            finally:
                self._upload_lock.release()

    def put(self, parts: list) -> None:
        """Queue received pieces (bytes-like, in order) for ``drain``. Never blocks. Dangerous: nothing
        bounds the queue — the caller must refuse a body longer than ``length`` (at most one chunk is
        then held in memory)."""
        self._inbox.put(parts)

    def end(self) -> None:
        """The body is complete: ``drain`` finishes the chunk once it has written what is queued."""
        self._inbox.put(_END)

    def stop(self) -> None:
        """Give up (client gone, error): ``drain`` aborts without writing what is still queued."""
        self._stopping = True
        self._inbox.put(_STOP)

    def drain(self) -> dict | None:
        """Write what ``put`` queues, in order, everything waiting at once, until ``end()`` — then
        ``finish()`` and return the answer — or ``stop()`` — then ``abort()`` and return None.
        Raises (the stream aborted) what ``write``/``finish`` raise. Blocking: run it in one worker
        thread; it returns only after ``end()`` or ``stop()`` (or an error)."""
        while True:
            batch, signal = [], None
            item = self._inbox.get()
            while True:
                if item is _END or item is _STOP:
                    signal = item
                    break
                batch.extend(item)
                try:
                    item = self._inbox.get_nowait()
                except queue.Empty:
                    break
            if self._stopping or signal is _STOP:
                self.abort()
                return None
            if batch:
                self.write(batch)
            if signal is _END:
                return self.finish()

    def abort(self) -> None:
        """End without accepting: the file is cut back to the acknowledged offset, the lock released."""
        with self._io:
            self._abort_locked()

    def _abort_locked(self) -> None:
        if self._ended:
            return
        self._ended = True
        try:
            self._writer.abort()
        finally:
            self._upload_lock.release()

    def _check_open(self) -> None:
        if self._ended:
            raise ProtocolError(Code.SERVER_ERROR, detail={"why": "chunk upload already ended"})


def _storage_error(exc: OSError) -> ProtocolError:
    import errno

    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return ProtocolError(Code.STORAGE_FULL)
    return ProtocolError(Code.SERVER_ERROR, detail={"why": "storage"})


def new_device_row(device_id: str) -> dict:
    """Initial head values for a newly enrolled device."""
    return {"head_size": 0, "head_hash": genesis_hash(device_id).hex(), "frontier": json.dumps(merkle.Frontier().to_state())}
