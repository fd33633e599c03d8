"""The store workload with encryption vs the same code on an unkeyed database, measured in one run.

    .venv/bin/python -m bench.store [--entries 10000] [--rounds 3]

Workload (the app's, through the public Store API): open 200 cases, append N entries (form autosaves
with Chinese text, every tenth a correction of an earlier form), read every entry back, list
``entries_after`` from 50 random points (sync), and 300 searches (3+ characters: FTS5 trigram; 1–2:
LIKE). Baseline: ``Store._unkeyed_for_benchmark`` — the product code path with SQLCipher not keyed
(a test/bench-only factory; the product refuses such a database). Both run against a real OS keyring
(a private gnome-keyring, as in the tests) and the same disk; rounds alternate and the median is used.
Target: encrypted / unkeyed ≤ 1.3 on the total. Exit code 1 if above the target.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

TARGET = 1.3
OFFICER = ("王建国", "13010220170031", "长安区人社局劳动保障监察大队", "wang-jianguo-2026")
PARTIES = ["恒泰建筑劳务", "康宁民营医院", "御景苑置业", "北二环物流", "建北街道餐饮", "广安大街服装", "长安区家政服务",
           "石门机械制造", "中山路电子商务", "裕华保安服务"]
QUERIES = ["恒泰建筑", "康宁", "医", "第0117号", "9113010252", "劳务有限公司", "物流", "长人社监〔2026〕", "家政", "保"]


def workload(store, entries: int, rng: random.Random) -> dict[str, float]:
    times: dict[str, float] = {}
    t = time.perf_counter()
    for i in range(200):
        party = rng.choice(PARTIES)
        store.add_case(f"长人社监〔2026〕第{i:04d}号", f"石家庄{party}有限公司{i}", f"9113010252601{i:05d}",
                       legal_rep="陈卫东", address=f"长安区建设北大街 {i} 号")
    latest: dict[str, int] = {}
    for i in range(entries):
        record = f"form-{i % 500}"
        text = "检查情况：" + "".join(rng.choice("工资台账劳动合同考勤记录现金发放") for _ in range(rng.randint(20, 200)))
        if i % 10 == 9 and record in latest:
            latest[record] = store.append("form.2-5", {"page": i % 7, "text": text}, supersedes=latest[record]).seq
        elif record not in latest:
            latest[record] = store.append("form.2-5", {"page": i % 7, "text": text}, record_id=record).seq
        else:
            store.append("form.autosave", {"page": i % 7, "text": text})
    times["append"] = time.perf_counter() - t

    t = time.perf_counter()
    after, count = 0, 0
    while batch := store.entries_after(after, limit=1000):
        count += sum(len(e.payload) for e in batch)
        after = batch[-1].seq
    for record in list(latest)[:100]:
        store.record_versions(record)
    times["read back"] = time.perf_counter() - t

    t = time.perf_counter()
    for _ in range(50):
        store.entries_after(rng.randint(0, store.size), limit=1000)
    times["list after seq"] = time.perf_counter() - t

    t = time.perf_counter()
    for i in range(300):
        store.search(QUERIES[i % len(QUERIES)])
    times["search"] = time.perf_counter() - t
    return times


def one_round(kind: str, root: Path, entries: int, seed: int) -> dict[str, float]:
    from field_app.store import Store
    from field_app.store.escrow import generate_hq_keypair

    data_dir = root / f"{kind}-{seed}"
    factory = Store.create if kind == "encrypted" else Store._unkeyed_for_benchmark
    store = factory(data_dir, officers=[OFFICER], hq_public_key=generate_hq_keypair()[1])
    try:
        return workload(store, entries, random.Random(seed))
    finally:
        store.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    from tests.harness.daemons import SecretService

    with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp:
        root = Path(tmp)
        service = SecretService(root / "keyring").start()
        os.environ["DBUS_SESSION_BUS_ADDRESS"] = service.bus_address
        try:
            runs: dict[str, list[dict[str, float]]] = {"unkeyed": [], "encrypted": []}
            for r in range(args.rounds):
                for kind in (("unkeyed", "encrypted") if r % 2 == 0 else ("encrypted", "unkeyed")):
                    runs[kind].append(one_round(kind, root, args.entries, seed=r))
        finally:
            service.stop()
    phases = list(runs["unkeyed"][0])
    med = {k: {p: statistics.median(run[p] for run in v) for p in phases} for k, v in runs.items()}
    print(f"store workload: {args.entries} entries, 200 cases, median of {args.rounds} rounds "
          f"(encrypted = SQLCipher {_cipher_version()}, baseline = same code, unkeyed database)")
    print(f"{'phase':<16}{'unkeyed s':>11}{'encrypted s':>13}{'ratio':>8}")
    for p in phases:
        print(f"{p:<16}{med['unkeyed'][p]:>11.3f}{med['encrypted'][p]:>13.3f}{med['encrypted'][p] / med['unkeyed'][p]:>7.2f}x")
    total_u, total_e = sum(med["unkeyed"].values()), sum(med["encrypted"].values())
    ratio = total_e / total_u
    print(f"{'total':<16}{total_u:>11.3f}{total_e:>13.3f}{ratio:>7.2f}x   (target ≤ {TARGET}x: "
          f"{'met' if ratio <= TARGET else 'NOT met'})")
    return 0 if ratio <= TARGET else 1


def _cipher_version() -> str:
    import sqlcipher3

    return sqlcipher3.connect(":memory:").execute("PRAGMA cipher_version").fetchone()[0]


if __name__ == "__main__":
    sys.exit(main())
