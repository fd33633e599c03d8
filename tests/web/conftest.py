"""Shared fixtures of the HQ web platform tests: a real synced demo HQ with two departments.

``synced_demo`` (session): runs ``field_app.demo.run_demo`` (five procedures, real synthetic A/V,
printed PDFs) into a store under the session's real keyring, enrols it at a real ``field-hq serve``
(department A) and syncs it; then a second small store (``tests.fakes.demo_store.fill_demo``) is enrolled
in department B and synced — so every negative test crosses a real department boundary. Built once.

``hq_dir`` (module): a private copy of that HQ data directory with web users (password ``PASSWORD``):
admin (管理员), head (负责人), legal (法制机构), unit_a (办案机构负责人, A), wang (执法人员, A, 王建国),
liu_b... see USERS. ``web_hq`` builds the in-process HQ object; ``client`` a Starlette TestClient.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pytest

DEPT_A = "长安区人社局劳动保障监察大队"
DEPT_B = "裕华区人社局劳动保障监察大队"
WANG = ("王建国", "13010220170031", DEPT_A)
LIU = ("刘晓燕", "13010220190047", DEPT_A)
ZHANG = ("张敏", "13010820200011", DEPT_B, "zhang-min-2026")
PASSWORD = "Hq-测试-口令-2026!"
USERS = (  # username, display name, role, department, cert_no
    ("admin", "系统管理员", "admin", DEPT_A, None),
    ("head", "赵志强", "head", DEPT_A, None),
    ("legal", "孙丽", "legal", DEPT_A, None),
    ("unit_a", "周大队长", "unit_head", DEPT_A, None),
    ("unit_b", "郑大队长", "unit_head", DEPT_B, None),
    ("wang", "王建国", "officer", DEPT_A, WANG[1]),
    ("zhang", "张敏", "officer", DEPT_B, ZHANG[1]),
)


@dataclass(frozen=True)
class SyncedDemo:
    hq_dir: Path            # HQ data dir (do not modify: copy it)
    device_a: str           # the demo laptop (department A)
    device_b: str           # the small store of department B
    recording_id: str       # the demo's one recording
    recording_seconds: float
    case_no: str
    party: str
    credit_code: str


def build_synced_demo(root: Path) -> SyncedDemo:
    """Run the demo and the department-B store, sync both to a real HQ. Needs a keyring (env)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    from field_app.demo import run_demo
    from field_app.store import Store
    from field_app.store.keys import KdfParams
    from sync.client import enrol, sync_once
    from tests.fakes.demo_store import fill_demo
    from tests.harness.hq import HQProcess, setup_hq

    kdf = KdfParams(memory_kib=8192, time_cost=1, parallelism=1)
    run_demo(root / "laptop", root / "out", seconds_per_procedure=2.0, kdf=kdf, say=lambda *_: None)
    private = bytes.fromhex((root / "out" / "hq-private.key").read_text().strip())
    public = X25519PrivateKey.from_private_bytes(private).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    hq_dir = root / "hq"
    setup_hq(hq_dir, public, None, DEPT_A, (WANG[:2], LIU[:2]))
    hq = HQProcess(hq_dir).start()
    try:
        hq.admin("add-department", "--name", DEPT_B)
        hq.admin("add-user", "--name", ZHANG[0], "--cert-no", ZHANG[1], "--department", DEPT_B)
        store = Store.open(root / "laptop")
        store.unlock(WANG[1], (root / "out" / "password.txt").read_text().strip())
        try:
            enrol(store, root / "laptop", hq.url, hq.admin("enrolment-code", "--department", DEPT_A).strip())
            result = sync_once(store, root / "laptop")
            assert result.ok, result.message
            device_a = store.store_id
        finally:
            store.close()
        store_b = Store.create(root / "laptop-b", officers=[ZHANG], hq_public_key=public, kdf=kdf)
        try:
            fill_demo(store_b, segments=2, segment_bytes=64 << 10, photos=1)
            add_department_b_record(store_b, root / "b-media")
            enrol(store_b, root / "laptop-b", hq.url, hq.admin("enrolment-code", "--department", DEPT_B).strip())
            result = sync_once(store_b, root / "laptop-b")
            assert result.ok, result.message
            device_b = store_b.store_id
        finally:
            store_b.close()
    finally:
        hq.stop()
    con = sqlite3.connect(hq_dir / "hq.db")
    try:
        import json
        rid, = con.execute("SELECT record_id FROM entries WHERE device_id = ? AND entry_type = 'recording.start'",
                           (device_a,)).fetchone()
        stop, = con.execute("SELECT payload FROM entries WHERE device_id = ? AND entry_type = 'recording.stop'",
                            (device_a,)).fetchone()
        case, = con.execute("SELECT payload FROM entries WHERE device_id = ? AND entry_type = 'case'",
                            (device_a,)).fetchone()
    finally:
        con.close()
    case = json.loads(case)
    return SyncedDemo(hq_dir, device_a, device_b, rid, float(json.loads(stop)["offset"]), case["case_no"],
                      case["party_name"], case["credit_code"])


