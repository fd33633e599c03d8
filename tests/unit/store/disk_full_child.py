"""Runs inside a private mount namespace on a small tmpfs (see test_disk_full.py): fills the disk while
writing entries and a media stream, then checks that nothing acknowledged was lost, that the errors were
plain Chinese, and that after space is freed the cut media comes back and work goes on.

Prints one JSON line with what it saw; the test asserts on it.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

from field_app.store import DiskFull, Store
from field_app.store.escrow import generate_hq_keypair
from field_app.store.verify import verify_store
from tests.harness.streams import GeneratedStream, prefix_digest
from tests.unit.store.conftest import HENGTAI, WANG


def main(root: Path) -> dict:
    ballast = root / "ballast.bin"
    ballast.write_bytes(b"\0" * 600_000)  # freed at the end, as a user would delete something
    data_dir = root / "data"
    store = Store.create(data_dir, officers=[WANG], hq_public_key=generate_hq_keypair()[1])
    store.add_case(**HENGTAI)
    acked: dict[int, str] = {}
    media_acked = []
    errors = []
    for i in range(10_000):  # 1.5 MB segments, each followed by form autosaves, until the disk is full
        try:
            ref = store.put_media(GeneratedStream(1_500_000, seed=i), media_type="video/mp4")
            media_acked.append(ref.sha256)
            entry = store.append("capture.segment", {"index": i}, media=[ref.sha256])
            acked[entry.seq] = entry.entry_hash.hex()
            for page in range(3):
                entry = store.append("form.autosave", {"segment": i, "page": page, "text": "检查情况" * 50})
                acked[entry.seq] = entry.entry_hash.hex()
        except DiskFull as exc:
            errors.append(str(exc))
            cut_seed = i
            break
    for i in range(100_000):  # then small form entries until even those do not fit
        try:
            entry = store.append("form.autosave", {"i": i, "text": "询问笔录第" + str(i) + "页" * 200})
            acked[entry.seq] = entry.entry_hash.hex()
        except DiskFull as exc:
            errors.append(str(exc))
            break
    lost_in_session = [s for s, h in acked.items() if store.entry(s).entry_hash.hex() != h]
    store.close()  # its checkpoint may not fit: closing must still work

    reopened = Store.open(data_dir)
    reopened.unlock(WANG[1], WANG[3])
    lost_after_reopen = [s for s, h in acked.items() if (e := reopened.entry(s)) is None or e.entry_hash.hex() != h]
    media_missing = [sha for sha in media_acked if reopened.media_info(sha) is None]
    problems_full = [str(p) for p in verify_store(reopened)]

    ballast.unlink()
    recovered = reopened.recover_partials()
    recovered_ok = all(r.sha256 == prefix_digest(cut_seed, r.size) for r in recovered)
    after = reopened.append("note", {"text": "清理磁盘后继续记录"})
    problems_after = [str(p) for p in verify_store(reopened)]
    reopened.close()
    return {"errors": errors, "acked": len(acked), "media_acked": len(media_acked),
            "lost_in_session": lost_in_session, "lost_after_reopen": lost_after_reopen,
            "media_missing": media_missing, "problems_full": problems_full, "recovered": [r.size for r in recovered],
            "recovered_ok": recovered_ok, "appended_after": after.seq, "problems_after": problems_after}


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1])), ensure_ascii=False))
