"""HQ metadata database: SQLite in the data directory by default, PostgreSQL with ``--db postgresql://…``.

One SQL dialect for both: ``?`` placeholders (turned into ``%s`` for psycopg), TEXT for hashes (hex),
BIGINT for sizes and nanosecond times, ``INSERT … ON CONFLICT DO NOTHING``. Use::

    with db.transaction() as tx:             # BEGIN … COMMIT, ROLLBACK on any exception
        tx.lock_device(device_id)            # serialise writers of one device (PG: row lock)
        row = tx.one("SELECT … WHERE x = ?", (x,))

Guarantees: a transaction that returned is committed and durable (SQLite ``synchronous=FULL`` in WAL
mode; PostgreSQL's default ``synchronous_commit``). Thread-safe: SQLite gives each thread its own
connection (WAL; writers wait up to 30 s for each other); PostgreSQL uses a bounded pool.
Dangerous: run one server process per data directory — the upload locks are in process memory.
"""

from __future__ import annotations

import queue
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

SCHEMA_VERSION = 1
_TABLES = """
CREATE TABLE IF NOT EXISTS hq_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS departments (name TEXT PRIMARY KEY, created_ns BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS officers (
    cert_no TEXT PRIMARY KEY, name TEXT NOT NULL, department TEXT NOT NULL REFERENCES departments(name),
    role TEXT NOT NULL, active INTEGER NOT NULL, created_ns BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS enrolment_codes (
    code_hash TEXT PRIMARY KEY, department TEXT NOT NULL REFERENCES departments(name), created_ns BIGINT NOT NULL,
    expires_ns BIGINT NOT NULL, used_by TEXT, used_ns BIGINT);
CREATE TABLE IF NOT EXISTS devices (
    device_id TEXT PRIMARY KEY, public_key TEXT NOT NULL, department TEXT NOT NULL, escrow TEXT NOT NULL,
    name TEXT NOT NULL, officers TEXT NOT NULL, enrolled_ns BIGINT NOT NULL, active INTEGER NOT NULL,
    head_size BIGINT NOT NULL, head_hash TEXT NOT NULL, frontier TEXT NOT NULL,
    last_seen_ns BIGINT, clock_offset_ms BIGINT);
CREATE TABLE IF NOT EXISTS entries (
    device_id TEXT NOT NULL, seq BIGINT NOT NULL, entry_type TEXT NOT NULL, record_id TEXT, supersedes BIGINT,
    payload TEXT NOT NULL, media TEXT NOT NULL, officers TEXT NOT NULL, prev_hash TEXT NOT NULL,
    entry_hash TEXT NOT NULL, wall_ns BIGINT NOT NULL, mono_ns BIGINT NOT NULL, signature TEXT NOT NULL,
    received_ns BIGINT NOT NULL, PRIMARY KEY (device_id, seq));
CREATE TABLE IF NOT EXISTS blob_refs (
    device_id TEXT NOT NULL, sha256 TEXT NOT NULL, first_seq BIGINT NOT NULL, PRIMARY KEY (device_id, sha256));
CREATE INDEX IF NOT EXISTS blob_refs_by_sha ON blob_refs (sha256);
CREATE TABLE IF NOT EXISTS blobs (sha256 TEXT PRIMARY KEY, size BIGINT NOT NULL, stored_ns BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS uploads (
    device_id TEXT NOT NULL, sha256 TEXT NOT NULL, size BIGINT NOT NULL, chunk_size BIGINT NOT NULL,
    acked BIGINT NOT NULL, updated_ns BIGINT NOT NULL, PRIMARY KEY (device_id, sha256));
CREATE TABLE IF NOT EXISTS receipts (
    device_id TEXT NOT NULL, size BIGINT NOT NULL, body TEXT NOT NULL, issued_ns BIGINT NOT NULL,
    PRIMARY KEY (device_id, size));
CREATE TABLE IF NOT EXISTS nonces (
    device_id TEXT NOT NULL, nonce TEXT NOT NULL, expires_ns BIGINT NOT NULL, PRIMARY KEY (device_id, nonce));
CREATE TABLE IF NOT EXISTS assignments (
    id TEXT PRIMARY KEY, case_no TEXT NOT NULL, party_name TEXT NOT NULL, credit_code TEXT NOT NULL,
    department TEXT NOT NULL REFERENCES departments(name), officers TEXT NOT NULL, note TEXT NOT NULL,
    created_ns BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS audit (at_ns BIGINT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, detail TEXT NOT NULL);
"""


class DatabaseError(RuntimeError):
    """The metadata database cannot be reached or used. ``str()`` is Chinese."""


