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


@pytest.mark.parametrize("tamper", ["delete", "swap", "replace"])
def test_tampered_segments_are_named_by_the_verifier(store, tamper):
    first = record(store, 3.2)
    other = record(store, 1.5)
    files = _segment_files(store, first.recording_id)
    (i0, f0), (i1, f1) = files[0], files[1]
    if tamper == "delete":
        f1.unlink()
    elif tamper == "swap":
        a, b = f0.read_bytes(), f1.read_bytes()
        f0.write_bytes(b)
        f1.write_bytes(a)
    else:  # a valid segment of another recording put in place of this one
        f1.write_bytes(_segment_files(store, other.recording_id)[0][1].read_bytes())
    problems = [p for p in verify_store(store) if p.kind.startswith("segment")]
    messages = " ".join(p.message for p in problems)
    assert first.recording_id in messages
    assert f"片段 {i1}" in messages
    if tamper == "swap":
        assert f"片段 {i0}" in messages
