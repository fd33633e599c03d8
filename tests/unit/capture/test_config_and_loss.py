"""Capture configuration, and a camera that is unplugged mid-recording."""

from __future__ import annotations

import json
import time

import pytest

from field_app.capture.config import CaptureConfigError, load_capture_config
from field_app.capture.encoder import EncoderSettings
from field_app.capture.recordings import list_recordings
from field_app.capture.session import RecordingSession
from field_app.capture.sources import CameraVideo, MicrophoneAudio, SyntheticAudio, SyntheticVideo
from field_app.store.verify import verify_report
from tests.unit.store.conftest import KANGNING


def test_defaults_without_a_file(tmp_path):
    config = load_capture_config(tmp_path)
    assert config.encoder == EncoderSettings()
    video, audio = config.sources()
    assert isinstance(video, CameraVideo) and isinstance(audio, MicrophoneAudio)


def test_synthetic_and_settings_from_the_file(tmp_path):
    (tmp_path / "capture.json").write_text(json.dumps(
        {"camera": "synthetic", "microphone": "synthetic", "width": 640, "height": 360, "segment_seconds": 5}))
    config = load_capture_config(tmp_path)
    video, audio = config.sources()
    assert isinstance(video, SyntheticVideo) and (video.width, video.height) == (640, 360)
    assert isinstance(audio, SyntheticAudio) and config.encoder.segment_seconds == 5


@pytest.mark.parametrize("content, words", [
    ("{not json", "无法读取"), ('{"camera": 0, "colour": "red"}', "无法识别"), ('{"width": 641}', "偶数"),
    ('{"segment_seconds": 600}', "1 到 60"),
])
def test_broken_files_are_refused_in_chinese(tmp_path, content, words):
    (tmp_path / "capture.json").write_text(content)
    with pytest.raises(CaptureConfigError, match=words):
        load_capture_config(tmp_path)


class UnpluggedCamera(SyntheticVideo):
    """The synthetic camera, unplugged from 1.0 s to 2.2 s: no frames, then 'lost' and 'restored'
    reported exactly as CameraVideo does."""

    def start(self, clock, on_frame, on_status):
        state = {"lost": False}

        def frame_gate(t, frame):
            if 1.0 <= t < 2.2:
                if not state["lost"]:
                    state["lost"] = True
                    on_status("lost", "摄像头 /dev/video0 无画面")
                return
            if state["lost"]:
                state["lost"] = False
                on_status("restored", "摄像头 /dev/video0 恢复")
            on_frame(t, frame)

        super().start(clock, frame_gate, on_status)


def test_camera_unplugged_mid_recording_is_a_logged_gap(store):
    session = RecordingSession(store, case_no=KANGNING["case_no"], place="长安区广安大街 55 号 财务室",
                               matter="社会保险基金检查", video=UnpluggedCamera(320, 240), audio=SyntheticAudio(),
                               settings=EncoderSettings(width=320, height=240, segment_seconds=1))
    session.start()
    session.confirm_notice()
    time.sleep(3.5)
    session.stop()
    [info] = list_recordings(store)
    [gap] = info.gaps
    assert gap["cause"] == "lost" and "摄像头" in gap["detail"] and 0.9 <= gap["offset"] <= 1.5
    kinds = [e.entry_type for e in store.record_versions(session.recording_id)]
    assert "recording.source_restored" in kinds
    report = verify_report(store)
    assert report.errors == []
    assert any(p.kind == "recording_gap" and p.severity == "notice" for p in report.problems)
