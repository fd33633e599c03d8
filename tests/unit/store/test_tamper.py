"""Each way of tampering with a closed store, done the way an insider with the key would do it, and the
verifier reporting exactly that problem (kind, entry, file) — and nothing before the tampering."""

from __future__ import annotations

import io
import json
import os
import random
import shutil
import struct

import pytest
import sqlcipher3
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from field_app.store.keys import OfficerWrap, read_header, write_header, KdfParams
from field_app.store.log import Checkpoint, entry_hash, sign_entry
from field_app.store.schema import APPEND_ONLY_TABLES
from field_app.store.verify import verify_store
from tests.unit.store.conftest import HENGTAI, KANGNING, WANG, raw_connection, reopen


class Evidence:
    """A closed store with cases, forms, a correction, three media files and checkpoints."""

    def __init__(self, store, data_dir):
        self.dir = data_dir
        self.key = bytes(store._data_key)
        case = store.add_case(**HENGTAI)
        store.add_case(**KANGNING)
        video = store.put_media(io.BytesIO(random.Random(1).randbytes(2_600_000)), media_type="video/mp4")
        photo = store.put_media(io.BytesIO(random.Random(2).randbytes(400_000)), media_type="image/jpeg")
        self.video_seq = store.append("capture.segment", {"index": 0, "seconds": 10}, media=[video.sha256]).seq
        for i in range(8):
            store.append("form.2-5", {"page": i + 1, "text": f"检查情况第{i + 1}段"})
        store.checkpoint()
        self.photo_seq = store.append("photo", {"caption": "考勤表"}, media=[photo.sha256]).seq
        store.correct_case(case.record_id, reason="名称更正", party_name="石家庄恒泰建筑劳务有限责任公司")
        for i in range(5):
            store.append("form.2-7", {"问": f"问题{i}", "答": f"回答{i}"})
        self.video = store.media_path(video.sha256)
        self.photo = store.media_path(photo.sha256)
        self.size = store.size
        store.close()
        assert problems(self) == [], "the store must verify clean before tampering"

    def rel(self, path) -> str:
        return str(path.relative_to(self.dir))

    def sql(self) -> sqlcipher3.Connection:
        """The database with the key and without the append-only triggers."""
        conn = raw_connection(self.dir, self.key)
        for table in APPEND_ONLY_TABLES:
            conn.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
            conn.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
        return conn


def problems(ev: Evidence, known: Checkpoint | None = None) -> list[tuple]:
    found = verify_store(ev.dir, WANG[3], officer=WANG[1], known_checkpoint=known)
    for p in found:
        assert p.message and not p.message.isascii(), p  # a Chinese sentence for people
    return [(p.kind, p.seq, p.file) for p in found]


@pytest.fixture
def ev(store, data_dir) -> Evidence:
    return Evidence(store, data_dir)


