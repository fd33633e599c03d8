"""Tables of the web platform, created next to the sync tables (same database, same dialect rules as
sync/server/db.py: ``?`` placeholders, BIGINT ns times, TEXT, ``ON CONFLICT DO NOTHING``) so they work on
SQLite and PostgreSQL. Idempotent: ``CREATE … IF NOT EXISTS`` only; never drops or alters anything."""

from __future__ import annotations

import importlib

# Modules with a ``TABLES`` DDL string. B's and C's are optional (not every build has them yet).
CORE = ("sync.server.web.accounts", "sync.server.web.audit")
OPTIONAL = ("sync.server.web.reviews", "sync.server.web.retention", "sync.server.web.exports")


def table_sources() -> list[str]:
    sources = []
    for name in CORE + OPTIONAL:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        ddl = getattr(module, "TABLES", "")
        if ddl:
            sources.append(ddl)
    return sources


def create_web_tables(db) -> None:
    with db.transaction() as tx:
        for ddl in table_sources():
            for statement in (s.strip() for s in ddl.split(";")):
                if statement:
                    tx.execute(statement)
