"""Recording sessions into the real evidence store: entries, segment chain, export, tamper detection."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from field_app.capture.encoder import EncoderSettings
from field_app.capture.recordings import export_recording, list_recordings
from field_app.capture.session import NOTICE_TEXT, RecordingError, RecordingSession
from field_app.capture.sources import SyntheticAudio, SyntheticVideo
from field_app.store.verify import verify_store
from tests.unit.capture.helpers import ffprobe
from tests.unit.store.conftest import HENGTAI, LIU, WANG

SMALL = EncoderSettings(width=320, height=240, segment_seconds=1)


def new_session(store, **kw) -> RecordingSession:
    return RecordingSession(store, case_no=HENGTAI["case_no"], place="长安区北二环东路 88 号御景苑二期项目工地",
                            matter="工资支付情况检查", video=SyntheticVideo(320, 240), audio=SyntheticAudio(),
                            settings=SMALL, **kw)


def record(store, seconds: float = 3.2, pause: bool = False) -> RecordingSession:
    session = new_session(store)
    session.start()
    session.confirm_notice()
    session.mark("place_sign", "恒泰建筑 御景苑二期项目部")
    time.sleep(seconds / 2)
    if pause:
        session.pause("当事人要求暂停去取账本")
        time.sleep(0.6)
        session.resume()
    session.take_still("考勤表第 3 页")
    time.sleep(seconds / 2)
    session.stop()
    return session


def test_a_recording_is_a_chain_of_entries_in_the_log(store):
    session = record(store)
    entries = store.record_versions(session.recording_id)
    kinds = [e.entry_type for e in entries]
    assert kinds[0] == "recording.start" and kinds[-1] == "recording.stop"
    markers = [e.payload for e in entries if e.entry_type == "recording.marker"]
    assert markers[0]["kind"] == "notice" and markers[0]["note"] == NOTICE_TEXT
    segments = [e.payload for e in entries if e.entry_type == "recording.segment"]
    assert len(segments) >= 3
    assert [s["index"] for s in segments] == list(range(len(segments)))
    assert segments[0]["prev_segment_sha256"] == ""
    for before, after in zip(segments, segments[1:]):
        assert after["prev_segment_sha256"] == before["sha256"]
    assert entries[-1].payload["segments"] == len(segments)
    stills = [e for e in entries if e.entry_type == "recording.still"]
    assert stills and stills[0].media == (stills[0].payload["sha256"],)
    assert verify_store(store) == [] or all(p.kind in {"recording_pause"} for p in verify_store(store))


def test_export_joins_the_segments_into_a_playable_mp4(store, tmp_path):
    session = record(store, 3.0)
    out = tmp_path / "export.mp4"
    export_recording(store, session.recording_id, out)
    info = ffprobe(out)
    assert sorted(s["codec_type"] for s in info["streams"]) == ["audio", "video"]
    total = sum(s["end"] - s["start"] for s in (e.payload for e in store.record_versions(session.recording_id)
                                                 if e.entry_type == "recording.segment"))
    assert abs(float(info["format"]["duration"]) - total) < 0.3


def test_no_segment_is_ever_on_disk_in_plaintext(store, data_dir):
    record(store, 2.0)
    for path in data_dir.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert b"\x1a\x45\xdf\xa3" not in data and b"matroska" not in data, f"plaintext video in {path}"
            assert b"\xff\xd8\xff" not in data[:4], f"plaintext JPEG in {path}"


def test_pause_needs_a_reason_and_is_reported_by_the_verifier(store):
    session = new_session(store)
    session.start()
    session.confirm_notice()
    with pytest.raises(RecordingError, match="原因"):
        session.pause("  ")
    session.pause("当事人身体不适，休息十分钟")
    session.resume()
    session.stop()
    kinds = [p.kind for p in verify_store(store)]
    assert "recording_pause" in kinds


def test_recording_without_the_notice_is_flagged(store):
    session = new_session(store)
    session.start()
    time.sleep(1.2)
    session.stop()
    assert "notice_missing" in [p.kind for p in verify_store(store)]


def test_listing_names_case_place_segments(store):
    session = record(store, 2.0)
    [info] = list_recordings(store)
    assert info.recording_id == session.recording_id
    assert info.case_no == HENGTAI["case_no"] and "御景苑" in info.place
    assert info.notice_given and len(info.segments) >= 2 and info.duration > 1.5


def _segment_files(store, recording_id):
    return [(e.payload["index"], store.media_path(e.payload["sha256"]))
            for e in store.record_versions(recording_id) if e.entry_type == "recording.segment"]


# Deleting, swapping or replacing a segment is checked through `field-app verify` itself:
# tests/unit/capture/test_cli.py::test_tampered_segments_are_named_by_field_app_verify.


def test_a_procedure_joining_the_recording_is_logged_and_positioned(store):
    """One place, one recording: a second procedure joins with a logged offset, and the registry
    tells the engine where the recording is for each of them (and nothing after the stop)."""
    from field_app.capture.session import RecordingRegistry

    registry = RecordingRegistry()
    session = new_session(store, procedure_sessions=("proc-inspection",))
    registry.add(session)
    assert registry.position("proc-inspection") is None  # not started: nothing to point at
    session.start()
    session.confirm_notice()
    time.sleep(0.5)
    first = registry.position("proc-inspection")
    assert first["recording_id"] == session.recording_id and first["offset"] > 0.3
    assert registry.position("proc-questioning") is None
    session.join("proc-questioning")
    session.join("proc-questioning")  # twice: logged once
    joined = [e.payload for e in store.record_versions(session.recording_id) if e.entry_type == "recording.procedure"]
    assert [p["procedure_session"] for p in joined] == ["proc-questioning"] and joined[0]["offset"] >= first["offset"]
    later = registry.position("proc-questioning")
    assert later["recording_id"] == session.recording_id and later["offset"] >= joined[0]["offset"]
    session.stop()
    assert registry.position("proc-questioning") is None
    [info] = list_recordings(store)
    assert info.procedures == ["proc-inspection", "proc-questioning"]
    with pytest.raises(RecordingError):
        session.join("proc-late")  # a stopped recording covers nothing more


def test_microphone_overflows_are_counted_into_the_log(store):
    """PortAudio reports an input overflow (samples the driver lost): counted into the segment and
    stop entries, never silent — and not an entry per burst."""

    class OverflowingAudio(SyntheticAudio):
        def start(self, clock, on_audio, on_status):
            super().start(clock, on_audio, on_status)
            on_status("overflow", "麦克风数据溢出，部分声音丢失")
            on_status("overflow", "麦克风数据溢出，部分声音丢失")

    session = RecordingSession(store, case_no=HENGTAI["case_no"], place="长安区北二环东路 88 号御景苑二期项目工地",
                               matter="工资支付情况检查", video=SyntheticVideo(320, 240), audio=OverflowingAudio(),
                               settings=SMALL)
    session.start()
    session.confirm_notice()
    time.sleep(1.5)
    stop = session.stop()
    entries = store.record_versions(session.recording_id)
    segments = [e.payload for e in entries if e.entry_type == "recording.segment"]
    assert segments and segments[-1]["audio_overflows"] == 2
    assert stop["audio_overflows"] == 2
    assert not [e for e in entries if e.entry_type == "recording.gap"]  # lost samples are not a device loss
    notices = [p for p in verify_store(store) if p.kind == "audio_overflow"]
    assert len(notices) == 1 and "溢出 2 次" in notices[0].message and notices[0].severity == "notice"


def test_segments_stored_but_not_yet_logged_when_the_process_died_are_linked_on_recovery(store):
    """The crash window between a segment's vault file being installed and registered and its
    ``recording.segment`` entry: the segment is whole in the store but referenced by nothing.
    Recovery links it (complete, marked recovered) instead of losing up to a whole segment."""
    from field_app.capture.recordings import recover_recordings
    from field_app.store.verify import verify_report

    session = new_session(store)
    real = session.recorder.on_segment
    session.recorder.on_segment = lambda seg: real(seg) if seg.index == 0 else None  # "dies" before logging 1, 2 …
    session.start()
    session.confirm_notice()
    time.sleep(2.6)
    session.recorder.stop()  # the devices end as with a kill: no stop entry is written
    logged = [e.payload for e in store.record_versions(session.recording_id) if e.entry_type == "recording.segment"]
    assert [p["index"] for p in logged] == [0]
    assert recover_recordings(store) == [session.recording_id]
    [info] = list_recordings(store)
    assert [s["index"] for s in info.segments] == list(range(len(info.segments))) and len(info.segments) >= 3
    linked = info.segments[1:]
    assert all(s["recovered"] and s["complete"] for s in linked)
    assert info.segments[-1]["end"] > 2.4  # nothing of the recording is lost
    report = verify_report(store)
    assert report.errors == []
    assert any("终止后才登记" in str(p) for p in report.problems)
    assert recover_recordings(store) == []  # idempotent
