"""Database schema as numbered migrations, each recorded in ``schema_migrations`` when applied.

Append-only tables (``log``, ``media``, ``checkpoints``, ``meta``) carry triggers that refuse UPDATE
and DELETE. ``officers`` and ``cases`` are *indexes* derived from the log (rebuilt by replaying it),
so they may be updated; the verifier compares them with the log.

Add a migration by appending to MIGRATIONS; never edit one that has shipped.
"""

from __future__ import annotations

import time

from field_app.store.errors import StoreCorrupt

APPEND_ONLY_TABLES = ("log", "media", "checkpoints", "meta")


def _append_only(table: str) -> str:
    return "".join(
        f"CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '证据只能追加，不能修改或删除（{table}）'); END;\n"
        for op in ("UPDATE", "DELETE")
    )


_INITIAL = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE log (
    seq          INTEGER PRIMARY KEY,
    entry_type   TEXT NOT NULL,
    record_id    TEXT,
    supersedes   INTEGER,
    payload      TEXT NOT NULL,
    media        TEXT NOT NULL,
    officer_certs TEXT NOT NULL,
    prev_hash    BLOB NOT NULL,
    entry_hash   BLOB NOT NULL UNIQUE,
    wall_time    INTEGER NOT NULL,
    mono_time    INTEGER NOT NULL,
    signature    BLOB NOT NULL
);
CREATE INDEX log_by_record ON log(record_id, seq) WHERE record_id IS NOT NULL;
CREATE TABLE log_head (id INTEGER PRIMARY KEY CHECK (id = 1), size INTEGER NOT NULL, head_hash BLOB NOT NULL);
CREATE TABLE media (
    sha256 TEXT PRIMARY KEY, size INTEGER NOT NULL, media_type TEXT NOT NULL, added_wall INTEGER NOT NULL
);
CREATE TABLE checkpoints (
    tree_size INTEGER PRIMARY KEY, root_hash BLOB NOT NULL, wall_time INTEGER NOT NULL, signature BLOB NOT NULL
);
CREATE TABLE officers (
    cert_no TEXT PRIMARY KEY, name TEXT NOT NULL, department TEXT NOT NULL, enrolled_seq INTEGER NOT NULL
);
CREATE TABLE cases (
    record_id   TEXT PRIMARY KEY,
    case_no     TEXT NOT NULL UNIQUE,
    party_name  TEXT NOT NULL,
    credit_code TEXT NOT NULL,
    legal_rep   TEXT NOT NULL,
    address     TEXT NOT NULL,
    latest_seq  INTEGER NOT NULL,
    search_text TEXT NOT NULL
);
CREATE VIRTUAL TABLE cases_fts USING fts5(
    search_text, content='cases', content_rowid='rowid', tokenize='trigram'
);
CREATE TRIGGER cases_fts_insert AFTER INSERT ON cases BEGIN
    INSERT INTO cases_fts(rowid, search_text) VALUES (new.rowid, new.search_text);
END;
CREATE TRIGGER cases_fts_update AFTER UPDATE ON cases BEGIN
    INSERT INTO cases_fts(cases_fts, rowid, search_text) VALUES ('delete', old.rowid, old.search_text);
    INSERT INTO cases_fts(rowid, search_text) VALUES (new.rowid, new.search_text);
END;
""" + "".join(_append_only(t) for t in APPEND_ONLY_TABLES)

MIGRATIONS: list[tuple[int, str, str]] = [
    (1, "initial: log, media, checkpoints, officers, cases + trigram search", _INITIAL),
]


def migrate(conn) -> list[int]:
    """Apply the missing migrations, each in its own transaction; return the versions applied.

    Refuses (StoreCorrupt, Chinese) a database made by a newer program.
    """
    conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations "
                 "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_wall INTEGER NOT NULL)")
    applied = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
    known = {version for version, _, _ in MIGRATIONS}
    if applied - known:
        raise StoreCorrupt("这个证据库由更新版本的程序创建，本程序无法安全打开。请升级程序。")
    done = []
    for version, name, sql in MIGRATIONS:
        if version in applied:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(sql):
                conn.execute(statement)
            conn.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)", (version, name, time.time_ns()))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        done.append(version)
    return done


def _statements(sql: str) -> list[str]:
    """Split a script into complete statements (trigger bodies contain semicolons)."""
    import sqlcipher3

    statements, current = [], ""
    for line in sql.splitlines(keepends=True):
        current += line
        if sqlcipher3.complete_statement(current):
            if current.strip():
                statements.append(current.strip())
            current = ""
    if current.strip():
        raise ValueError(f"incomplete SQL statement in migration: {current!r}")
    return statements
