"""`field-app verify-page` as a verifier runs it: a real subprocess on a real, closed store."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from field_app.printing.signoff import print_record
from tests.unit.printing import pdfcheck as pc
from tests.unit.printing import scenarios as sc
from tests.unit.store.conftest import LIU, WANG

FIELD_APP = str(Path(sys.executable).parent / "field-app")


def field_app(data_dir: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([FIELD_APP, "--data-dir", str(data_dir), *args], capture_output=True,
                          text=True, input=stdin, env=dict(os.environ), timeout=120)


def test_verify_page_accepts_the_current_print_and_reports_a_corrected_one(store, data_dir, tmp_path):
    record = sc.record_2_7(store)
    old = print_record(store, record.record_id).rendered.pages[1].payload
    latest = store.record_versions(record.record_id)[-1]
    store.append("record", {**latest.payload, "values": {**latest.payload["values"],
                                                          "place": "长安区人社局2楼询问室"}},
                 record_id=record.record_id, supersedes=latest.seq)
    rendered = print_record(store, record.record_id).rendered
    new = rendered.pages[1].payload
    # What a checker types in is what the QR code on the printed page decodes to.
    pdf = tmp_path / "2-7.pdf"
    pdf.write_bytes(rendered.pdf)
    assert pc.decode_qr(pc.png(pdf, 2, 100, tmp_path, crop_mm=(150, 0, 60, 40))) == [new]
    store.close()
    pw = tmp_path / "pw.txt"
    pw.write_text(WANG[3] + "\n", encoding="utf-8")

    ok = field_app(data_dir, "verify-page", new, "--officer", WANG[1], "--password-file", str(pw))
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("本页与证据库一致：《询问笔录》第2版第2页 共6页")

    void = field_app(data_dir, "verify-page", old, "--officer", WANG[1], "--password-file", str(pw))
    assert void.returncode == 1
    assert "该版本在打印后已被更正" in void.stdout and "现行为第2版" in void.stdout

    scanned = field_app(data_dir, "verify-page", "-", "--officer", LIU[1], "--json",
                        stdin=new + "\n" + LIU[3] + "\n")  # scanner line, then the password
    assert scanned.returncode == 0, scanned.stderr
    assert '"status": "current"' in scanned.stdout


def test_verify_page_says_what_is_wrong_without_a_traceback(store, data_dir, tmp_path):
    store.close()
    pw = tmp_path / "pw.txt"
    pw.write_text(WANG[3] + "\n", encoding="utf-8")
    bad = field_app(data_dir, "verify-page", "not a page", "--officer", WANG[1], "--password-file", str(pw))
    assert bad.returncode == 2
    assert "错误：这不是本程序打印页上的二维码" in bad.stderr and "Traceback" not in bad.stderr
    wrong = field_app(data_dir, "verify-page", "FRP1|x|1|1|1|1|" + "0" * 32, "--officer", WANG[1],
                      "--password-file", str(tmp_path / "missing.txt"))
    assert wrong.returncode == 2 and "无法读取密码文件" in wrong.stderr
    unknown = field_app(data_dir, "verify-page", "FRP1|x|1|1|1|1|" + "0" * 32, "--officer", WANG[1],
                        "--password-file", str(pw))
    assert unknown.returncode == 1 and "本证据库中没有编号为 x 的记录" in unknown.stdout
