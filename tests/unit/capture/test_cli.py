"""`field-app recordings`, `field-app export-recording` and `field-app verify` on a recorded store."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.capture.helpers import ffprobe
from tests.unit.capture.test_session import _segment_files, record
from tests.unit.store.conftest import WANG

BIN = Path(sys.executable).parent


def field_app(data_dir: Path, password_file: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "field-app"), "--data-dir", str(data_dir), *args, "--officer", WANG[1],
                           "--password-file", str(password_file)],
                          capture_output=True, text=True, env=dict(os.environ), timeout=120)


def test_list_export_and_verify_from_the_command_line(store, data_dir, tmp_path):
    session = record(store, 2.5, pause=True)
    store.close()
    pw = tmp_path / "pw.txt"
    pw.write_text(WANG[3] + "\n", encoding="utf-8")

    listed = field_app(data_dir, pw, "recordings")
    assert listed.returncode == 0, listed.stderr
    assert session.recording_id in listed.stdout and "御景苑" in listed.stdout and "测试信号" in listed.stdout

    out = tmp_path / "out.mp4"
    exported = field_app(data_dir, pw, "export-recording", session.recording_id[-8:], str(out))
    assert exported.returncode == 0, exported.stderr
    assert sorted(s["codec_type"] for s in ffprobe(out)["streams"]) == ["audio", "video"]

    verified = field_app(data_dir, pw, "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr  # a pause is a notice, not damage
    assert "recording_pause" in verified.stdout and "当事人要求暂停去取账本" in verified.stdout
    assert "校验通过" in verified.stdout


def test_unknown_recording_is_a_clear_error(store, data_dir, tmp_path):
    store.close()
    pw = tmp_path / "pw.txt"
    pw.write_text(WANG[3] + "\n", encoding="utf-8")
    result = field_app(data_dir, pw, "export-recording", "nope", str(tmp_path / "x.mp4"))
    assert result.returncode == 2 and "找不到录像" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("tamper", ["delete", "swap", "replace"])
def test_tampered_segments_are_named_by_field_app_verify(store, data_dir, tmp_path, tamper):
    """Delete a segment, swap two (reorder), or put a valid segment of another recording in its
    place: `field-app verify` exits 1 and names the recording and the segment."""
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
    store.close()
    pw = tmp_path / "pw.txt"
    pw.write_text(WANG[3] + "\n", encoding="utf-8")
    verified = field_app(data_dir, pw, "verify")
    assert verified.returncode == 1, verified.stdout + verified.stderr
    named = [line for line in verified.stdout.splitlines() if first.recording_id in line]
    assert any(f"片段 {i1}" in line for line in named), verified.stdout
    if tamper == "swap":
        assert any(f"片段 {i0}" in line for line in named), verified.stdout
    assert other.recording_id not in verified.stdout.replace(first.recording_id, "")