def _flip(path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x04
    path.write_bytes(bytes(data))


def _row(conn, seq: int) -> dict:
    cur = conn.execute("SELECT * FROM log WHERE seq = ?", (seq,))
    return dict(zip([d[0] for d in cur.description], cur.fetchone()))


def _device_key(conn) -> Ed25519PrivateKey:
    raw = conn.execute("SELECT value FROM meta WHERE key = 'device_private_key'").fetchone()[0]
    return Ed25519PrivateKey.from_private_bytes(bytes(raw))


def _hash(row: dict, prev: bytes) -> bytes:
    return entry_hash(prev_hash=prev, entry_type=row["entry_type"], record_id=row["record_id"],
                      supersedes=row["supersedes"], payload_json=row["payload"].encode(),
                      media=json.loads(row["media"]), officers=json.loads(row["officer_certs"]),
                      wall_time=row["wall_time"], mono_time=row["mono_time"])


# --- media -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("where", ["header", "first chunk", "middle", "last chunk", "trailer"])
def test_a_flipped_bit_in_a_media_file(ev, where):
    size = ev.video.stat().st_size
    offset = {"header": 10, "first chunk": 100, "middle": size // 2, "last chunk": size - 200,
              "trailer": size - 5}[where]
    _flip(ev.video, offset)
    assert problems(ev) == [("media_corrupt", ev.video_seq, ev.rel(ev.video))]


def _chunks(path) -> tuple[int, int]:
    """(offset of encrypted chunk 0, length of one full encrypted chunk) of a vault file."""
    magic, _file_id, chunk_size, meta_len = struct.unpack(">8s16sIH", path.read_bytes()[:30])
    assert magic == b"FRVAULT1"
    return 30 + meta_len, chunk_size + 16


def test_two_chunks_of_a_media_file_swapped(ev):
    # 2.6 MB video: two full 1 MiB chunks, then the last one. Swapping whole, individually valid
    # chunks must fail: each chunk's index is bound into its nonce and associated data.
    start, full = _chunks(ev.video)
    data = bytearray(ev.video.read_bytes())
    first, second = data[start:start + full], data[start + full:start + 2 * full]
    data[start:start + full], data[start + full:start + 2 * full] = second, first
    ev.video.write_bytes(bytes(data))
    assert problems(ev) == [("media_corrupt", ev.video_seq, ev.rel(ev.video))]


def test_a_chunk_taken_from_another_media_file(ev, data_dir):
    # Another recording's first chunk, valid under the same data key, pasted over the video's first
    # chunk: the file id in the associated data and per-file key give it away.
    store = reopen(data_dir)
    other = store.put_media(io.BytesIO(random.Random(3).randbytes(1_500_000)), media_type="video/mp4")
    store.append("capture.segment", {"index": 1, "seconds": 10}, media=[other.sha256])
    other_path = store.media_path(other.sha256)
    store.close()
    assert problems(ev) == []
    start, full = _chunks(ev.video)
    other_start, other_full = _chunks(other_path)
    assert other_full == full
    data = bytearray(ev.video.read_bytes())
    data[start:start + full] = other_path.read_bytes()[other_start:other_start + full]
    ev.video.write_bytes(bytes(data))
    assert problems(ev) == [("media_corrupt", ev.video_seq, ev.rel(ev.video))]


def test_a_media_file_replaced_by_another_valid_one(ev):
    shutil.copyfile(ev.photo, ev.video)
    assert problems(ev) == [("media_replaced", ev.video_seq, ev.rel(ev.video))]


def test_a_deleted_media_file(ev):
    ev.photo.unlink()
    assert problems(ev) == [("media_missing", ev.photo_seq, ev.rel(ev.photo))]


def test_a_truncated_media_file(ev):
    with open(ev.video, "r+b") as fh:
        fh.truncate(ev.video.stat().st_size - 1_048_592)  # one whole encrypted chunk less
    assert problems(ev) == [("media_corrupt", ev.video_seq, ev.rel(ev.video))]


# --- entries ---------------------------------------------------------------------------------------

def test_the_database_itself_refuses_edits_and_deletes(ev):
    conn = raw_connection(ev.dir, ev.key)
    for sql in ("UPDATE log SET payload = '{}' WHERE seq = 5", "DELETE FROM log WHERE seq = 5",
                "DELETE FROM media", "UPDATE checkpoints SET tree_size = 1"):
        with pytest.raises(sqlcipher3.IntegrityError, match="证据只能追加"):
            conn.execute(sql)
    conn.close()
    assert problems(ev) == []


def test_an_entry_edited_through_raw_sql(ev):
    conn = ev.sql()
    conn.execute("UPDATE log SET payload = replace(payload, '检查情况第3段', '检查情况第3段（已补充）') WHERE seq = 9")
    conn.close()
    assert problems(ev) == [("entry_altered", 9, None)]


def test_an_entry_edited_and_resigned_with_the_device_key(ev):
    # The insider also recomputes the entry's hash and signs it: the next entry's link gives it away.
    conn = ev.sql()
    row = _row(conn, 9)
    row["payload"] = row["payload"].replace("第3段", "第三段")
    new_hash = _hash(row, bytes(row["prev_hash"]))
    conn.execute("UPDATE log SET payload = ?, entry_hash = ?, signature = ? WHERE seq = 9",
                 (row["payload"], new_hash, sign_entry(_device_key(conn), new_hash)))
    conn.close()
    assert problems(ev) == [("chain_broken", 10, None)]


def test_an_entry_deleted_through_raw_sql(ev):
    conn = ev.sql()
    conn.execute("DELETE FROM log WHERE seq = 8")
    conn.close()
    assert problems(ev) == [("entry_missing", 8, None)]


def test_an_entry_deleted_and_the_rest_renumbered(ev):
    conn = ev.sql()
    conn.execute("DELETE FROM log WHERE seq = 8")
    for seq in range(9, ev.size + 1):
        conn.execute("UPDATE log SET seq = ? WHERE seq = ?", (seq - 1, seq))
    conn.execute("UPDATE log_head SET size = size - 1")
    conn.close()
    assert problems(ev) == [("chain_broken", 8, None)]


@pytest.mark.parametrize("signed", [True, False], ids=["signed-with-device-key", "forged-signature"])
def test_an_entry_inserted_in_the_middle(ev, signed):
    conn = ev.sql()
    before = _row(conn, 10)
    forged = dict(before, payload=json.dumps({"page": 99, "text": "事后补写的内容"}, ensure_ascii=False,
                                             separators=(",", ":"), sort_keys=True))
    forged_hash = _hash(forged, bytes(before["entry_hash"]))
    signature = sign_entry(_device_key(conn), forged_hash) if signed else os.urandom(64)
    for seq in range(ev.size, 10, -1):
        conn.execute("UPDATE log SET seq = ? WHERE seq = ?", (seq + 1, seq))
    conn.execute("INSERT INTO log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 (11, forged["entry_type"], None, None, forged["payload"], forged["media"], forged["officer_certs"],
                  before["entry_hash"], forged_hash, forged["wall_time"] + 1, forged["mono_time"] + 1, signature))
    conn.execute("UPDATE log_head SET size = size + 1")
    conn.close()
    # One problem, on the inserted entry: not a broken link after it, not a checkpoint mismatch, not
    # the case index whose sequence numbers shifted.
    assert problems(ev) == [("entry_inserted", 11, None)]


