"""Finding cameras and microphones (for `field-app doctor` and device selection).

Probing opens real devices: a camera must deliver a frame and a microphone must deliver samples to
count, because a /dev/video node or an ALSA alias that cannot record is worse than none — it lets an
officer believe the visit is being recorded.
"""

from __future__ import annotations

import glob
import os
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class Camera:
    ident: str  # "/dev/video0" on Linux, the index elsewhere
    width: int
    height: int


@dataclass(frozen=True)
class Microphone:
    index: int
    name: str
    is_default: bool
    level_dbfs: float | None  # measured on a short test read; None if not measured


class AudioUnavailable(RuntimeError):
    """PortAudio or the audio system is missing; ``str(exc)`` is Chinese."""


def find_cameras(max_index: int = 4) -> list[Camera]:
    """Cameras that opened and delivered one frame."""
    os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
    import cv2

    if sys.platform.startswith("linux"):
        candidates: list[tuple[str, object, int]] = [
            (path, path, cv2.CAP_V4L2) for path in sorted(glob.glob("/dev/video*"))
        ]
    else:
        backend = cv2.CAP_MSMF if sys.platform == "win32" else cv2.CAP_ANY
        candidates = [(str(i), i, backend) for i in range(max_index)]
    found = []
    for ident, source, api in candidates:
        cap = cv2.VideoCapture(source, api)
        try:
            if not cap.isOpened():
                continue
            ok, frame = cap.read()
            if ok and frame is not None:
                found.append(Camera(ident, int(frame.shape[1]), int(frame.shape[0])))
        finally:
            cap.release()
    return found


def _sounddevice():
    try:
        import sounddevice
    except OSError as exc:  # PortAudio library missing
        raise AudioUnavailable(f"找不到 PortAudio 音频库（{exc}）。请安装 libportaudio2。") from exc
    return sounddevice


def find_microphones(test_seconds: float = 0.3) -> list[Microphone]:
    """Input devices; the default one is opened and read for ``test_seconds`` to measure its level.

    Raises AudioUnavailable when the audio system itself is missing. A default device that fails to
    open is left out of the list (it cannot record).
    """
    sd = _sounddevice()
    import numpy as np

    try:
        devices = sd.query_devices()
        default_in = sd.default.device[0]
    except Exception as exc:
        raise AudioUnavailable(f"无法列出音频设备（{exc}）。") from exc
    mics = []
    for index, info in enumerate(devices):
        if info["max_input_channels"] <= 0:
            continue
        is_default = index == default_in
        level = None
        if is_default and test_seconds > 0:
            try:
                rate = int(info["default_samplerate"]) or 48000
                data = sd.rec(int(rate * test_seconds), samplerate=rate, channels=1,
                              dtype="float32", device=index)
                sd.wait()
                rms = float(np.sqrt(np.mean(np.square(data)))) if data.size else 0.0
                level = 20 * float(np.log10(rms)) if rms > 0 else float("-inf")
            except Exception:
                continue
        mics.append(Microphone(index, str(info["name"]), is_default, level))
    return mics
