"""Ingest: accepting a device's log entries, its media blobs in chunks, and issuing signed receipts.

Every operation is idempotent: repeating a push, a chunk or a receipt request changes nothing that the
first one did not (entries already held are compared by hash and skipped; a chunk below the
acknowledged offset is answered with the offset; a receipt for the same size is the stored one).

Order of durability for a chunk: hash check → write + fsync → (last chunk: re-hash the whole file,
fsync, rename, fsync dirs → ``blobs`` row) → ``uploads.acked`` committed → acknowledged. A receipt
covers size n only if entries 1..n are stored and every blob they reference has a ``blobs`` row,
so it never covers anything that is not on disk.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass

from sync.protocol import merkle
from sync.protocol.chain import WireEntry, check_batch, genesis_hash
from sync.protocol.errors import Code, ProtocolError
from sync.protocol.receipt import RECEIPT_DOMAIN, Receipt
from sync.server.blobstore import BlobHashMismatch, FileBlobStore
from sync.server.db import Database, Tx
from sync.server.identity import Identity

DEFAULT_CHUNK_SIZE = 8 << 20
MAX_BATCH_ENTRIES = 1000
MISSING_LIST_LIMIT = 1000
MAX_BLOB_SIZE = 1 << 40


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

    def put_chunk(self, device_id: str, sha256: str, index: int, size: int, data: bytes, declared_sha256: str,
                  actual_sha256: str | None = None) -> dict:
        """Store chunk ``index`` of blob ``sha256`` (``size`` bytes in all). Answers with the acknowledged
        offset; ``complete`` once the whole blob is verified and durable. See the module docstring."""
        if not 0 <= size <= MAX_BLOB_SIZE or index < 0:
            raise ProtocolError(Code.MALFORMED_REQUEST, detail={"why": "size or index out of range"})
        if declared_sha256 != (actual_sha256 or _sha(data)):
            raise ProtocolError(Code.CHUNK_HASH_MISMATCH, detail={"index": index})
        key = f"{device_id}/{sha256}"
        with self._upload_lock(key):
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
            if len(data) != min(chunk, total - offset):
                raise ProtocolError(Code.CHUNK_SIZE_WRONG, detail={"expected": min(chunk, total - offset)})
            if offset == 0:
                self.blobs.start_hash(key)
            try:
                self.blobs.write_chunk(key, offset, data)
            except OSError as exc:
                raise _storage_error(exc) from exc
            new_acked = offset + len(data)
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


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _storage_error(exc: OSError) -> ProtocolError:
    import errno

    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return ProtocolError(Code.STORAGE_FULL)
    return ProtocolError(Code.SERVER_ERROR, detail={"why": "storage"})


def new_device_row(device_id: str) -> dict:
    """Initial head values for a newly enrolled device."""
    return {"head_size": 0, "head_hash": genesis_hash(device_id).hex(), "frontier": json.dumps(merkle.Frontier().to_state())}
