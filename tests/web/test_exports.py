"""Approved exports (第六十六、六十九条) on a real synced demo HQ (A's ``synced_demo``: the demo laptop of
department A with its real recording and printed PDFs, a small store of department B).

What a user would check: no package before the head approves; the head's approval number; a package
whose files hash as listed and whose originals are in the device's signed, HQ-receipted log; a video
that plays and shows the requester and the approval number on its frames; PDFs and a 说明 that name them;
a changed file is caught; officers and requesters cannot approve; every step is in the audit log.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tests.web.conftest import DEPT_B, PASSWORD, SyncedDemo, csrf_of, login

APPROVAL_RE = re.compile(r"^长人社监复〔\d{4}〕第\d{4}号$")


EXTRA_USERS = (  # beyond conftest.USERS: username, name, role, department, cert_no
    ("head2", "钱局长", "head", "长安区人社局", None),  # the agency: covers 长安区人社局劳动保障监察大队
    ("head_b", "吴负责人", "head", DEPT_B, None),
)


@pytest.fixture(scope="module")
def env(web_hq, synced_demo: SyncedDemo, tmp_path_factory):
    from sync.server import admin
    from sync.server.web.accounts import create_user, get_user

    root = tmp_path_factory.mktemp("exports")
    admin.add_department(web_hq.db, "长安区人社局")
    for username, name, role, dept, cert in EXTRA_USERS:
        create_user(web_hq.db, username, name, role, dept, PASSWORD, cert)
    users = {u: get_user(web_hq.db, u) for u in ("wang", "head", "legal", "zhang", "head2", "head_b")}
    with web_hq.db.transaction() as tx:
        rid, = tx.one("SELECT record_id FROM entries WHERE device_id = ? AND entry_type = 'record' AND payload LIKE ? "
                      "ORDER BY seq LIMIT 1", (synced_demo.device_a, '%"id":"2-5"%'))
    return type("Env", (), {"hq": web_hq, "users": users, "demo": synced_demo, "record_id": rid, "root": root})


def actions(hq, target: str) -> list[str]:
    from sync.server.web.audit import list_events

    return [e["action"] for e in reversed(list_events(hq.db, limit=1000)) if target in e["target"]]


@pytest.fixture(scope="module")
def approved(env):
    """A record export by officer 王建国, approved by head 赵志强 and downloaded once: (request, zip path)."""
    from sync.server.web import exports

    u = env.users
    req = exports.request_export(env.hq, u["wang"], "record", env.record_id, "移送司法机关，作为证据使用",
                                 device_id=env.demo.device_a)
    assert req.status == "pending" and req.title.startswith("检查（勘验）笔录")
    # before approval: refused, with the reason in Chinese
    with pytest.raises(exports.ExportRefused, match="尚未经负责人批准"):
        exports.download(env.hq, u["wang"], req.id)
    assert not (Path(env.hq.blobs.root) / "exports" / req.id).exists()
    req = exports.approve(env.hq, u["head"], req.id)
    assert APPROVAL_RE.match(req.approval_no) and req.status == "approved" and req.decided_name == "赵志强"
    started = time.monotonic()
    req, path = exports.download(env.hq, u["wang"], req.id)
    build_seconds = time.monotonic() - started
    print(f"package built in {build_seconds:.1f} s")
    return req, path


def test_request_approve_download_verify(env, approved):
    from sync.server.web.audit import verify_audit
    from sync.server.web.package import verify_package

    req, path = approved
    assert path.is_file() and path.name.endswith(".zip")
    assert verify_package(path) == []
    assert verify_package(path, hq_key=env.hq.identity.public_key) == []
    assert verify_package(path, hq_key=bytes(32)) == ["清单不是由本局端的签名密钥签发的（局端公钥不符）。"]
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        manifest = json.loads(zf.read("manifest.json"))
    assert "说明.pdf" in names and "manifest.sig" in names
    assert [n for n in names if n.startswith("视频/") and n.endswith(".mp4")]
    assert [n for n in names if n.startswith("文书/") and "检查（勘验）笔录" in n]
    assert manifest["request"]["approval_no"] == req.approval_no
    assert manifest["request"]["requester_name"] == "王建国" and manifest["request"]["approver_name"] == "赵志强"
    # every original is a blob HQ holds under that SHA-256, referenced by an entry of the demo device
    seqs = {e["seq"]: e for e in manifest["devices"][env.demo.device_a]["entries"]}
    for item in manifest["sources"]:
        assert env.hq.blobs.hash_blob(item["sha256"]) == item["sha256"]
        assert item["sha256"] in seqs[item["seq"]]["media"]
    assert {i["kind"] for i in manifest["sources"]} == {"录像分段", "打印文书 PDF"}
    # the audit log has every step, and the chain holds
    assert actions(env.hq, req.id) == ["export_request", "denied", "export_approve", "export_download"]
    assert verify_audit(env.hq) == []
    # a second download reuses the same package
    again, path2 = __import__("sync.server.web.exports", fromlist=["x"]).download(env.hq, env.users["wang"], req.id)
    assert path2 == path and again.package_sha256 == req.package_sha256 and again.downloads == 2


def test_description_names_source_approval_and_hashes(env, approved):
    req, path = approved
    out = env.root / "desc"
    with zipfile.ZipFile(path) as zf:
        zf.extractall(out)
        manifest = json.loads(zf.read("manifest.json"))
    text = subprocess.run(["pdftotext", "-layout", str(out / "说明.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout
    flat = re.sub(r"\s+", "", text)
    for needle in (req.approval_no, "赵志强", "王建国", "移送司法机关", env.demo.case_no, "仅供王建国使用复制件",
                   "13010220170031", "第六十六条", "field-hqverify-export"):
        assert needle in flat, needle
    for item in manifest["sources"]:
        assert item["sha256"] in text  # original hashes, in full
    for name, meta in manifest["files"].items():
        if name != "说明.pdf":
            assert meta["sha256"] in text
    # the stamped PDF: the mark on the page, the original content still there
    doc = next(p for p in out.glob("文书/*.pdf"))
    page = re.sub(r"\s+", "", subprocess.run(["pdftotext", str(doc), "-"], capture_output=True, text=True).stdout)
    assert "仅供王建国使用复制件" in page and req.approval_no in page and "检查（勘验）笔录" in page


def _frames(path: Path, indexes: set[int]) -> dict[int, np.ndarray]:
    import av

    with av.open(str(path)) as c:
        return {i: f.to_ndarray(format="rgb24").astype(int) for i, f in enumerate(c.decode(video=0)) if i in indexes}


def test_video_plays_and_every_frame_carries_the_mark(env, approved):
    import av

    from sync.server.web.playback import joined_mp4
    from sync.server.web.watermark import render_overlay

    req, path = approved
    out = env.root / "video"
    with zipfile.ZipFile(path) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".mp4"))
        zf.extract(name, out)
    video = out / name
    with av.open(str(video)) as c:
        assert c.streams.video[0].codec_context.name == "h264" and c.streams.audio[0].codec_context.name == "aac"
        frames = [f.time for f in c.decode(video=0)]
    duration = env.demo.recording_seconds
    assert len(frames) >= 10 * duration and frames[-1] >= duration - 1.0  # the whole recording, in order
    assert frames == sorted(frames)
    original = joined_mp4(env.hq, env.demo.device_a, env.demo.recording_id)
    *_, (x0, y0, x1, y1) = render_overlay(_mark(req), 640, 360)
    picks = {5, len(frames) // 2, len(frames) - 3}
    marked_frames, plain_frames = _frames(video, picks), _frames(original, picks)
    assert len(plain_frames) == 3
    for t in sorted(picks):  # the same frame (n-th) of the original and of the copy
        marked, plain = marked_frames[t], plain_frames[t]
        band = np.abs(marked[y0:y1, x0:x1] - plain[y0:y1, x0:x1]).mean()
        rest = np.abs(marked[y1 + 20:300] - plain[y1 + 20:300]).mean()
        assert band > 25 > 6 > rest, (t, band, rest)  # text drawn in the band; the picture otherwise intact


def _mark(req):
    from sync.server.web.watermark import Mark

    return Mark(req.requester_name, req.requester_department, req.approval_no, req.built_ns)


def test_tampered_package_is_detected(env, approved):
    from sync.server.web.package import verify_package

    _, path = approved

    def rewrite(dest: Path, change) -> Path:
        with zipfile.ZipFile(path) as src, zipfile.ZipFile(dest, "w") as out:
            for info in src.infolist():
                out.writestr(info.filename, change(info.filename, src.read(info.filename)))
        return dest

    def flip_pdf(name, data):
        return data[:-40] + bytes([data[-40] ^ 1]) + data[-39:] if name.startswith("文书/") else data

    bad = rewrite(env.root / "bad-pdf.zip", flip_pdf)
    problems = verify_package(bad)
    assert len(problems) == 1 and "的 SHA-256 与清单不符" in problems[0] and "文书/" in problems[0]

    def fix_manifest_too(name, data):  # change the file and its listed hash: the HQ signature breaks
        if name == "manifest.json":
            m = json.loads(data)
            for meta in m["files"].values():
                meta["sha256"] = "0" * 64
            return json.dumps(m, ensure_ascii=False).encode()
        return data

    problems = verify_package(rewrite(env.root / "bad-manifest.zip", fix_manifest_too))
    assert "清单的局端签名无效（清单被改动）。" in problems

    def forge_entry(name, data):  # claim another original in the log entry: its hash no longer matches
        if name == "manifest.json":
            m = json.loads(data)
            originals = {i["sha256"] for i in m["sources"]}
            entry = next(e for e in m["devices"][env.demo.device_a]["entries"] if originals & set(e["media"]))
            entry["media"] = ["ab" * 32]
            return json.dumps(m, ensure_ascii=False).encode()
        return data

    problems = verify_package(rewrite(env.root / "bad-entry.zip", forge_entry))
    assert any("内容与哈希不符" in p for p in problems) and any("没有出现在已核验的设备日志记录中" in p for p in problems)

    # the command line: 通过 / the problems, exit 0/1
    from tests.harness.hq import FIELD_HQ

    cli = [FIELD_HQ, "verify-export"]
    ok = subprocess.run([*cli, str(path)], capture_output=True, text=True)
    assert ok.returncode == 0 and "通过" in ok.stdout, ok.stdout + ok.stderr
    failed = subprocess.run([*cli, str(bad)], capture_output=True, text=True)
    assert failed.returncode == 1 and "SHA-256 与清单不符" in failed.stdout and "通过" not in failed.stdout
    pinned = subprocess.run([*cli, str(path), "--data-dir", str(env.hq.blobs.root)], capture_output=True, text=True)
    assert pinned.returncode == 0 and "通过" in pinned.stdout


def test_only_a_covering_head_other_than_the_requester_decides(env):
    from sync.server.web import exports

    u, hq = env.users, env.hq
    req = exports.request_export(hq, u["head"], "recording", env.demo.recording_id, "领导调阅",
                                 device_id=env.demo.device_a)
    with pytest.raises(exports.ExportRefused, match="不能审批自己提出的导出申请"):
        exports.approve(hq, u["head"], req.id)
    with pytest.raises(exports.ExportRefused, match="只有负责人可以审批"):
        exports.approve(hq, u["wang"], req.id)
    with pytest.raises(exports.ExportRefused, match="只有负责人可以审批"):
        exports.approve(hq, u["legal"], req.id)
    with pytest.raises(exports.ExportRefused, match="不在您的管辖范围内"):
        exports.approve(hq, u["head_b"], req.id)
    assert exports.get_request(hq, req.id).status == "pending"
    assert actions(hq, req.id).count("denied") == 4
    # the agency head (长安区人社局) covers the 大队 and may approve
    first = exports.approve(hq, u["head2"], req.id)
    with pytest.raises(exports.ExportRefused, match="已已批准|不能再次审批"):
        exports.approve(hq, u["head2"], req.id)
    # approval numbers are consecutive and unique
    other = exports.request_export(hq, u["wang"], "recording", env.demo.recording_id, "复核",
                                   device_id=env.demo.device_a)
    second = exports.approve(hq, u["head"], other.id)
    n1, n2 = (int(re.search(r"第(\d+)号", r.approval_no).group(1)) for r in (first, second))
    assert n2 == n1 + 1
    # another officer may not download it; the head may
    with pytest.raises(exports.ExportRefused, match="只有申请人或负责人"):
        exports.download(hq, u["zhang"], other.id)


def test_reject_and_expiry_block_the_package(env):
    from sync.server.web import exports

    u, hq = env.users, env.hq
    req = exports.request_export(hq, u["wang"], "recording", env.demo.recording_id, "内部学习",
                                 device_id=env.demo.device_a)
    with pytest.raises(exports.ExportRefused, match="请填写驳回理由"):
        exports.reject(hq, u["head"], req.id, "  ")
    rejected = exports.reject(hq, u["head"], req.id, "用途不符合规定")
    assert rejected.status_label == "已驳回" and rejected.approval_no is None
    with pytest.raises(exports.ExportRefused, match="已被驳回（用途不符合规定）"):
        exports.download(hq, u["wang"], req.id)
    with pytest.raises(exports.ExportRefused, match="不能再次审批"):
        exports.approve(hq, u["head"], req.id)
    late = exports.request_export(hq, u["wang"], "recording", env.demo.recording_id, "复核",
                                  device_id=env.demo.device_a)
    late = exports.approve(hq, u["head"], late.id, valid_ns=1)
    time.sleep(0.01)
    assert exports.get_request(hq, late.id).status_label == "批准已过期"
    with pytest.raises(exports.ExportRefused, match="过期"):
        exports.download(hq, u["wang"], late.id)
    assert not (Path(hq.blobs.root) / "exports" / late.id).exists()
    assert actions(hq, req.id) == ["export_request", "denied", "export_reject", "denied", "denied"]


def test_request_needs_reason_and_a_visible_source(env):
    from sync.server.web import exports

    u, hq = env.users, env.hq
    with pytest.raises(exports.ExportRefused, match="请填写申请事由"):
        exports.request_export(hq, u["wang"], "record", env.record_id, "", device_id=env.demo.device_a)
    # department B's officer cannot even ask for department A's record (answered like a missing one)
    with pytest.raises(exports.ExportRefused, match="没有找到要导出的记录") as refused:
        exports.request_export(hq, u["zhang"], "record", env.record_id, "看看", device_id=env.demo.device_a)
    assert refused.value.status == 404
    with pytest.raises(exports.ExportRefused, match="没有找到"):
        exports.request_export(hq, u["wang"], "record", "no-such-record", "看看", device_id=env.demo.device_a)


def test_case_export_spans_every_document(env):
    from sync.server.web import exports
    from sync.server.web.package import verify_package

    u, hq = env.users, env.hq
    req = exports.request_export(hq, u["legal"], "case", env.demo.case_no, "案卷评查（第七十二条）")
    req = exports.approve(hq, u["head"], req.id)
    req, path = exports.download(hq, u["head"], req.id)  # the head may download too
    assert verify_package(path, env.hq.identity.public_key) == []
    with zipfile.ZipFile(path) as zf:
        docs = [n for n in zf.namelist() if n.startswith("文书/")]
    assert len(docs) >= 10 and any("询问笔录" in d for d in docs) and any("送达回证" in d for d in docs)


# --- HTTP (TestClient over the real app: login form, session cookie, CSRF) ---------------------------------

def _client(app, username: str | None = None):
    from starlette.testclient import TestClient

    c = TestClient(app, base_url="http://testserver", follow_redirects=False)
    if username:
        assert login(c, username).status_code == 303
    return c


def test_http_request_refused_then_approved_and_downloaded(app, env):
    from sync.server.web.package import verify_package

    demo = env.demo
    anon = _client(app)
    assert anon.get("/exports").status_code == 303
    assert anon.get("/exports/exp-x/download").status_code == 401
    assert anon.post("/exports", data={"scope": "record"}).status_code == 401

    wang = _client(app, "wang")
    form = wang.get(f"/exports/new?scope=record&device={demo.device_a}&target={env.record_id}")
    assert form.status_code == 200 and "检查（勘验）笔录" in form.text and "申请导出" in form.text
    fields = {"scope": "record", "device": demo.device_a, "target": env.record_id, "reason": "行政复议答辩"}
    assert wang.post("/exports", data={**fields, "csrf": "forged"}).status_code == 403
    empty = wang.post("/exports", data={**fields, "reason": "", "csrf": csrf_of(form.text)})
    assert empty.status_code == 400 and "请填写申请事由" in empty.text
    filed = wang.post("/exports", data={**fields, "csrf": csrf_of(form.text)})
    assert filed.status_code == 303
    url = filed.headers["location"]
    rid = url.rsplit("/", 1)[1]
    detail = wang.get(url)
    assert "待审批" in detail.text and "下载导出包" not in detail.text
    refused = wang.get(f"{url}/download")
    assert refused.status_code == 403 and "尚未经负责人批准" in refused.text
    assert wang.post(f"{url}/approve", data={"csrf": csrf_of(detail.text)}).status_code == 403  # an officer

    head = _client(app, "head")
    queue = head.get("/exports")
    assert rid in queue.text and "批准" in queue.text and "驳回" in queue.text
    assert head.post(f"{url}/approve", data={"csrf": "forged"}).status_code == 403
    assert "待审批" in head.get(url).text
    assert head.post(f"{url}/approve", data={"csrf": csrf_of(queue.text)}).status_code == 303
    approved = head.get(url).text
    number = re.search(r"长人社监复〔\d{4}〕第\d{4}号", approved).group(0)

    mine = wang.get("/exports").text
    assert "已批准" in mine and number in mine and f"/exports/{rid}/download" in mine
    got = wang.get(f"{url}/download")
    assert got.status_code == 200 and got.headers["content-type"] == "application/zip"
    package = env.root / "http.zip"
    package.write_bytes(got.content)
    assert verify_package(package, env.hq.identity.public_key) == []
    assert hashlib_sha256(got.content) == got.headers["x-package-sha256"]

    zhang = _client(app, "zhang")  # department B: cannot see or fetch it
    assert zhang.get(url).status_code == 404
    assert zhang.get(f"{url}/download").status_code == 403
    # refused download, officer's approval, department B's view and download (forged CSRF never gets that far)
    assert actions(env.hq, rid) == ["export_request", "denied", "denied", "export_approve", "export_download",
                                    "denied", "denied"]


def test_http_reject_with_reason(app, env):
    demo = env.demo
    wang, head = _client(app, "wang"), _client(app, "head")
    form = wang.get(f"/exports/new?scope=recording&device={demo.device_a}&target={demo.recording_id}")
    filed = wang.post("/exports", data={"scope": "recording", "device": demo.device_a, "target": demo.recording_id,
                                        "reason": "个人留存", "csrf": csrf_of(form.text)})
    url = filed.headers["location"]
    bogus = wang.post("/exports", data={"scope": "everything", "device": "", "target": "x", "reason": "r",
                                        "csrf": csrf_of(form.text)})
    assert bogus.status_code == 400 and "导出范围只能是" in bogus.text
    page = head.get(url)
    assert head.post(f"{url}/reject", data={"csrf": csrf_of(page.text), "reason": ""}).status_code == 400
    assert head.post(f"{url}/reject", data={"csrf": csrf_of(page.text), "reason": "非公务用途"}).status_code == 303
    text = wang.get(url).text
    assert "已驳回" in text and "非公务用途" in text
    assert "已被驳回（非公务用途）" in wang.get(f"{url}/download").text


def hashlib_sha256(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


# --- PostgreSQL: the same flow on the other SQL dialect --------------------------------------------------

def test_postgres_request_approve_build(synced_demo, tmp_path):
    import sqlite3

    from sync.server.web import exports
    from sync.server.web.accounts import create_user, get_user
    from sync.server.web.package import verify_package
    from tests.harness.hq import ThrowawayDatabase, require_postgres
    from tests.web.conftest import DEPT_A, open_hq

    require_postgres()
    data = tmp_path / "hq"
    shutil.copytree(synced_demo.hq_dir, data)
    with ThrowawayDatabase() as dsn:
        hq = open_hq(data, dsn)
        try:
            src = sqlite3.connect(data / "hq.db")
            with hq.db.transaction() as tx:  # the synced HQ's rows, moved to PostgreSQL as they are
                for table in ("departments", "officers", "devices", "entries", "blob_refs", "blobs", "receipts"):
                    rows = src.execute(f"SELECT * FROM {table}").fetchall()
                    tx.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' * len(rows[0]))}) ON CONFLICT DO NOTHING",
                                   rows)
            src.close()
            create_user(hq.db, "wang", "王建国", "officer", DEPT_A, PASSWORD, "13010220170031")
            create_user(hq.db, "head", "赵志强", "head", DEPT_A, PASSWORD)
            wang, head = get_user(hq.db, "wang"), get_user(hq.db, "head")
            first = exports.request_export(hq, wang, "recording", synced_demo.recording_id, "移送",
                                           device_id=synced_demo.device_a)
            with pytest.raises(exports.ExportRefused, match="尚未经负责人批准"):
                exports.build(hq, wang, first.id)
            own = exports.request_export(hq, head, "recording", synced_demo.recording_id, "自批",
                                         device_id=synced_demo.device_a)
            with pytest.raises(exports.ExportRefused, match="不能审批自己"):
                exports.approve(hq, head, own.id)
            first = exports.approve(hq, head, first.id)
            second = exports.approve(hq, head, exports.request_export(
                hq, wang, "recording", synced_demo.recording_id, "复核", device_id=synced_demo.device_a).id)
            assert first.approval_no.endswith("第0001号") and second.approval_no.endswith("第0002号")
            built, path = exports.download(hq, wang, first.id)
            assert verify_package(path, hq.identity.public_key) == [] and built.downloads == 1
        finally:
            hq.db.close()