def _tiny_mkv(path: Path, seconds: float = 2.0) -> bytes:
    """A real H.264 + AAC Matroska segment (synthetic picture and tone), like the laptop records."""
    import av
    import numpy as np

    out = av.open(str(path), "w", format="matroska")
    video = out.add_stream("libx264", rate=15)
    video.width, video.height, video.pix_fmt = 320, 180, "yuv420p"
    audio = out.add_stream("aac", rate=48000)
    for i in range(int(seconds * 15)):
        frame = av.VideoFrame.from_ndarray(np.full((180, 320, 3), (i * 8) % 255, dtype=np.uint8), format="rgb24")
        for packet in video.encode(frame):
            out.mux(packet)
    samples = 1024
    for i in range(int(seconds * 48000 / samples)):
        t = (np.arange(samples) + i * samples) / 48000
        frame = av.AudioFrame.from_ndarray((0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None, :],
                                           format="fltp", layout="mono")
        frame.sample_rate, frame.pts = 48000, i * samples
        for packet in audio.encode(frame):
            out.mux(packet)
    for stream in (video, audio):
        for packet in stream.encode(None):
            out.mux(packet)
    out.close()
    return path.read_bytes()


def _tiny_pdf() -> bytes:
    import io

    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def add_department_b_record(store, workdir: Path) -> None:
    """Department B's evidence in the laptop's real entry shapes: a recording (one real segment), and a
    2-5 record that was printed, refused, then corrected (so a superseded version exists)."""
    import io
    import uuid

    workdir.mkdir(parents=True, exist_ok=True)
    rec = "rec-" + uuid.uuid4().hex
    store.append("recording.start", {"recording_id": rec, "case_no": KANGNING_NO, "place": "长安区广安大街 55 号",
                                     "matter": "医院用工检查", "officers": [ZHANG[1]], "synthetic": True,
                                     "notice_text": "对本次执法事项将全程录音录像。"}, record_id=rec)
    store.append("recording.marker", {"recording_id": rec, "kind": "notice", "label": "已告知全程录音录像",
                                      "offset": 0.1, "note": ""}, record_id=rec)
    data = _tiny_mkv(workdir / "seg0.mkv")
    sha = store.put_media(io.BytesIO(data), media_type="video/x-matroska").sha256
    store.append("recording.segment", {"recording_id": rec, "index": 0, "sha256": sha, "size": len(data),
                                       "prev_segment_sha256": "", "start": 0.0, "end": 2.0, "complete": True},
                 record_id=rec, media=[sha])
    store.append("recording.stop", {"recording_id": rec, "offset": 2.0, "segments": 1, "ended_by": "officer"},
                 record_id=rec)
    rid = uuid.uuid4().hex
    values = {"case_no": KANGNING_NO, "cause": "涉嫌未依法签订劳动合同", "place": "长安区广安大街 55 号",
              "party": {"kind": "organisation", "name": "石家庄康宁民营医院", "uscc": KANGNING_CODE},
              "findings": "护工 8 人未签劳动合同", "inspectors": [{"cert_no": ZHANG[1], "name": ZHANG[0]}]}
    common = {"document": {"id": "2-5", "version": 1}, "procedure": {"id": "inspection", "version": 1},
              "session": uuid.uuid4().hex, "step": "record"}
    draft = store.append("draft", {**common, "values": values}, record_id=rid)
    v1 = store.append("record", {**common, "values": values, "effects": {}}, record_id=rid, supersedes=draft.seq)
    pdf = _tiny_pdf()
    pdf_sha = store.put_media(io.BytesIO(pdf), media_type="application/pdf").sha256
    printed = store.append("print", {"case_no": KANGNING_NO, "title": "检查（勘验）笔录", "document": common["document"],
                                     "pages": [{"copy": 1, "page": 1, "hash": "0" * 64}],
                                     "pdf": {"pages": 1, "pages_per_copy": 1, "sha256": pdf_sha, "size": len(pdf)},
                                     "record": {"id": rid, "seq": v1.seq, "version": 1}},
                           record_id="paper:" + rid, media=[pdf_sha])
    store.append("print.signoff", {"print": printed.seq, "outcome": "refused", "pages": [{"copy": 1, "page": 1}],
                                   "role": "当事人", "who": "吴海峰", "reason": "对人数有异议", "witness": "李四"},
                 record_id="paper:" + rid)
    corrected = {**values, "findings": "护工 9 人未签劳动合同"}
    reopen = store.append("draft", {**common, "values": corrected, "correction_reason": "复核人数"},
                          record_id=rid, supersedes=v1.seq)
    store.append("record", {**common, "values": corrected, "effects": {}, "correction_reason": "复核人数"},
                 record_id=rid, supersedes=reopen.seq)