class Tx:
    """One open transaction (see module docstring)."""

    def __init__(self, conn, postgres: bool) -> None:
        self._conn = conn
        self._pg = postgres

    def execute(self, sql: str, params: tuple = ()) -> int:
        """Run a statement; returns the number of rows it changed."""
        cur = self._conn.execute(sql.replace("?", "%s") if self._pg else sql, params)
        return cur.rowcount

    def executemany(self, sql: str, rows: list[tuple]) -> None:
        if not rows:
            return
        if self._pg:
            with self._conn.cursor() as cur:
                cur.executemany(sql.replace("?", "%s"), rows)
        else:
            self._conn.executemany(sql, rows)

    def all(self, sql: str, params: tuple = ()) -> list[tuple]:
        return list(self._conn.execute(sql.replace("?", "%s") if self._pg else sql, params).fetchall())

    def one(self, sql: str, params: tuple = ()) -> tuple | None:
        return self._conn.execute(sql.replace("?", "%s") if self._pg else sql, params).fetchone()

    def has_table(self, name: str) -> bool:
        """Whether a table exists (tables of optional parts, e.g. the web platform's, may not yet)."""
        if self._pg:
            return self.one("SELECT to_regclass(?)", (name,))[0] is not None
        return self.one("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)) is not None

    def lock_device(self, device_id: str) -> tuple | None:
        """The device row (device_id, public_key, department, active, head_size, head_hash, frontier),
        locked against concurrent writers until the transaction ends; None if unknown."""
        sql = ("SELECT device_id, public_key, department, active, head_size, head_hash, frontier FROM devices "
               "WHERE device_id = ?")
        return self.one(sql + (" FOR UPDATE" if self._pg else ""), (device_id,))


class Database:
    """Base: see ``open_database``."""

    postgres = False
    description = ""

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def create_schema(self) -> None:
        with self.transaction() as tx:
            for statement in (s.strip() for s in _TABLES.split(";")):
                if statement:
                    tx.execute(statement)
            tx.execute("INSERT INTO hq_meta (key, value) VALUES ('schema', ?) ON CONFLICT DO NOTHING",
                       (str(SCHEMA_VERSION),))
            row = tx.one("SELECT value FROM hq_meta WHERE key = 'schema'")
            if int(row[0]) > SCHEMA_VERSION:
                raise DatabaseError("局端数据库由更新版本的 field-hq 创建，请升级本程序。")


class SQLiteDatabase(Database):
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.description = f"SQLite {self.path}"
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = sqlite3.connect(self.path, isolation_level=None, timeout=30, check_same_thread=False)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=FULL")
                conn.execute("PRAGMA foreign_keys=ON")
            except sqlite3.Error as exc:
                raise DatabaseError(f"无法打开局端数据库 {self.path}（{exc}）。") from exc
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")  # one writer at a time: the device lock is implicit
        try:
            yield Tx(conn, False)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                try:
                    conn.close()
                except sqlite3.Error:
                    pass
            self._all.clear()
        self._local = threading.local()


class PostgresDatabase(Database):
    postgres = True

    def __init__(self, dsn: str, pool_size: int = 16) -> None:
        import psycopg

        self._psycopg = psycopg
        self.dsn = dsn
        self.description = "PostgreSQL " + _redact(dsn)
        self._pool: queue.LifoQueue = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(pool_size)
        self._all: list[Any] = []
        self._lock = threading.Lock()

    def _connect(self):
        try:
            conn = self._psycopg.connect(self.dsn, autocommit=True, connect_timeout=10)
        except self._psycopg.Error as exc:
            raise DatabaseError(f"无法连接局端 PostgreSQL 数据库（{_redact(self.dsn)}）：{exc}") from exc
        with self._lock:
            self._all.append(conn)
        return conn

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        if not self._slots.acquire(timeout=60):
            raise DatabaseError("局端数据库连接全部占用，请稍后重试。")
        try:
            try:
                conn = self._pool.get_nowait()
            except queue.Empty:
                conn = self._connect()
            if conn.closed or conn.broken:
                conn = self._connect()
            ok = False
            try:
                with conn.transaction():
                    yield Tx(conn, True)
                ok = True
            finally:
                if ok or not conn.broken:
                    self._pool.put(conn)
        finally:
            self._slots.release()

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                try:
                    conn.close()
                except Exception:  # noqa: BLE001 - closing is best effort
                    pass
            self._all.clear()


def _redact(dsn: str) -> str:
    """The DSN without a password (for messages and logs)."""
    import re

    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", re.sub(r"password=\S+", "password=***", dsn))


def open_database(data_dir: Path, dsn: str | None = None) -> Database:
    """The metadata database (schema created if missing): PostgreSQL for a ``postgresql://`` DSN,
    otherwise SQLite ``hq.db`` in ``data_dir``. DatabaseError (Chinese) if it cannot be used."""
    if dsn:
        if not dsn.startswith(("postgresql://", "postgres://")):
            raise DatabaseError("--db 只支持 PostgreSQL 连接串（postgresql://用户@主机:端口/库名）。")
        db: Database = PostgresDatabase(dsn)
    else:
        db = SQLiteDatabase(Path(data_dir) / "hq.db")
    try:
        db.create_schema()
    except Exception as exc:
        db.close()
        if isinstance(exc, DatabaseError):
            raise
        raise DatabaseError(f"无法初始化局端数据库（{db.description}）：{exc}") from exc
    return db
