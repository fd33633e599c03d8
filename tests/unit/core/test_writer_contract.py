"""The in-memory RecordWriter used by the engine's tests and the headless driver accepts and refuses
exactly what the real evidence store does — otherwise a procedure could pass its tests and then fail
on a laptop (or the reverse). The same calls run against both."""

from __future__ import annotations

import io

import pytest

from field_app.core.ports import MemoryWriter
from field_app.store.errors import InvalidInput
from tests.unit.store.conftest import data_dir, hq_keys, store  # noqa: F401 (fixtures)

REFUSED = (ValueError, InvalidInput)


@pytest.fixture(params=["memory", "store"])
def writer(request):
    if request.param == "memory":
        w = MemoryWriter()
        w.media = lambda data: __import__("hashlib").sha256(data).hexdigest()
        return w
    real = request.getfixturevalue("store")
    real.media = lambda data: real.put_media(io.BytesIO(data), media_type="image/jpeg").sha256
    return real


def _refused(call) -> bool:
    try:
        call()
    except REFUSED:
        return True
    return False


def test_versions_parts_and_refusals_are_the_same(writer):
    first = writer.append("draft", {"v": 1}, record_id="r1")
    second = writer.append("draft", {"v": 2}, record_id="r1", supersedes=first.seq)
    part = writer.append("recording.segment", {"i": 1}, record_id="r1")  # a part, not a correction
    assert part.seq == second.seq + 1
    other = writer.append("draft", {"v": 1}, record_id="r2")
    outcomes = {
        "an older version": _refused(lambda: writer.append("draft", {"v": 3}, record_id="r1", supersedes=first.seq)),
        "another record's entry": _refused(lambda: writer.append("draft", {}, record_id="r1", supersedes=other.seq)),
        "an unknown entry": _refused(lambda: writer.append("draft", {}, record_id="r1", supersedes=9999)),
        "an entry of no record": _refused(lambda: writer.append("draft", {}, supersedes=writer.append("note", {}).seq)),
        "media not a SHA-256": _refused(lambda: writer.append("record", {}, media=["photo.jpg"])),
        "a bad entry type": _refused(lambda: writer.append("Record", {})),
        "a bad record id": _refused(lambda: writer.append("draft", {}, record_id="带空格 的编号")),
        "a NaN in the payload": _refused(lambda: writer.append("draft", {"x": float("nan")})),
    }
    assert outcomes == dict.fromkeys(outcomes, True)
    latest = writer.append("draft", {"v": 3}, record_id="r1", supersedes=part.seq)
    assert latest.seq == part.seq + 3  # after "other" and "note": the refusals wrote nothing
    photo = writer.media(b"jpeg bytes")
    assert writer.append("record", {}, media=[photo]).seq == latest.seq + 1
