"""Crash harness for the evidence store: a real process writing entries and media is killed with SIGKILL
at a random moment, then the store is opened and checked.

Runs are cheap: the officer's key wrap uses a low Argon2id cost (real Argon2id, real keyring; this
test is about durability, not the KDF — test_unlock covers the production cost), and children start
fast: a "zygote" process imports everything once (``python -m tests.harness.store_crash``)
and forks one child per run on request; the test kills that child by its pid. The child does the real
work from scratch: opens the store, unlocks it (Argon2id, OS keyring), then two threads write — one
autosaving forms, one storing video segments (alternately pulled from a stream by ``put_media`` and
pushed through ``media_writer``) and logging them — like the app while recording. Each call
that returned is acknowledged in an append-only ack file *after* it returned, so after the kill every
acknowledged entry and media file must be in the store.

Used by tests/unit/store/test_crash.py (200 runs) and bench/store_crash.py (the full count).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.harness.streams import GeneratedStream, prefix_digest

OFFICER = ("王建国", "13010220170031", "长安区人社局劳动保障监察大队", "wang-jianguo-2026")
REPO_ROOT = Path(__file__).resolve().parent.parent.parent
CHEAP_KDF_ARGS = dict(memory_kib=8192, time_cost=1, parallelism=1)


# --- the child (runs in a forked process) ----------------------------------------------------------

def _child(data_dir: str, ack_path: str, seed: int) -> None:
    from field_app.store import Store

    fd = os.open(ack_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    def ack(line: str) -> None:
        os.write(fd, (line + "\n").encode())

    rng = random.Random(seed)
    store = Store.open(Path(data_dir))
    store.unlock(OFFICER[1], OFFICER[3])
    ack("R")

    def forms() -> None:
        for i in range(100_000):
            entry = store.append("form.autosave", {"run": seed, "i": i, "text": "检查情况：" + "现场" * rng.randint(1, 40)},
                                 record_id=None)
            ack(f"E {entry.seq} {entry.entry_hash.hex()}")
            time.sleep(rng.uniform(0.001, 0.004))

    def capture() -> None:
        for i in range(100_000):
            media_seed = seed * 1000 + i
            size = rng.choice([rng.randint(1, 200_000), rng.randint(200_000, 1_300_000)])
            ack(f"P {media_seed} {size}")  # intent: a partial of this may be left behind
            if i % 2:  # pull: the store reads a stream
                ref = store.put_media(GeneratedStream(size, media_seed), media_type="video/mp4")
            else:  # push: the producer writes pieces as it makes them (the video encoder's way)
                source, writer = GeneratedStream(size, media_seed), store.media_writer("video/x-matroska",
                                                                                      chunk_size=32 * 1024)
                while piece := source.read(rng.randint(1_000, 60_000)):
                    writer.write(piece)
                ref = writer.close()
            ack(f"M {ref.sha256}")
            entry = store.append("capture.segment", {"run": seed, "index": i, "bytes": size}, media=[ref.sha256])
            ack(f"E {entry.seq} {entry.entry_hash.hex()}")
            time.sleep(rng.uniform(0.005, 0.02))

    threads = [threading.Thread(target=forms, daemon=True), threading.Thread(target=capture, daemon=True)]
    for t in threads:
        t.start()
    time.sleep(10)  # never reached in a run: the test kills us long before


def zygote() -> None:
    """Read one JSON request per line; fork a child for each; report "pid N" then "exit N STATUS"."""
    import keyring

    import field_app.store.store  # noqa: F401 - load everything the child needs before forking
    import field_app.store.verify  # noqa: F401

    keyring.get_keyring()  # resolve the backend once (the children reuse the choice)
    out = sys.stdout
    for line in sys.stdin:
        request = json.loads(line)
        out.flush()
        pid = os.fork()
        if pid == 0:
            try:
                _child(request["data_dir"], request["ack"], request["seed"])
            finally:
                os._exit(0)
        out.write(f"pid {pid}\n")
        out.flush()
        _, status = os.waitpid(pid, 0)
        out.write(f"exit {pid} {status}\n")
        out.flush()


# --- the test side ---------------------------------------------------------------------------------

class Zygote:
    """A pre-loaded process that forks one child per request. ``module`` is run with ``-m`` and must
    answer requests like ``zygote()`` here does (tests.harness.capture_crash reuses this class)."""

    def __init__(self, env: dict[str, str], module: str = "tests.harness.store_crash") -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", module], cwd=REPO_ROOT, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)

    def start(self, data_dir: Path, ack: Path, seed: int = 0) -> int:
        self.proc.stdin.write(json.dumps({"data_dir": str(data_dir), "ack": str(ack), "seed": seed}) + "\n")
        self.proc.stdin.flush()
        word, pid = self.proc.stdout.readline().split()
        assert word == "pid", word
        return int(pid)

    def reaped(self, pid: int) -> int:
        word, reaped, status = self.proc.stdout.readline().split()
        assert word == "exit" and int(reaped) == pid
        return int(status)

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


@dataclass
class Acks:
    ready: bool = False
    entries: dict[int, str] = field(default_factory=dict)
    media: set[str] = field(default_factory=set)
    in_flight: tuple[int, int] | None = None  # (seed, size) of a media write that did not finish

    @classmethod
    def read(cls, path: Path) -> "Acks":
        acks = cls()
        text = path.read_text() if path.exists() else ""
        for line in text.split("\n")[:-1]:  # a last line without "\n" was cut by the kill: not acked
            kind, *rest = line.split()
            if kind == "R":
                acks.ready = True
            elif kind == "E":
                acks.entries[int(rest[0])] = rest[1]
            elif kind == "P":
                acks.in_flight = (int(rest[0]), int(rest[1]))
            elif kind == "M":
                acks.media.add(rest[0])
                acks.in_flight = None
        return acks


@dataclass
class RunResult:
    killed_before_ready: bool
    entries_acked: int
    media_acked: int
    partial_recovered: int


def kill_and_check(zygote: Zygote, data_dir: Path, work: Path, seed: int, rng: random.Random) -> RunResult:
    """One run: fork a writer, SIGKILL it at a random moment, then open the store and check everything.

    Raises AssertionError with a description if anything acknowledged is missing or the verifier
    finds a problem.
    """
    from field_app.store import Store
    from field_app.store.verify import verify_store

    ack = work / f"ack-{seed}.txt"
    pid = zygote.start(data_dir, ack, seed)
    if rng.random() < 0.15:
        time.sleep(rng.uniform(0, 0.03))  # lands while it is still opening / unlocking, or just after
    else:
        # Kill after a random number of acknowledged entries (then a random few ms more), not after a
        # random time: on a loaded machine the child writes slowly, and a time-based kill would land
        # early in every run, proving less (and making the suite's "kills landed in every phase"
        # checks depend on the load).
        target = rng.randint(0, 24)
        deadline = time.monotonic() + 60
        while True:
            seen = Acks.read(ack)
            if seen.ready and len(seen.entries) >= target:
                break
            assert time.monotonic() < deadline, f"child never became ready / acknowledged {target} entries"
            time.sleep(0.002)
        time.sleep(rng.uniform(0, 0.03))
    os.kill(pid, signal.SIGKILL)
    status = zygote.reaped(pid)
    acks = Acks.read(ack)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, f"run {seed}: child ended by itself"

    store = Store.open(data_dir)
    store.unlock(OFFICER[1], OFFICER[3])
    try:
        for seq, hashed in acks.entries.items():
            entry = store.entry(seq)
            assert entry is not None, f"run {seed}: acknowledged entry {seq} lost"
            assert entry.entry_hash.hex() == hashed, f"run {seed}: entry {seq} differs after the crash"
        for sha in acks.media:
            assert store.media_info(sha) is not None, f"run {seed}: acknowledged media {sha[:12]} lost"
        recovered = store.recover_partials()
        for ref in recovered:  # a cut write gives back exactly a prefix of what was being written
            assert acks.in_flight is not None, f"run {seed}: a partial appeared with no write in flight"
            media_seed, size = acks.in_flight
            assert ref.size <= size and ref.sha256 == prefix_digest(media_seed, ref.size), f"run {seed}: bad partial"
        problems = verify_store(store)
        assert problems == [], f"run {seed}: verifier found {[str(p) for p in problems]}"
    finally:
        store.close()
    ack.unlink(missing_ok=True)
    return RunResult(not acks.ready, len(acks.entries), len(acks.media), len(recovered))


def run_many(runs: int, root: Path, env: dict[str, str], *, runs_per_store: int = 25, seed: int = 0,
             hq_public_key: bytes, progress=None) -> list[RunResult]:
    """``runs`` kill-and-check cycles; a fresh store every ``runs_per_store`` runs (each store lives
    through that many crashes, and verifying stays fast)."""
    import shutil

    from field_app.store import Store
    from field_app.store.keys import KdfParams

    CHEAP_KDF = KdfParams(**CHEAP_KDF_ARGS)
    rng = random.Random(seed)
    results: list[RunResult] = []
    zygote = Zygote(env)
    try:
        for start in range(0, runs, runs_per_store):
            data_dir = root / f"store-{start}"
            Store.create(data_dir, officers=[OFFICER], hq_public_key=hq_public_key, kdf=CHEAP_KDF).close()
            for run in range(start, min(start + runs_per_store, runs)):
                results.append(kill_and_check(zygote, data_dir, root, seed * 100_000 + run + 1, rng))
                if progress:
                    progress(run + 1, results[-1])
            shutil.rmtree(data_dir)  # our own scratch store: keep the disk use bounded
    finally:
        zygote.close()
    return results


if __name__ == "__main__":
    zygote()
