"""Capture settings from the data directory's ``capture.json`` (written by IT or the settings page).

Example::

    {"camera": "/dev/video0", "microphone": null, "width": 1280, "height": 720, "fps": 30,
     "video_bitrate": 2000000, "segment_seconds": 10}

``camera`` / ``microphone``: a device path or index, ``null`` for the system default, or
``"synthetic"`` for the marked test sources (demo, training, IT checks without hardware). A broken
file is an error with a Chinese message, never a silent fallback to defaults: recording with the wrong
camera is worse than not starting.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path

from field_app.capture.encoder import EncoderSettings

CONFIG_NAME = "capture.json"
SYNTHETIC = "synthetic"


class CaptureConfigError(ValueError):
    """``str(exc)`` is Chinese."""


@dataclass(frozen=True)
class CaptureConfig:
    camera: str | int | None = None
    microphone: str | int | None = None
    encoder: EncoderSettings = EncoderSettings()

    def sources(self):
        """(video source, audio source) as configured."""
        from field_app.capture.sources import CameraVideo, MicrophoneAudio, SyntheticAudio, SyntheticVideo

        s = self.encoder
        video = (SyntheticVideo(s.width, s.height, s.fps) if self.camera == SYNTHETIC
                 else CameraVideo(0 if self.camera is None else self.camera, s.width, s.height, s.fps))
        audio = (SyntheticAudio(s.audio_rate) if self.microphone == SYNTHETIC
                 else MicrophoneAudio(self.microphone, s.audio_rate))
        return video, audio


def load_capture_config(data_dir: Path) -> CaptureConfig:
    path = Path(data_dir) / CONFIG_NAME
    if not path.exists():
        return CaptureConfig()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(raw, dict):
            raise ValueError("not an object")
    except (OSError, ValueError) as exc:
        raise CaptureConfigError(f"录像设置文件 {path} 无法读取（{exc}），请联系信息技术人员修正。") from exc
    known = {f.name for f in fields(EncoderSettings)}
    unknown = set(raw) - known - {"camera", "microphone"}
    if unknown:
        raise CaptureConfigError(f"录像设置文件 {path} 中有无法识别的项目：{'、'.join(sorted(unknown))}。")
    try:
        encoder = EncoderSettings(**{k: raw[k] for k in known if k in raw})
    except TypeError as exc:
        raise CaptureConfigError(f"录像设置文件 {path} 有误（{exc}）。") from exc
    for name in ("width", "height", "fps", "video_bitrate"):
        value = getattr(encoder, name)
        if not isinstance(value, int) or value <= 0:
            raise CaptureConfigError(f"录像设置文件 {path} 中 {name} 必须是正整数。")
    if encoder.width % 2 or encoder.height % 2:
        raise CaptureConfigError(f"录像设置文件 {path} 中的分辨率必须是偶数（H.264 要求）。")
    if not 1 <= float(encoder.segment_seconds) <= 60:
        raise CaptureConfigError(f"录像设置文件 {path} 中 segment_seconds 必须在 1 到 60 秒之间。")
    return CaptureConfig(raw.get("camera"), raw.get("microphone"), encoder)
