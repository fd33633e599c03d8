"""Playback of a synced recording: the joined MP4, HTTP Range (206) and seeking, audit of plays."""

from __future__ import annotations

import io

import av
import pytest

from tests.web.conftest import audit_rows, login


@pytest.fixture
def video_url(synced_demo):
    return f"/media/recording/{synced_demo.device_a}/{synced_demo.recording_id}.mp4"


def test_the_joined_mp4_decodes_and_lasts_as_long_as_the_recording(client, video_url, synced_demo, web_hq):
    login(client, "wang")
    whole = client.get(video_url)
    assert whole.status_code == 200 and whole.headers["content-type"] == "video/mp4"
    assert whole.headers["accept-ranges"] == "bytes"
    with av.open(io.BytesIO(whole.content)) as container:
        kinds = {s.type: s.codec_context.name for s in container.streams}
        assert kinds == {"video": "h264", "audio": "aac"}
        assert abs(container.duration / 1e6 - synced_demo.recording_seconds) < 0.6
        frames = sum(1 for _ in container.decode(video=0))
    assert frames >= int(synced_demo.recording_seconds * 15 * 0.9)  # 15 fps, nothing dropped in the join
    assert whole.content[4:8] == b"ftyp" and whole.content.find(b"moov") < whole.content.find(b"mdat")  # faststart
    plays = [e for e in audit_rows(web_hq, "play") if e["username"] == "wang"]
    assert plays and plays[0]["target"] == f"recording:{synced_demo.device_a}/{synced_demo.recording_id}"


def test_range_requests_answer_206_and_seeking_returns_the_right_bytes(client, video_url, web_hq):
    login(client, "unit_a")
    whole = client.get(video_url).content
    size = len(whole)
    first = client.get(video_url, headers={"Range": "bytes=0-1023"})
    assert first.status_code == 206
    assert first.headers["content-range"] == f"bytes 0-1023/{size}"
    assert first.content == whole[:1024]
    middle = size // 2
    seek = client.get(video_url, headers={"Range": f"bytes={middle}-{middle + 65535}"})
    assert seek.status_code == 206 and seek.headers["content-range"] == f"bytes {middle}-{middle + 65535}/{size}"
    assert seek.content == whole[middle:middle + 65536]
    tail = client.get(video_url, headers={"Range": f"bytes={size - 100}-"})
    assert tail.status_code == 206 and tail.content == whole[-100:]
    assert client.get(video_url, headers={"Range": f"bytes={size + 10}-"}).status_code == 416
    plays_before = len(audit_rows(web_hq, "play"))
    client.get(video_url, headers={"Range": f"bytes={middle}-"})  # a seek is not a new play
    assert len(audit_rows(web_hq, "play")) == plays_before


def test_seeking_into_the_middle_of_the_video_decodes_from_there(client, video_url, synced_demo):
    login(client, "wang")
    data = client.get(video_url).content
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        target = synced_demo.recording_seconds / 2
        container.seek(int(target / stream.time_base), stream=stream)
        frame = next(container.decode(stream))
        assert abs(frame.time - target) < 2.5  # lands on the keyframe at or before the middle


def test_the_join_is_cached_and_rebuilt_only_when_segments_change(client, video_url, synced_demo, web_hq):
    from sync.server.web.playback import joined_mp4

    first = joined_mp4(web_hq, synced_demo.device_a, synced_demo.recording_id)
    again = joined_mp4(web_hq, synced_demo.device_a, synced_demo.recording_id)
    assert first == again and first.is_file() and "web-cache" in str(first)