def test_the_log_truncated_at_the_end(ev):
    conn = ev.sql()
    conn.execute("DELETE FROM log WHERE seq > ?", (ev.size - 3,))
    conn.close()
    assert problems(ev) == [("log_truncated", ev.size - 2, None)]


def test_the_log_truncated_and_its_head_moved_back_is_caught_by_the_checkpoint(ev):
    conn = ev.sql()
    conn.execute("DELETE FROM log WHERE seq > ?", (ev.size - 3,))
    last = conn.execute("SELECT entry_hash FROM log WHERE seq = ?", (ev.size - 3,)).fetchone()[0]
    conn.execute("UPDATE log_head SET size = ?, head_hash = ?", (ev.size - 3, last))
    conn.close()
    assert problems(ev) == [("log_truncated", ev.size - 2, None)]


def test_a_database_restored_from_an_older_copy(ev, data_dir):
    backup = data_dir.parent / "backup.db"
    shutil.copyfile(data_dir / "evidence.db", backup)
    store = reopen(data_dir)
    for i in range(4):
        store.append("form.2-7", {"问": f"追问{i}", "答": "…"})
    receipt = store.checkpoint()  # e.g. HQ's sync receipt, or `field-app checkpoint --out`
    store.close()
    shutil.copyfile(backup, data_dir / "evidence.db")
    # Without an outside checkpoint an older copy looks like a valid store (it was one):
    assert problems(ev) == []
    assert problems(ev, known=receipt) == [("store_rolled_back", ev.size + 1, None)]


def test_history_rewritten_consistently_is_caught_only_by_a_known_checkpoint(ev, data_dir):
    store = reopen(data_dir)
    receipt = store.checkpoint()
    store.close()
    conn = ev.sql()
    key = _device_key(conn)
    prev = bytes(_row(conn, 5)["entry_hash"])
    for seq in range(6, ev.size + 1):  # rewrite entry 6 and re-chain, re-sign everything after it
        row = _row(conn, seq)
        if seq == 6:
            row["payload"] = row["payload"].replace("10", "20")
        hashed = _hash(row, prev)
        conn.execute("UPDATE log SET payload = ?, prev_hash = ?, entry_hash = ?, signature = ? WHERE seq = ?",
                     (row["payload"], prev, hashed, sign_entry(key, hashed), seq))
        prev = hashed
    conn.execute("UPDATE log_head SET head_hash = ?", (prev,))
    conn.execute("DELETE FROM checkpoints")
    conn.close()
    assert problems(ev) == []  # internally consistent: this is what HQ receipts are for
    assert problems(ev, known=receipt) == [("history_rewritten", None, None)]


def test_a_known_checkpoint_from_another_store_is_named_as_such(ev, data_dir):
    store = reopen(data_dir)
    cp = store.checkpoint()
    store.close()
    other = Checkpoint("0" * 32, cp.tree_size, cp.root_hash, cp.wall_time, cp.device_public_key, cp.signature)
    assert problems(ev, known=other) == [("known_checkpoint_foreign", None, None)]


# --- indexes and header ----------------------------------------------------------------------------

def test_the_case_index_edited_to_mislead_search(ev):
    conn = ev.sql()
    seq = conn.execute("SELECT latest_seq FROM cases WHERE case_no = ?", (KANGNING["case_no"],)).fetchone()[0]
    conn.execute("UPDATE cases SET party_name = '别的医院' WHERE case_no = ?", (KANGNING["case_no"],))
    conn.close()
    assert problems(ev) == [("index_mismatch", seq, None)]


def test_an_unlock_key_for_an_officer_who_was_never_enrolled(ev):
    header = read_header(ev.dir)
    header.officers.append(OfficerWrap("13010299999999", os.urandom(16), KdfParams(), os.urandom(60)))
    write_header(ev.dir, header)
    assert problems(ev) == [("officer_unknown", None, "store.json")]


def test_a_damaged_database_page(ev):
    db = ev.dir / "evidence.db"
    _flip(db, db.stat().st_size - 2000)  # inside the last page, away from the file header
    found = verify_store(ev.dir, WANG[3], officer=WANG[1])
    assert {p.kind for p in found} == {"db_corrupt"}  # and no made-up consequences
    assert any("page" in p.message for p in found)
