"""Reading HQ's state directly (its database and blob files) to compare it with the laptop's."""

from __future__ import annotations

import hashlib
import json

from sync.server.blobstore import FileBlobStore
from sync.server.db import open_database


def hq_state(hq) -> dict:
    """Everything that defines what HQ holds (not bookkeeping like nonces, last-seen times)."""
    db = open_database(hq.data_dir, hq.db)
    try:
        with db.transaction() as tx:
            state = {
                "entries": tx.all("SELECT device_id, seq, entry_type, record_id, supersedes, payload, media, officers, "
                                  "prev_hash, entry_hash, wall_ns, mono_ns, signature FROM entries ORDER BY device_id, seq"),
                "blob_refs": tx.all("SELECT device_id, sha256, first_seq FROM blob_refs ORDER BY device_id, sha256"),
                "blobs": tx.all("SELECT sha256, size FROM blobs ORDER BY sha256"),
                "uploads": tx.all("SELECT device_id, sha256, size, acked FROM uploads ORDER BY device_id, sha256"),
                "receipts": tx.all("SELECT device_id, size, body FROM receipts ORDER BY device_id, size"),
                "devices": tx.all("SELECT device_id, public_key, department, head_size, head_hash, frontier FROM devices "
                                  "ORDER BY device_id"),
                "codes": tx.all("SELECT code_hash, used_by FROM enrolment_codes ORDER BY code_hash"),
            }
    finally:
        db.close()
    blobs = FileBlobStore(hq.data_dir)
    state["files"] = {sha: blobs.hash_blob(sha) for sha in blobs.iter_blobs()}
    state["partials"] = sorted(str(p.relative_to(hq.data_dir)) for p in (hq.data_dir / "uploads").rglob("*.part"))
    return state


def assert_hq_holds_everything(hq, store) -> dict:
    """HQ has exactly the laptop's log (every field), every referenced blob with the right content,
    nothing twice, nothing half-uploaded. Returns the HQ state."""
    state = hq_state(hq)
    laptop = [e.to_json() for e in store.entries_after(0, 1_000_000)]
    assert [row[1] for row in state["entries"]] == list(range(1, len(laptop) + 1))
    for row, entry in zip(state["entries"], laptop):
        assert row[0] == store.store_id
        assert (row[2], row[3], row[4], row[5], json.loads(row[6]), json.loads(row[7]), row[8], row[9], row[10],
                row[11], row[12]) == (entry["type"], entry["record"], entry["supersedes"], entry["payload"],
                                      entry["media"], entry["officers"], entry["prev"], entry["hash"], entry["wall"],
                                      entry["mono"], entry["signature"])
    referenced = {sha for e in laptop for sha in e["media"]}
    assert set(state["files"]) >= referenced
    for sha in referenced:
        assert state["files"][sha] == sha  # content hashes to its name
        with store.open_media(sha) as fh:
            assert hashlib.sha256(fh.read()).hexdigest() == sha
    assert len(state["blobs"]) == len({b[0] for b in state["blobs"]}) == len(state["files"])
    assert state["uploads"] == [] and state["partials"] == []
    return state
