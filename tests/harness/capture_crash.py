"""Crash harness for recording: a real process records (synthetic camera and tone, real encoder,
real encrypted store) and is killed with SIGKILL at a random moment; then the store is opened, the
recording recovered and checked.

Children are forked from a zygote that imported PyAV, numpy and the store once (like
tests/harness/store_crash.py). The child acknowledges in an append-only file: "R" when recording
(notice confirmed), "F <t>" for every frame the encoder has muxed (t on the recording clock).
Used by tests/unit/capture/test_crash.py and bench/capture_crash.py (the full count).
"""

from __future__ import annotations

import json
import os
import random
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests.harness import store_crash

OFFICER = ("王建国", "13010220170031", "长安区人社局劳动保障监察大队", "wang-jianguo-2026")
REPO_ROOT = Path(__file__).resolve().parent.parent.parent
CHEAP_KDF_ARGS = dict(memory_kib=8192, time_cost=1, parallelism=1)
WIDTH, HEIGHT, FPS, BITRATE = 640, 360, 30, 1_000_000


def _still_video_class():
    from field_app.capture.sources import SyntheticVideo

    class StillVideo(SyntheticVideo):
        """The test pattern without the moving bar and clock: a camera on a tripod in a quiet room."""

        def frame_at(self, index: int):
            return self.background.copy()

    return StillVideo


def _child(data_dir: str, ack_path: str) -> None:
    from field_app.capture.encoder import EncoderSettings
    from field_app.capture.session import RecordingSession
    from field_app.capture.sources import SyntheticAudio, SyntheticVideo
    from field_app.store import Store

    StillVideo = _still_video_class()

    fd = os.open(ack_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    store = Store.open(Path(data_dir))
    store.unlock(OFFICER[1], OFFICER[3])
    settings = EncoderSettings(width=WIDTH, height=HEIGHT, fps=FPS, video_bitrate=BITRATE, segment_seconds=1.0)
    # FIELD_CRASH_SCENE=static: a still picture (only the burned-in watermark changes, once a second) —
    # encoded far below the bitrate, the hardest case for the loss bound.
    video = (StillVideo if os.environ.get("FIELD_CRASH_SCENE") == "static" else SyntheticVideo)(WIDTH, HEIGHT, FPS)
    session = RecordingSession(store, case_no="长人社监〔2026〕第0142号", place="长安区广安大街 55 号 财务室",
                               matter="社会保险基金检查（封存）", video=video,
                               audio=SyntheticAudio(), settings=settings)
    clock = session.clock
    session.recorder.preview = lambda frame: os.write(fd, f"F {clock.now():.3f}\n".encode())
    session.start()
    session.confirm_notice()
    os.write(fd, b"R\n")
    time.sleep(60)  # never reached: the test kills us long before


def zygote() -> None:
    """One JSON request per line → fork a child; report "pid N" and later "exit N STATUS"."""
    import av  # noqa: F401 - load everything the child needs before forking
    import keyring
    import numpy  # noqa: F401

    import field_app.capture.recordings  # noqa: F401
    import field_app.capture.session  # noqa: F401
    import field_app.store.store  # noqa: F401

    keyring.get_keyring()
    for line in sys.stdin:
        request = json.loads(line)
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            try:
                _child(request["data_dir"], request["ack"])
            finally:
                os._exit(0)
        sys.stdout.write(f"pid {pid}\n")
        sys.stdout.flush()
        _, status = os.waitpid(pid, 0)
        sys.stdout.write(f"exit {pid} {status}\n")
        sys.stdout.flush()


class Zygote(store_crash.Zygote):
    def __init__(self, env: dict[str, str]) -> None:
        super().__init__(env, module="tests.harness.capture_crash")


@dataclass
class RunResult:
    last_frame: float  # last acknowledged frame time (recording clock)
    recovered_until: float  # end of what the store holds after recovery
    segments: int
    truncated: int

    @property
    def lost(self) -> float:
        return max(0.0, self.last_frame - self.recovered_until)


def _acks(path: Path) -> tuple[bool, float]:
    ready, last = False, 0.0
    text = path.read_text() if path.exists() else ""
    for line in text.split("\n")[:-1]:
        if line == "R":
            ready = True
        elif line.startswith("F "):
            last = float(line[2:])
    return ready, last


def make_store(data_dir: Path, hq_public: bytes) -> None:
    from field_app.store import Store
    from field_app.store.keys import KdfParams

    Store.create(data_dir, officers=[OFFICER], hq_public_key=hq_public, kdf=KdfParams(**CHEAP_KDF_ARGS)).close()


def kill_and_check(zygote: Zygote, data_dir: Path, ack: Path, rng: random.Random,
                   min_s: float = 0.2, max_s: float = 1.5) -> RunResult:
    """Record, SIGKILL at a random moment, recover, verify. AssertionError describes any failure."""
    from field_app.capture.recordings import list_recordings, recover_recordings
    from field_app.store import Store
    from field_app.store.verify import verify_report

    pid = zygote.start(data_dir, ack)
    deadline = time.monotonic() + 20
    while not _acks(ack)[0]:
        assert time.monotonic() < deadline, "child never started recording"
        time.sleep(0.005)
    time.sleep(rng.uniform(min_s, max_s))
    os.kill(pid, signal.SIGKILL)
    status = zygote.reaped(pid)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, "child ended by itself"
    _, last_frame = _acks(ack)

    store = Store.open(data_dir)
    store.unlock(OFFICER[1], OFFICER[3])
    try:
        closed = recover_recordings(store)
        assert len(closed) == 1, f"expected the killed recording to be closed by recovery, got {closed}"
        report = verify_report(store)
        assert report.errors == [], "verifier errors after recovery: " + "; ".join(map(str, report.errors))
        [info] = list_recordings(store)
        assert any(g.get("cause") == "crash" for g in info.gaps), "no crash gap logged"
        assert info.stop and info.stop.get("ended_by") == "crash_recovery"
        until = max((s["end"] for s in info.segments), default=0.0)
        truncated = sum(1 for s in info.segments if s.get("recovered"))
        assert recover_recordings(store) == [], "recovery is not idempotent"
    finally:
        store.close()
    return RunResult(last_frame, until, len(info.segments), truncated)


if __name__ == "__main__":
    zygote()
