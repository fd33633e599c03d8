"""The log inside the open database: appending signed, chained entries, reading them back, checkpoints.

One ``Ledger`` per unlocked store. Every method takes one re-entrant lock, so the capture thread and the
UI thread can call it at the same time: writes are serialised, each append is one transaction
(``BEGIN IMMEDIATE`` … ``COMMIT`` with ``synchronous=FULL``), and an append that returned is on disk.
After ``close()`` every method raises StoreLocked.
"""

from __future__ import annotations

import json
import re
import threading
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import sqlcipher3
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from field_app.store import cases, merkle
from field_app.store.canonical import NotCanonical, canonical_json
from field_app.store.errors import DiskFull, InvalidInput, StoreCorrupt, StoreError, StoreLocked
from field_app.store.log import Checkpoint, Entry, entry_hash, genesis_hash, sign_entry
from field_app.store.vault import MediaRef

CHECKPOINT_EVERY = 1000  # entries between automatic checkpoints (one is also made on lock/close)
INTERNAL_PREFIX = "store."
_TYPE_RE = re.compile(r"^[a-z][a-z0-9_.:-]{0,63}$")
_RECORD_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
_SHA_RE = re.compile(r"^[0-9a-f]{64}$")
LOG_COLUMNS = ("seq, entry_type, record_id, supersedes, payload, media, officer_certs, prev_hash, entry_hash, "
               "wall_time, mono_time, signature")


def entry_from_row(row: tuple) -> Entry:
    """An Entry from a ``log`` row. Unparsable list columns become a marker that cannot hash right, so
    the verifier reports the row as altered instead of crashing."""
    def as_tuple(text: str) -> tuple[str, ...]:
        try:
            value = json.loads(text)
            return tuple(str(v) for v in value) if isinstance(value, list) else ("<unreadable>",)
        except (ValueError, TypeError):
            return ("<unreadable>",)

    seq, etype, record, supersedes, payload, media, officers, prev, hashed, wall, mono, sig = row
    return Entry(seq, etype, record, supersedes, payload, as_tuple(media), as_tuple(officers), bytes(prev),
                 bytes(hashed), wall, mono, bytes(sig))


def _db_error(exc: Exception, what: str) -> StoreError:
    text = str(exc)
    if "full" in text.lower():
        return DiskFull(f"磁盘空间不足，{what}没有保存。请清理磁盘后重试；已保存的记录不受影响。", detail=text)
    return StoreError(f"数据库出错（{text}），{what}没有保存。", detail=text)


