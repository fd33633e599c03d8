"""CPU cost of the full recording pipeline vs a bare PyAV encode of the same frames, in one run.

    .venv/bin/python -m bench.capture [--seconds 20] [--width 1280 --height 720 --fps 30]

Pipeline: a RecordingSession into a real encrypted store (private gnome-keyring as in the tests) with
the synthetic camera and microphone paced in real time — capture, watermark, H.264/AAC encode,
segmenting, AES-GCM into the vault, SHA-256, log entries. Figure: process CPU seconds per recorded
second, and whether it kept up (frames encoded vs expected, dropped frames).
Baseline: the same synthetic frames (generated before timing) and tone encoded with the same PyAV
settings into one Matroska file, fed at the same real-time pace (a camera delivers 30 frames a second;
x264's threads cost more when woken per frame than when fed flat out, and that cost is not ours):
CPU seconds per second of material.
Rounds alternate baseline and pipeline (other load on the machine hits both alike); medians are used.
Target: pipeline / baseline ≤ 1.3, real time, 0 dropped frames. Exit code 1 if missed.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

TARGET = 1.3
OFFICERS = [("王建国", "13010220170031", "长安区人社局劳动保障监察大队", "wang-jianguo-2026"),
            ("刘晓燕", "13010220190047", "长安区人社局劳动保障监察大队", "liu-xiaoyan-2026")]


def pipeline(data_dir: Path, settings, seconds: float) -> dict:
    from field_app.capture.session import RecordingSession
    from field_app.capture.sources import SyntheticAudio, SyntheticVideo
    from field_app.store import Store
    from field_app.store.escrow import generate_hq_keypair

    store = Store.create(data_dir, officers=OFFICERS, hq_public_key=generate_hq_keypair()[1])
    try:
        session = RecordingSession(store, case_no="长人社监〔2026〕第0117号", place="御景苑二期项目工地",
                                   matter="工资支付情况检查",
                                   video=SyntheticVideo(settings.width, settings.height, settings.fps),
                                   audio=SyntheticAudio(), settings=settings)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        session.start()
        session.confirm_notice()
        time.sleep(seconds)
        result = session.stop()
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    finally:
        store.close()
    return {"cpu_per_s": cpu / wall, "wall": wall, "frames": result["video_frames"],
            "expected": int(wall * settings.fps), "dropped": result["video_dropped"] + result["audio_dropped"],
            "segments": result["segments"]}


def bare_encode(settings, seconds: float, paced: bool = True) -> dict:
    from field_app.capture.sources import SyntheticAudio, SyntheticVideo

    video = SyntheticVideo(settings.width, settings.height, settings.fps)
    frames = [video.frame_at(i) for i in range(settings.fps)]
    tone = SyntheticAudio().samples(0, settings.audio_rate)
    n_frames = int(seconds * settings.fps)
    out = io.BytesIO()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    with av.open(out, "w", format="matroska") as container:
        v = container.add_stream("libx264", rate=settings.fps)
        v.width, v.height, v.pix_fmt = settings.width, settings.height, "yuv420p"
        v.bit_rate = settings.video_bitrate
        v.codec_context.gop_size = settings.fps
        v.codec_context.options = {"preset": settings.preset, "tune": "zerolatency"}
        a = container.add_stream("aac", rate=settings.audio_rate, layout="mono")
        a.bit_rate = settings.audio_bitrate
        frame_size, apts = 1024, 0
        per_frame = settings.audio_rate // settings.fps
        pending = np.zeros(0, np.float32)
        for i in range(n_frames):
            if paced:
                delay = i / settings.fps - (time.perf_counter() - wall0)
                if delay > 0:
                    time.sleep(delay)
            frame = av.VideoFrame.from_ndarray(frames[i % len(frames)], format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, settings.fps)
            container.mux(v.encode(frame))
            start = (i * per_frame) % len(tone)
            pending = np.concatenate([pending, tone[start:start + per_frame]])
            while len(pending) >= frame_size:
                af = av.AudioFrame.from_ndarray(pending[None, :frame_size].copy(), format="fltp", layout="mono")
                af.sample_rate, af.pts, af.time_base = settings.audio_rate, apts, Fraction(1, settings.audio_rate)
                apts += frame_size
                pending = pending[frame_size:]
                container.mux(a.encode(af))
        container.mux(v.encode(None))
        container.mux(a.encode(None))
    cpu = time.process_time() - cpu0
    return {"cpu_per_s": cpu / seconds, "bytes": out.tell()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--fps", type=int, default=30)
    args = parser.parse_args(argv)

    from field_app.capture.encoder import EncoderSettings
    from tests.harness.daemons import private_keyring

    settings = EncoderSettings(width=args.width, height=args.height, fps=args.fps)
    bases, pipes = [], []
    with tempfile.TemporaryDirectory() as tmp, private_keyring(Path(tmp)):
        for round_no in range(args.rounds):
            bases.append(bare_encode(settings, args.seconds))
            pipes.append(pipeline(Path(tmp) / f"data{round_no}", settings, args.seconds))
    base = {"cpu_per_s": statistics.median(b["cpu_per_s"] for b in bases)}
    pipe = dict(min(pipes, key=lambda p: abs(p["cpu_per_s"] - statistics.median(q["cpu_per_s"] for q in pipes))))
    pipe["cpu_per_s"] = statistics.median(p["cpu_per_s"] for p in pipes)
    pipe["dropped"] = sum(p["dropped"] for p in pipes)
    realtime_all = all(p["frames"] >= p["expected"] - settings.fps // 2 for p in pipes)
    ratio = pipe["cpu_per_s"] / base["cpu_per_s"]
    realtime = realtime_all
    print(f"capture bench: {settings.width}x{settings.height}@{settings.fps}, {args.rounds} rounds of {args.seconds:.0f} s")
    print(f"  bare PyAV encode     {base['cpu_per_s']:.3f} CPU-s per recorded s (paced, median)")
    print(f"  full pipeline        {pipe['cpu_per_s']:.3f} CPU-s per recorded s "
          f"(median; {pipe['frames']} of ~{pipe['expected']} frames, {pipe['dropped']} dropped in all rounds, "
          f"{pipe['segments']} segments)")
    print(f"  ratio                {ratio:.2f}x (target <= {TARGET}x); real time: {'yes' if realtime else 'NO'}")
    return 0 if ratio <= TARGET and realtime and pipe["dropped"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