KANGNING_NO, KANGNING_CODE = "长人社监〔2026〕第0142号", "521301021860913902"


@pytest.fixture(scope="session")
def synced_demo(tmp_path_factory, secret_service) -> SyncedDemo:
    from tests.conftest import reset_keyring

    root = tmp_path_factory.mktemp("web-demo")
    old_home, old_bus = os.environ.get("HOME"), os.environ.get("DBUS_SESSION_BUS_ADDRESS")
    os.environ["HOME"] = str(root / "home")
    (root / "home").mkdir()
    os.environ["DBUS_SESSION_BUS_ADDRESS"] = secret_service.bus_address
    reset_keyring()
    try:
        return build_synced_demo(root)
    finally:
        for key, value in (("HOME", old_home), ("DBUS_SESSION_BUS_ADDRESS", old_bus)):
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        reset_keyring()


def open_hq(data_dir: Path, dsn: str | None = None):
    """The in-process HQ object over a data directory (as ``field-hq serve`` builds it)."""
    from forms.loader import FORMS_ROOT
    from sync.server import identity as ident
    from sync.server.app import HQ
    from sync.server.blobstore import FileBlobStore
    from sync.server.db import open_database
    from sync.server.ingest import Ingest
    from sync.server.web.schema import create_web_tables

    db = open_database(data_dir, dsn)
    blobs = FileBlobStore(data_dir)
    identity = ident.load_or_create(data_dir)
    create_web_tables(db)
    return HQ(db, blobs, identity, Ingest(db, blobs, identity), FORMS_ROOT)


def add_users(hq, password: str = PASSWORD) -> None:
    from sync.server.web.accounts import create_user

    for username, name, role, department, cert in USERS:
        create_user(hq.db, username, name, role, department, password, cert_no=cert)


@pytest.fixture(scope="module")
def hq_dir(synced_demo, tmp_path_factory) -> Path:
    """A private copy of the synced demo HQ with the web users of USERS."""
    target = tmp_path_factory.mktemp("hq-copy") / "hq"
    shutil.copytree(synced_demo.hq_dir, target)
    hq = open_hq(target)
    try:
        add_users(hq)
    finally:
        hq.db.close()
    return target


@pytest.fixture(scope="module")
def web_hq(hq_dir):
    hq = open_hq(hq_dir)
    yield hq
    hq.db.close()


@pytest.fixture(scope="module")
def app(web_hq):
    from sync.server.app import create_app

    return create_app(web_hq)


@pytest.fixture
def client(app):
    from starlette.testclient import TestClient

    with TestClient(app, base_url="http://testserver") as c:
        yield c


def login(client, username: str, password: str = PASSWORD, next_: str = "/search"):
    """Log in through the real form (GET /login for the CSRF token, POST it); returns the response."""
    import re

    page = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    return client.post("/login", data={"username": username, "password": password, "csrf": token, "next": next_},
                       follow_redirects=False)


def csrf_of(html: str) -> str:
    import re

    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def audit_rows(hq, action: str | None = None) -> list[dict]:
    from sync.server.web.audit import list_events

    return list_events(hq.db, limit=10000, action=action)


# --- supervision data (compliance, reviews, retention): built once per session ---------------------------

@pytest.fixture(scope="session")
def supervised(synced_demo, tmp_path_factory, secret_service):
    """The synced demo plus department A's second laptop (paused recording, unrecorded questioning);
    see tests/web/supervision.py. Do not modify its ``hq_dir``: the ``hq`` fixture copies it."""
    from tests.conftest import reset_keyring
    from tests.web.supervision import build_supervised

    root = tmp_path_factory.mktemp("web-supervised")
    saved = {k: os.environ.get(k) for k in ("HOME", "DBUS_SESSION_BUS_ADDRESS")}
    (root / "home").mkdir()
    os.environ["HOME"] = str(root / "home")
    os.environ["DBUS_SESSION_BUS_ADDRESS"] = secret_service.bus_address
    reset_keyring()
    try:
        return build_supervised(synced_demo, root)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        reset_keyring()


@pytest.fixture
def hq(supervised, tmp_path):
    """An in-process HQ over a private copy of the supervision data."""
    data = tmp_path / "hq"
    shutil.copytree(supervised.hq_dir, data)
    h = open_hq(data)
    h.data_dir = data
    yield h
    h.db.close()


@pytest.fixture
def web(hq):
    from tests.web.supervision import Web

    return Web(hq)
