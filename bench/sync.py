"""Sync benchmarks, each against a baseline measured in the same run.

    .venv/bin/python -m bench.sync [--gib 1] [--files 16] [--devices 200] [--batches 5] [--entries 50]
                                   [--skip-goodput] [--skip-load]

1. Goodput: a real store holding ``--gib`` GiB of media (``--files`` recordings) syncs to a real HQ
   (``field-hq serve``, SQLite, loopback). Baseline: ``curl -T`` of the same plaintext bytes to a plain
   streaming endpoint of the same server (``serve --enable-raw-upload``), measured before and after the
   sync (mean of the two). Goodput = media bytes / wall time. Target: sync ≥ 0.8 × raw. Also printed:
   CPU seconds per GiB of the sender (curl, or this process for the sync) and of HQ, against what the
   machine's cores offered in that wall time — sender and HQ share this machine's cores.
2. Load: ``--devices`` simulated devices (own Ed25519 keys and hash chains, built with sync.protocol)
   enrol, then push ``--batches`` batches of ``--entries`` entries each, all at once, against HQ on a
   throwaway PostgreSQL database; then each asks for a receipt. Reports errors (target 0) and the
   per-batch latency p50 / p99 / max.

Exit code 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

TARGET_RATIO = 0.8
GIB = 1 << 30


def goodput(root: Path, gib: float, files: int) -> float:
    from field_app.store import Store
    from field_app.store.escrow import generate_hq_keypair
    from sync.client import SyncConfig, SyncSession, enrol
    from tests.harness.hq import HQProcess, setup_hq

    private, public = generate_hq_keypair()
    size = int(gib * GIB) // files
    plain = root / "plain"
    plain.mkdir()
    paths = []
    for i in range(files):
        path = plain / f"seg{i:03d}.mkv"
        with open(path, "wb") as fh:
            for _ in range(size // (8 << 20)):
                fh.write(os.urandom(8 << 20))
            fh.write(os.urandom(size % (8 << 20)))
        paths.append(path)
    total = size * files
    store = Store.create(root / "laptop", officers=[("王建国", "13010220170031", "监察大队", "bench-pass-2026")],
                         hq_public_key=public)
    try:
        for i, path in enumerate(paths):
            sha = store.put_media(path, media_type="video/x-matroska").sha256
            store.append("capture.segment", {"index": i}, record_id="rec-bench", media=[sha])
        setup_hq(root / "hq", public, None, "监察大队", (("王建国", "13010220170031"),))
        hq = HQProcess(root / "hq", extra=("--enable-raw-upload",)).start()
        try:
            cpu: dict[str, list[float]] = {"raw": [0.0, 0.0, 0.0], "sync": [0.0, 0.0, 0.0]}

            def raw() -> float:
                before = _cpu_marks(hq.proc.pid)
                start = time.perf_counter()
                for path in paths:
                    subprocess.run(["curl", "-sS", "-f", "-o", "/dev/null", "-T", str(path),
                                    f"{hq.url}/v1/bench/raw-upload"], check=True, timeout=600)
                took = time.perf_counter() - start
                _add_cpu(cpu["raw"], before, _cpu_marks(hq.proc.pid), 0.5)
                return took

            raw_before = raw()
            code = hq.admin("enrolment-code", "--department", "监察大队").strip()
            enrol(store, root / "laptop", hq.url, code)
            config = SyncConfig.load(root / "laptop")
            before = _cpu_marks(hq.proc.pid)
            start = time.perf_counter()
            result = SyncSession(store, root / "laptop", config, prune=False).run()
            sync_s = time.perf_counter() - start
            _add_cpu(cpu["sync"], before, _cpu_marks(hq.proc.pid), 1.0)
            raw_after = raw()
        finally:
            hq.stop()
    finally:
        store.close()
    if not result.ok:
        print(f"sync failed: {result.message}")
        return 0.0
    raw_s = (raw_before + raw_after) / 2
    ratio = raw_s / sync_s
    mib = total / (1 << 20)
    print(f"goodput: {mib:.0f} MiB in {files} files over loopback")
    print(f"  raw curl upload   {raw_before:6.2f} s / {raw_after:6.2f} s  → {mib / raw_s:7.1f} MiB/s (mean)")
    print(f"  field-app sync    {sync_s:6.2f} s                → {mib / sync_s:7.1f} MiB/s "
          f"({result.entries_sent} entries, {result.blobs_uploaded} blobs, receipt over {result.receipt_size})")
    cores = os.cpu_count() or 1
    for name, (client, server, wall) in cpu.items():  # where the time goes: CPU-bound when near the total
        print(f"  CPU s per GiB, {name:4s}: sender {client / (total / GIB):5.2f}  HQ {server / (total / GIB):5.2f}  "
              f"(of {cores * wall / (total / GIB):5.2f} on {cores} cores)")
    print(f"  ratio sync/raw    {ratio:.2f}x  (target ≥ {TARGET_RATIO}x: {'met' if ratio >= TARGET_RATIO else 'NOT met'})")
    return ratio


def _cpu_marks(hq_pid: int) -> tuple[float, float, float]:
    """(CPU seconds of this process + its finished children — curl —, CPU seconds of HQ, wall time)."""
    own = os.times()
    with open(f"/proc/{hq_pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (own.user + own.system + own.children_user + own.children_system,
            (int(fields[11]) + int(fields[12])) / ticks, time.perf_counter())


def _add_cpu(into: list[float], before: tuple, after: tuple, weight: float) -> None:
    for i in range(3):
        into[i] += (after[i] - before[i]) * weight


class SimDevice:
    """A simulated laptop: an Ed25519 key, a store id, a hash chain built with sync.protocol."""

    def __init__(self, index: int, escrow_public: bytes) -> None:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        from sync.protocol import sealedbox

        self.key = Ed25519PrivateKey.generate()
        self.public = self.key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.store_id = f"sim{index:04d}" + os.urandom(6).hex()
        self.escrow = sealedbox.seal(escrow_public, os.urandom(32), self.store_id.encode())
        self.seq, self.prev = 0, None
        self.latencies: list[float] = []
        self.errors: list[str] = []

    def sign(self, domain: bytes, message: bytes) -> bytes:
        return self.key.sign(domain + message)

    def entries(self, n: int) -> list[dict]:
        from sync.protocol import chain
        from sync.protocol.canonical import canonical_json

        out = []
        for _ in range(n):
            self.seq += 1
            prev = self.prev or chain.genesis_hash(self.store_id)
            payload = canonical_json({"i": self.seq, "text": "问：你单位有多少名职工？答：现有职工四十二人。" * 4}).decode()
            wall, mono = time.time_ns(), time.monotonic_ns()
            hashed = chain.entry_hash(prev_hash=prev, entry_type="form.2-7", record_id=None, supersedes=None,
                                      payload_json=payload.encode(), media=[], officers=["13010220170031"],
                                      wall_time=wall, mono_time=mono)
            out.append({"seq": self.seq, "type": "form.2-7", "record": None, "supersedes": None, "payload": payload,
                        "media": [], "officers": ["13010220170031"], "prev": prev.hex(), "hash": hashed.hex(),
                        "wall": wall, "mono": mono, "signature": self.sign(chain.ENTRY_DOMAIN, hashed).hex()})
            self.prev = hashed
        return out


def load(root: Path, devices: int, batches: int, entries: int) -> bool:
    from sync.client.transport import Transport
    from sync.protocol import auth
    from sync.protocol.canonical import canonical_json
    from sync.server import admin
    from sync.server.db import open_database
    from tests.harness.hq import HQProcess, ThrowawayDatabase, postgres_available, setup_hq

    reason = postgres_available()
    if reason:
        print(f"load: skipped ({reason})")
        return False
    from sync.protocol.sealedbox import public_bytes
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    escrow_public = public_bytes(X25519PrivateKey.generate())
    with ThrowawayDatabase() as dsn:
        setup_hq(root / "hq-load", escrow_public, dsn, "监察大队")
        db = open_database(root / "hq-load", dsn)
        codes = [admin.new_enrolment_code(db, "监察大队") for _ in range(devices)]
        db.close()
        sims = [SimDevice(i, escrow_public) for i in range(devices)]
        hq = HQProcess(root / "hq-load", dsn).start()
        try:
            for sim, code in zip(sims, codes):
                t = Transport(hq.url)
                request = {"v": 1, "code": code, "device_id": sim.store_id, "device_key": sim.public.hex(),
                           "escrow": sim.escrow, "name": "sim", "officers": [], "time_ms": t.now_ms()}
                request["proof"] = sim.sign(auth.ENROL_DOMAIN, canonical_json(request)).hex()
                t.request("POST", "/v1/enrol", json.dumps(request).encode(), signed=False)
                t.close()
            start_gate = threading.Barrier(devices)

            def run(sim: SimDevice) -> None:
                t = Transport(hq.url, device_id=sim.store_id, signer=lambda m: sim.sign(auth.REQUEST_DOMAIN, m),
                              timeout=120)
                bodies = [json.dumps({"v": 1, "entries": sim.entries(entries)}).encode() for _ in range(batches)]
                start_gate.wait(timeout=120)
                try:
                    for body in bodies:
                        t0 = time.perf_counter()
                        answer = t.request("POST", "/v1/entries", body)
                        sim.latencies.append(time.perf_counter() - t0)
                        if answer["accepted"] != entries:
                            sim.errors.append(f"accepted {answer['accepted']}")
                    receipt = t.request("POST", "/v1/receipt", b'{"v": 1}')
                    if receipt["covered"] != batches * entries:
                        sim.errors.append(f"receipt covers {receipt['covered']}")
                except Exception as exc:  # noqa: BLE001 - counted as an error
                    sim.errors.append(f"{type(exc).__name__}: {exc}")
                finally:
                    t.close()

            threads = [threading.Thread(target=run, args=(s,)) for s in sims]
            t0 = time.perf_counter()
            for th in threads:
                th.start()
            for th in threads:
                th.join(timeout=900)
            wall = time.perf_counter() - t0
        finally:
            hq.stop()
    latencies = sorted(x for s in sims for x in s.latencies)
    errors = [e for s in sims for e in s.errors]
    p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
    total = devices * batches * entries
    print(f"load: {devices} devices × {batches} batches × {entries} entries against PostgreSQL, all at once")
    print(f"  {total} entries in {wall:.1f} s ({total / wall:.0f} entries/s); errors: {len(errors)}"
          + (f" e.g. {errors[0]}" if errors else ""))
    if latencies:
        print(f"  per-batch latency p50 {p(0.5):.0f} ms, p99 {p(0.99):.0f} ms, max {latencies[-1] * 1000:.0f} ms "
              f"(mean {statistics.mean(latencies) * 1000:.0f} ms)")
    return not errors and len(latencies) == devices * batches


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gib", type=float, default=1.0)
    parser.add_argument("--files", type=int, default=16)
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--entries", type=int, default=50)
    parser.add_argument("--skip-goodput", action="store_true")
    parser.add_argument("--skip-load", action="store_true")
    args = parser.parse_args(argv)
    from tests.harness.daemons import SecretService

    ok = True
    with tempfile.TemporaryDirectory(prefix="bench-sync-") as tmp:
        root = Path(tmp)
        if not args.skip_goodput:
            service = SecretService(root / "keyring").start()
            os.environ["DBUS_SESSION_BUS_ADDRESS"] = service.bus_address
            try:
                ok &= goodput(root, args.gib, args.files) >= TARGET_RATIO
            finally:
                service.stop()
        if not args.skip_load:
            ok &= load(root, args.devices, args.batches, args.entries)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