class Ledger:
    def __init__(self, db, store_id: str, signing_key: Ed25519PrivateKey, public_key: bytes) -> None:
        self.db = db
        self.store_id = store_id
        self.public_key = public_key
        self._key = signing_key
        self._lock = threading.RLock()
        self._closed = False
        self._frontier: merkle.Frontier | None = None
        self.dirty = False  # appended since opened (a checkpoint is due on close)
        self._projections: dict[str, Callable] = {cases.CASE_ENTRY: self._project_case,
                                                  "store.officer_enrolled": self._project_officer}

    # --- plumbing ---------------------------------------------------------------------------------

    @property
    def conn(self):
        if self._closed:
            raise StoreLocked("证据库已锁定，请先解锁。")
        return self.db.conn

    @contextmanager
    def _write(self, what: str) -> Iterator[Any]:
        with self._lock:
            conn = self.conn
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlcipher3.Error as exc:
                raise _db_error(exc, what) from exc
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException as exc:
                try:
                    conn.execute("ROLLBACK")
                except sqlcipher3.Error:
                    pass  # the failed statement may already have rolled back
                if isinstance(exc, sqlcipher3.Error):
                    raise _db_error(exc, what) from exc
                raise

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self.db.conn.close()

    def meta(self, key: str) -> bytes | None:
        with self._lock:
            row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
            return bytes(row[0]) if row else None

    # --- writing ----------------------------------------------------------------------------------

    def initialize(self, signing_key_raw: bytes, created_payload: dict) -> Entry:
        """Fill a freshly migrated database: meta rows, the empty head, the ``store.created`` entry."""
        with self._write("证据库的初始数据") as conn:
            conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?)",
                             [("store_id", self.store_id.encode()), ("device_private_key", signing_key_raw),
                              ("device_public_key", self.public_key)])
            conn.execute("INSERT INTO log_head (id, size, head_hash) VALUES (1, 0, ?)", (genesis_hash(self.store_id),))
        return self.append("store.created", created_payload, officers=(), internal=True)

    def append(self, entry_type: str, payload: dict, *, record_id: str | None = None,
               supersedes: int | None = None, media: list[str] | tuple[str, ...] | None = None,
               officers: tuple[str, ...] = (), internal: bool = False) -> Entry:
        """Add one entry; when this returns, the entry is durable. Raises InvalidInput (nothing written)
        for a bad type, payload, record, supersedes or media reference."""
        if not isinstance(entry_type, str) or not _TYPE_RE.match(entry_type):
            raise InvalidInput(f"记录类型 {entry_type!r} 格式不正确（小写字母开头，只含小写字母、数字和 _ . : -）。")
        if entry_type.startswith(INTERNAL_PREFIX) and not internal:
            raise InvalidInput(f"记录类型 {entry_type} 由证据库自己使用，不能直接追加。")
        if not isinstance(payload, dict):
            raise InvalidInput("记录内容必须是键值对（dict）。")
        try:
            payload_json = canonical_json(payload)
        except NotCanonical as exc:
            raise InvalidInput(str(exc)) from exc
        if record_id is not None and (not isinstance(record_id, str) or not _RECORD_RE.match(record_id)):
            raise InvalidInput("记录编号格式不正确（1–128 个字母、数字或 _ . : -）。")
        media = list(media or [])
        for sha in media:
            if not isinstance(sha, str) or not _SHA_RE.match(sha):
                raise InvalidInput(f"媒体文件标识 {sha!r} 不是 SHA-256（64 位小写十六进制）。")
        with self._lock:
            with self._write("这条记录") as conn:
                record_id, is_new = self._check_supersedes(conn, record_id, supersedes)
                for sha in media:
                    if not conn.execute("SELECT 1 FROM media WHERE sha256 = ?", (sha,)).fetchone():
                        raise InvalidInput(f"媒体文件 {sha[:12]}… 还没有存入证据库，不能在记录中引用。")
                size, prev = conn.execute("SELECT size, head_hash FROM log_head WHERE id = 1").fetchone()
                prev = bytes(prev)
                wall, mono = time.time_ns(), time.monotonic_ns()
                hashed = entry_hash(prev_hash=prev, entry_type=entry_type, record_id=record_id, supersedes=supersedes,
                                    payload_json=payload_json, media=media, officers=officers,
                                    wall_time=wall, mono_time=mono)
                entry = Entry(size + 1, entry_type, record_id, supersedes, payload_json.decode("utf-8"), tuple(media),
                              tuple(officers), prev, hashed, wall, mono, sign_entry(self._key, hashed))
                conn.execute(f"INSERT INTO log ({LOG_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                             (entry.seq, entry_type, record_id, supersedes, entry.payload_json, json.dumps(media),
                              json.dumps(list(officers), ensure_ascii=False), prev, hashed, wall, mono, entry.signature))
                conn.execute("UPDATE log_head SET size = ?, head_hash = ? WHERE id = 1", (entry.seq, hashed))
                projection = self._projections.get(entry_type)
                if projection:
                    projection(conn, entry, payload, is_new)
            if self._frontier is not None and self._frontier.size == entry.seq - 1:
                self._frontier.append(hashed)
            else:
                self._frontier = None  # rebuilt from the database when next needed
            self.dirty = True
        if entry.seq % CHECKPOINT_EVERY == 0:
            try:
                self.checkpoint()
            except StoreError:
                pass  # the entry is safe; the checkpoint is retried at the next interval or on lock
        return entry

    def _check_supersedes(self, conn, record_id: str | None, supersedes: int | None) -> tuple[str | None, bool]:
        """The record id to store and whether this entry starts its record. A record groups entries
        (a form's versions, a recording's parts); a correction names the record's latest entry."""
        if supersedes is None:
            return record_id, record_id is None or self._latest_version(conn, record_id) is None
        if isinstance(supersedes, bool) or not isinstance(supersedes, int):
            raise InvalidInput("supersedes 必须是记录序号（整数）。")
        row = conn.execute("SELECT record_id FROM log WHERE seq = ?", (supersedes,)).fetchone()
        if row is None:
            raise InvalidInput(f"要更正的第 {supersedes} 条记录不存在。")
        if row[0] is None:
            raise InvalidInput(f"第 {supersedes} 条记录不属于任何记录编号，不能被更正。")
        if record_id is not None and record_id != row[0]:
            raise InvalidInput(f"第 {supersedes} 条属于记录 {row[0]}，不是 {record_id}。")
        latest = self._latest_version(conn, row[0])
        if latest != supersedes:
            raise InvalidInput(f"只能更正记录 {row[0]} 的最新一条（第 {latest} 条），不能更正第 {supersedes} 条。")
        return row[0], False

    @staticmethod
    def _latest_version(conn, record_id: str) -> int | None:
        return conn.execute("SELECT max(seq) FROM log WHERE record_id = ?", (record_id,)).fetchone()[0]

    def _project_case(self, conn, entry: Entry, payload: dict, is_new: bool) -> None:
        if entry.record_id is None:
            raise InvalidInput("案件记录必须有记录编号（record_id）。")
        if not is_new and entry.supersedes is None:
            raise InvalidInput(f"案件 {entry.record_id} 已存在。更正时请用 supersedes 指向它的最新版本。")
        cases.project(conn, entry.record_id, entry.seq, payload, new=is_new)

    def _project_officer(self, conn, entry: Entry, payload: dict, is_new: bool) -> None:
        conn.execute("INSERT INTO officers (cert_no, name, department, enrolled_seq) VALUES (?, ?, ?, ?)",
                     (payload["cert_no"], payload["name"], payload["department"], entry.seq))

    def add_media(self, ref: MediaRef) -> None:
        with self._write("媒体文件的登记") as conn:
            conn.execute("INSERT OR IGNORE INTO media (sha256, size, media_type, added_wall) VALUES (?, ?, ?, ?)",
                         (ref.sha256, ref.size, ref.media_type, time.time_ns()))

    # --- reading ----------------------------------------------------------------------------------

    def head(self) -> tuple[int, bytes]:
        with self._lock:
            size, hashed = self.conn.execute("SELECT size, head_hash FROM log_head WHERE id = 1").fetchone()
            return size, bytes(hashed)

    def _select(self, where: str, params: tuple) -> list[Entry]:
        with self._lock:
            rows = self.conn.execute(f"SELECT {LOG_COLUMNS} FROM log {where}", params).fetchall()
        return [entry_from_row(r) for r in rows]

    def entries_after(self, seq: int, limit: int) -> list[Entry]:
        if limit < 1:
            raise InvalidInput("limit 必须大于 0。")
        return self._select("WHERE seq > ? ORDER BY seq LIMIT ?", (seq, limit))

    def entry(self, seq: int) -> Entry | None:
        found = self._select("WHERE seq = ?", (seq,))
        return found[0] if found else None

    def record_versions(self, record_id: str) -> list[Entry]:
        return self._select("WHERE record_id = ? ORDER BY seq", (record_id,))

    def iter_entries(self, batch: int = 2000) -> Iterator[Entry]:
        """Every row in ``seq`` order (including rows a tamperer left with gaps), in batches."""
        last = -1 << 62
        while True:
            chunk = self._select("WHERE seq > ? ORDER BY seq LIMIT ?", (last, batch))
            if not chunk:
                return
            yield from chunk
            last = chunk[-1].seq

    def media_with_type_prefix(self, prefix: str) -> list[MediaRef]:
        """Registered media whose media type starts with ``prefix``, in the order they were added."""
        with self._lock:
            rows = self.conn.execute("SELECT sha256, size, media_type FROM media WHERE substr(media_type, 1, ?) = ? "
                                     "ORDER BY added_wall, rowid", (len(prefix), prefix)).fetchall()
        return [MediaRef(*row) for row in rows]

    def media_row(self, sha256: str) -> MediaRef | None:
        with self._lock:
            row = self.conn.execute("SELECT sha256, size, media_type FROM media WHERE sha256 = ?", (sha256,)).fetchone()
        return MediaRef(*row) if row else None

    def query(self, sql: str, params: tuple = ()) -> list[dict]:
        with self._lock:
            self.conn  # noqa: B018 - raises StoreLocked when closed
            return list(self.db.query(sql, params))

    def search_cases(self, text: str, limit: int) -> list[cases.CaseRow]:
        with self._lock:
            return cases.search(self.conn, text, limit)

    # --- checkpoints ------------------------------------------------------------------------------

    def _entry_hashes(self, upto: int) -> list[bytes]:
        with self._lock:
            rows = self.conn.execute("SELECT entry_hash FROM log WHERE seq <= ? ORDER BY seq", (upto,)).fetchall()
        return [bytes(r[0]) for r in rows]

    def root_at(self, tree_size: int) -> bytes:
        """Merkle root over the first ``tree_size`` entries as stored now."""
        return merkle.root(self._entry_hashes(tree_size))

    def checkpoint(self) -> Checkpoint:
        """Sign and store a checkpoint over the whole log (returns the latest one if nothing is new)."""
        with self._lock:
            size, _ = self.head()
            latest = self.latest_checkpoint()
            if latest is not None and latest.tree_size == size:
                return latest
            if self._frontier is None or self._frontier.size != size:
                self._frontier = merkle.Frontier()
                for hashed in self._entry_hashes(size):
                    self._frontier.append(hashed)
            if self._frontier.size != size:
                raise StoreCorrupt("记录序号不连续，无法生成检查点。请运行 field-app verify 检查证据库。")
            cp = Checkpoint(self.store_id, size, self._frontier.root(), time.time_ns(), self.public_key).signed(self._key)
            with self._write("检查点") as conn:
                conn.execute("INSERT INTO checkpoints (tree_size, root_hash, wall_time, signature) VALUES (?, ?, ?, ?)",
                             (cp.tree_size, cp.root_hash, cp.wall_time, cp.signature))
            return cp

    def checkpoints(self) -> list[Checkpoint]:
        with self._lock:
            rows = self.conn.execute("SELECT tree_size, root_hash, wall_time, signature FROM checkpoints "
                                     "ORDER BY tree_size").fetchall()
        return [Checkpoint(self.store_id, size, bytes(root), wall, self.public_key, bytes(sig))
                for size, root, wall, sig in rows]

    def latest_checkpoint(self) -> Checkpoint | None:
        found = self.checkpoints()
        return found[-1] if found else None

    def inclusion_proof(self, seq: int, tree_size: int) -> merkle.InclusionProof:
        size, _ = self.head()
        if not 1 <= seq <= tree_size <= size:
            raise InvalidInput(f"无法证明：需要 1 ≤ 序号({seq}) ≤ 树大小({tree_size}) ≤ 记录总数({size})。")
        return merkle.inclusion_proof(self._entry_hashes(tree_size), seq - 1)
