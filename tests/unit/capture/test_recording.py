"""Recording end to end with the synthetic camera and a real PulseAudio microphone."""

from __future__ import annotations

import errno
import threading
import time

import numpy as np
import pytest

from field_app.capture.encoder import EncoderSettings
from field_app.capture.join import join_segments
from field_app.capture.recorder import Recorder
from field_app.capture.sources import MicrophoneAudio, SyntheticAudio, SyntheticVideo
from field_app.capture.watermark import WatermarkInfo
from tests.unit.capture.helpers import DirectorySink, decoded_audio, dominant_hz, ffprobe, keyframe_times

INFO = WatermarkInfo("FR-TEST", ("13010220170031", "13010220190047"), "长人社监〔2026〕第0117号", test_source=True)


def test_thirty_seconds_with_the_real_microphone_join_into_one_playable_mp4(tmp_path, audio_env):
    sink = DirectorySink(tmp_path / "segments")
    statuses = []
    recorder = Recorder(EncoderSettings(segment_seconds=10), SyntheticVideo(), MicrophoneAudio(), sink,
                        watermark=INFO, on_status=lambda k, d: statuses.append((k, d)))
    recorder.start()
    time.sleep(30)
    stats = recorder.stop()
    assert recorder.error is None, recorder.error
    assert stats.video_dropped == 0 and stats.audio_dropped == 0, statuses
    assert [s.index for s in sink.ended] == [0, 1, 2, 3][: len(sink.ended)] and len(sink.ended) >= 3

    joined = tmp_path / "joined.mp4"
    join_segments([open(sink.path(s.index), "rb") for s in sink.ended], joined)
    info = ffprobe(joined)
    kinds = sorted(s["codec_type"] for s in info["streams"])
    assert kinds == ["audio", "video"]
    assert abs(float(info["format"]["duration"]) - 30) <= 0.5
    starts = {s["codec_type"]: float(s["start_time"]) for s in info["streams"]}
    assert abs(starts["video"] - starts["audio"]) < 0.040
    video = next(s for s in info["streams"] if s["codec_type"] == "video")
    assert (video["codec_name"], video["width"], video["height"]) == ("h264", 1280, 720)
    # The microphone's 440 Hz sine is what was recorded.
    samples, rate = decoded_audio(joined)
    assert float(np.sqrt(np.mean(samples**2))) > 0.05
    assert abs(dominant_hz(samples[rate:rate * 3], rate) - 440) < 5


def test_segments_start_on_keyframes_with_one_every_second(tmp_path):
    sink = DirectorySink(tmp_path)
    recorder = Recorder(EncoderSettings(width=640, height=360, segment_seconds=2), SyntheticVideo(640, 360),
                        SyntheticAudio(), sink)
    recorder.start()
    time.sleep(5)
    recorder.stop()
    assert len(sink.ended) >= 2
    for seg in sink.ended:
        keys = keyframe_times(sink.path(seg.index))
        assert keys and abs(keys[0] - seg.start) < 0.002, "a segment starts with a keyframe (Matroska: ms)"
        assert all(b - a <= 1.0 + 1e-6 for a, b in zip(keys, keys[1:]))
        assert abs((seg.end - seg.start) - 2) < 0.1 or seg is sink.ended[-1]
    # consecutive segments are contiguous on the recording clock
    for a, b in zip(sink.ended, sink.ended[1:]):
        assert abs(b.start - a.end) < 0.05


def test_segment_hash_is_the_hash_of_the_bytes_on_disk(tmp_path):
    import hashlib

    sink = DirectorySink(tmp_path)
    recorder = Recorder(EncoderSettings(width=320, height=240, segment_seconds=1), SyntheticVideo(320, 240),
                        SyntheticAudio(), sink)
    recorder.start()
    time.sleep(2.5)
    recorder.stop()
    for seg in sink.ended:
        data = sink.path(seg.index).read_bytes()
        assert seg.size == len(data) and seg.sha256 == hashlib.sha256(data).hexdigest()


class StallingSink(DirectorySink):
    """A sink whose writes block until released: the encoder stalls, capture must not."""

    def __init__(self, directory):
        super().__init__(directory)
        self.release = threading.Event()

    def begin(self, index):
        raw = super().begin(index)
        release = self.release

        class Slow:
            def write(self, b):
                release.wait()
                return raw.write(b)

            def flush(self):
                raw.flush()

            def close(self):
                raw.close()

        return Slow()


def test_dropped_frames_are_counted_and_reported_never_silent(tmp_path):
    sink = StallingSink(tmp_path)
    statuses = []
    recorder = Recorder(EncoderSettings(width=320, height=240), SyntheticVideo(320, 240), SyntheticAudio(), sink,
                        queue_seconds=0.5, on_status=lambda k, d: statuses.append((k, d)))
    recorder.start()
    time.sleep(2)
    sink.release.set()
    stats = recorder.stop()
    assert stats.video_dropped > 0
    assert any(kind == "dropped" and "丢弃" in detail for kind, detail in statuses)


class DiskFullSink(DirectorySink):
    """The second segment hits ENOSPC after a few kilobytes, as a full disk would."""

    def begin(self, index):
        raw = super().begin(index)
        if index == 0:
            return raw

        class Full:
            written = 0

            def write(self, b):
                Full.written += len(b)
                if Full.written > 20_000:
                    raise OSError(errno.ENOSPC, "No space left on device")
                return raw.write(b)

            def flush(self):
                raw.flush()

            def close(self):
                raw.close()

        return Full()


def test_disk_full_stops_with_a_chinese_message_and_keeps_closed_segments(tmp_path):
    sink = DiskFullSink(tmp_path)
    statuses = []
    recorder = Recorder(EncoderSettings(width=320, height=240, segment_seconds=1), SyntheticVideo(320, 240),
                        SyntheticAudio(), sink, on_status=lambda k, d: statuses.append((k, d)))
    recorder.start()
    time.sleep(3)
    recorder.stop()
    assert recorder.error and "磁盘已满" in recorder.error
    assert ("error", recorder.error) in statuses
    assert sink.ended and sink.ended[0].index == 0
    assert ffprobe(sink.path(0))["streams"], "the segment closed before the disk filled still plays"


def test_missing_microphone_is_a_clear_error_and_nothing_keeps_running(tmp_path):
    from field_app.capture.sources import SourceError

    recorder = Recorder(EncoderSettings(width=320, height=240), SyntheticVideo(320, 240),
                        MicrophoneAudio(device="没有这个设备"), DirectorySink(tmp_path))
    with pytest.raises(SourceError, match="麦克风"):
        recorder.start()
    assert not [t for t in threading.enumerate() if t.name in {"encoder", "synthetic-video"}]
