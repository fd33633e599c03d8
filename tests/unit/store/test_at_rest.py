"""What a thief with the disk sees: no plaintext in the database, its WAL, the media files or the header,
and no way to make the store use an unencrypted database."""

from __future__ import annotations

import io
import os

import pytest
import sqlcipher3

from field_app.store import PlaintextDatabase, Store
from field_app.store.db import SQLITE_MAGIC
from tests.unit.store.conftest import HENGTAI, LIU, WANG

MARKER = "ZX-known-string-7f3a9c"  # an ASCII string that must not appear anywhere on disk
NEEDLES = [HENGTAI["party_name"], HENGTAI["legal_rep"], "911301025260181593", MARKER, WANG[0], LIU[0], "image/jpeg",
           WANG[3], "工资支付台账"]


def _forms(needle: str) -> list[bytes]:
    return [needle.encode("utf-8"), needle.encode("utf-16-le")]


def _leaks(data_dir) -> list[str]:
    found = []
    for path in sorted(p for p in data_dir.rglob("*") if p.is_file()):
        blob = path.read_bytes()
        found += [f"{path.name}: {n}" for n in NEEDLES if any(form in blob for form in _forms(n))]
    return found


def _fill(store) -> None:
    store.add_case(**HENGTAI)
    store.append("form.2-5", {"findings": f"无工资支付台账（9–10月）{MARKER}", "witness": "周桂兰"})
    photo = io.BytesIO((f"考勤表照片 {HENGTAI['party_name']} {MARKER} ".encode() * 40_000))
    ref = store.put_media(photo, media_type="image/jpeg")
    store.append("photo", {"caption": "考勤表第 3 页"}, media=[ref.sha256])


def test_no_plaintext_in_db_wal_media_or_header_while_open(store, data_dir):
    _fill(store)
    files = {p.name for p in data_dir.rglob("*") if p.is_file()}
    assert {"evidence.db", "evidence.db-wal", "store.json"} <= files  # the WAL really holds the recent pages
    assert any(name.endswith(".frv") for name in files)
    assert _leaks(data_dir) == []


def test_no_plaintext_after_close_either(store, data_dir):
    _fill(store)
    store.close()
    assert _leaks(data_dir) == []
    assert (data_dir / "evidence.db").read_bytes()[:16] != SQLITE_MAGIC


def test_the_needles_would_be_found_if_they_were_there(store, data_dir):
    # Proof the scan works: the same content written unencrypted is found.
    _fill(store)
    (data_dir / "plain-copy.txt").write_text(f"{HENGTAI['party_name']} {MARKER}", encoding="utf-8")
    assert len(_leaks(data_dir)) == 2


def test_an_unencrypted_database_is_refused(store, data_dir):
    store.close()
    db = data_dir / "evidence.db"
    for suffix in ("", "-wal", "-shm"):
        (data_dir / f"evidence.db{suffix}").unlink(missing_ok=True)
    plain = sqlcipher3.connect(str(db))  # e.g. an "export" someone made, put back in place
    plain.execute("CREATE TABLE log (seq INTEGER PRIMARY KEY)")
    plain.commit()
    plain.close()
    before = db.read_bytes()
    with pytest.raises(PlaintextDatabase, match="未加密"):
        Store.open(data_dir)
    assert db.read_bytes() == before


def test_the_benchmark_baseline_cannot_become_a_real_store(keyring_env, tmp_path, hq_keys):
    # bench/store.py measures against an unkeyed database; such a store is refused by Store.open.
    bench = Store._unkeyed_for_benchmark(tmp_path / "bench", officers=[WANG], hq_public_key=hq_keys[1])
    bench.append("note", {"text": MARKER})
    bench.close()
    assert (tmp_path / "bench" / "evidence.db").read_bytes()[:16] == SQLITE_MAGIC
    with pytest.raises(PlaintextDatabase):
        Store.open(tmp_path / "bench")


def test_files_are_private_to_the_user(store, data_dir):
    _fill(store)
    media = next(p for p in data_dir.rglob("*.frv"))
    assert os.stat(media).st_mode & 0o077 == 0
    assert os.stat(data_dir).st_mode & 0o077 == 0


def test_the_database_is_sqlcipher_4_in_wal_with_full_sync_and_recorded_migrations(store, data_dir):
    # What build item 1 promises, read back from the live connection and from the file itself.
    import sqlite_utils

    db = store._ledger.db
    assert isinstance(db, sqlite_utils.Database)  # the store talks to SQLCipher through sqlite-utils
    conn = db.conn
    assert isinstance(conn, sqlcipher3.Connection)
    assert conn.execute("PRAGMA cipher_version").fetchone()[0].startswith("4.")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL: acknowledged = on disk
    versions = [row[0] for row in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]
    assert versions and versions == list(range(1, len(versions) + 1))
