"""Opening the SQLCipher database: keyed, WAL, synchronous=FULL, never unencrypted.

A plain SQLite file starts with the 16 bytes "SQLite format 3\\0"; an SQLCipher file starts with a
random salt. ``open_database`` refuses the former before keying and checks the latter after creating,
so the store can neither open nor create an unencrypted database (Signal Desktop once silently
recreated plaintext databases; this is the test against that).
"""

from __future__ import annotations

from pathlib import Path

import sqlcipher3
import sqlite_utils

from field_app.store.errors import PlaintextDatabase, StoreCorrupt, StoreError

DB_NAME = "evidence.db"
SQLITE_MAGIC = b"SQLite format 3\x00"


def is_plaintext_sqlite(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(16) == SQLITE_MAGIC
    except FileNotFoundError:
        return False


def open_database(path: Path, raw_key: bytes | None, *, create: bool) -> sqlite_utils.Database:
    """A sqlite-utils Database over a keyed SQLCipher connection in autocommit mode.

    ``raw_key`` is the 32-byte SQLCipher key (no SQLCipher PBKDF2: the key is already random).
    ``raw_key=None`` opens an *unkeyed* database and exists only for ``bench/store.py``'s baseline;
    the product never passes it (see ``Store._unkeyed_for_benchmark``).
    """
    if not create and not path.exists():
        raise StoreCorrupt(f"证据库文件 {path.name} 不见了。请不要移动或删除数据目录中的文件。")
    if create and path.exists():
        raise StoreError(f"证据库文件 {path.name} 已存在。")
    if raw_key is not None and is_plaintext_sqlite(path):
        raise PlaintextDatabase(f"{path.name} 是未加密的数据库。本程序只使用加密的证据库，拒绝打开。")
    conn = sqlcipher3.connect(str(path), isolation_level=None, check_same_thread=False)
    try:
        if raw_key is not None:
            conn.execute("PRAGMA cipher_log_level = NONE")  # failures surface as exceptions, not stderr noise
            conn.execute(f"PRAGMA key = \"x'{raw_key.hex()}'\"")
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlcipher3.DatabaseError as exc:
            raise StoreCorrupt("证据库无法解密：文件已损坏，或与头文件 store.json 不属于同一个证据库。",
                               detail=repr(exc)) from exc
        if raw_key is not None and not conn.execute("PRAGMA cipher_version").fetchone():
            raise StoreError("SQLite 加密组件（SQLCipher）不可用，拒绝打开证据库。")
        conn.execute("PRAGMA journal_mode = WAL").fetchone()
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA temp_store = MEMORY")  # no plaintext spill into temp files
        conn.execute("PRAGMA cache_size = -16000")  # 16 MB of decrypted pages: fewer decryptions
        conn.execute("PRAGMA foreign_keys = ON")
        if create:
            conn.execute("PRAGMA user_version = 0")  # forces the first (encrypted) page to disk
            if raw_key is not None and is_plaintext_sqlite(path):
                raise PlaintextDatabase("新建的证据库没有被加密，已停止。请联系信息技术人员。")
    except BaseException:
        conn.close()
        raise
    return sqlite_utils.Database(conn, execute_plugins=False)
