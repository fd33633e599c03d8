"""Shared pieces for capture tests: a directory sink and ffprobe/PyAV readers."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import av
import numpy as np

from field_app.capture.encoder import ClosedSegment


class DirectorySink:
    """Writes segment i to ``dir/seg00000.mkv``; records what ``end`` was told. A plain-file sink for
    testing the pipeline itself (the store's vault sink is tested with the store)."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.ended: list[ClosedSegment] = []

    def path(self, index: int) -> Path:
        return self.dir / f"seg{index:05d}.mkv"

    def begin(self, index: int):
        return open(self.path(index), "wb")

    def end(self, index: int, writer, segment: ClosedSegment) -> None:
        writer.close()
        self.ended.append(segment)


def ffprobe(path: Path) -> dict:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout
    return json.loads(out)


def decoded_audio(path: Path) -> tuple[np.ndarray, int]:
    """All audio of a media file as mono float32 samples and the rate."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        chunks = [frame.to_ndarray()[0] for frame in container.decode(stream)]
        return np.concatenate(chunks).astype(np.float32), stream.rate


def dominant_hz(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum))])


def keyframe_times(path: Path) -> list[float]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return [float(p.pts * p.time_base) for p in container.demux(stream) if p.is_keyframe and p.pts is not None]
