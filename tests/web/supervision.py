"""Shared data for the supervision tests (compliance, reviews, retention): on top of the synced demo
(conftest.SyncedDemo), a second laptop of department A on which (1) a recording was paused twice at one
place and (2) a questioning was carried out after that recording had stopped — the "mandatory step
without recording" case. ``make_late`` moves HQ-side arrival times to make a late upload. Fixtures
(``supervised``, ``hq``, ``web``) live in conftest.py so the expensive build runs once per session."""

from __future__ import annotations

import io
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from tests.web.conftest import DEPT_A, DEPT_B, SyncedDemo

HOUR = 3600 * 10**9


@dataclass(frozen=True)
class SupervisedHQ:
    hq_dir: Path          # do not modify: copy (``open_copy``)
    demo: SyncedDemo
    device_c: str         # the second laptop of department A
    paused_recording: str
    unrecorded_session: str


class _AlwaysRecording:
    """The laptop believed it was recording (e.g. the camera feed froze) — nothing was recorded."""

    def is_recording(self, session_id: str) -> bool:
        return True


class _Stills:
    """Stands in for the recording when the procedure asks for photos: stores a JPEG-typed blob."""

    procedure_sessions: tuple = ()

    def __init__(self, store) -> None:
        self.store = store

    def take_still(self, note: str) -> str:
        return self.store.put_media(io.BytesIO(os.urandom(2048)), media_type="image/jpeg").sha256

    def join(self, session_id: str) -> None:  # as RecordingSession.join, without a recording to log in
        self.procedure_sessions = (*self.procedure_sessions, session_id)


def build_supervised(demo: SyncedDemo, root: Path) -> SupervisedHQ:
    from field_app.capture.encoder import EncoderSettings
    from field_app.capture.session import RecordingSession
    from field_app.capture.sources import SyntheticAudio, SyntheticVideo
    from field_app.demo import CASE, MATTER, OFFICERS, PLACE, _run_procedure
    from field_app.store import Store
    from field_app.store.keys import KdfParams
    from sync.client import enrol, sync_once
    from tests.harness.hq import HQProcess

    hq_dir = root / "hq"
    shutil.copytree(demo.hq_dir, hq_dir)
    public = bytes.fromhex(next(demo.hq_dir.parent.glob("escrow-*.pub")).read_text().strip())
    store = Store.create(root / "laptop-c", officers=list(OFFICERS), hq_public_key=public,
                         kdf=KdfParams(memory_kib=8192, time_cost=1, parallelism=1))
    try:
        with store.keep_unlocked():
            store.add_case(**CASE)
            rec = RecordingSession(store, case_no=CASE["case_no"], place=PLACE, matter=MATTER,
                                   video=SyntheticVideo(320, 180, 10), audio=SyntheticAudio(),
                                   settings=EncoderSettings(width=320, height=180, fps=10, video_bitrate=200_000,
                                                            segment_seconds=1.0))
            rec.start()
            end = time.monotonic() + 20
            while rec._last_frame is None and time.monotonic() < end:
                time.sleep(0.05)
            rec.confirm_notice()
            for reason in ("更换电池", "当事人要求暂停"):
                time.sleep(1.2)
                rec.pause(reason)
                time.sleep(0.3)
                rec.resume()
            time.sleep(1.2)
            rec.stop()
            time.sleep(3.5)  # the questioning below starts well after the recording stopped
            (root / "out-c").mkdir()
            _run_procedure(store, _AlwaysRecording(), _Stills(store), "questioning", root / "out-c")
        hq = HQProcess(hq_dir).start()
        try:
            enrol(store, root / "laptop-c", hq.url, hq.admin("enrolment-code", "--department", DEPT_A).strip())
            result = sync_once(store, root / "laptop-c")
            assert result.ok, result.message
        finally:
            hq.stop()
        device_c = store.store_id
    finally:
        store.close()
    import sqlite3

    con = sqlite3.connect(hq_dir / "hq.db")
    try:
        session, = con.execute("SELECT payload FROM entries WHERE device_id = ? AND entry_type = 'procedure.start'",
                               (device_c,)).fetchone()
    finally:
        con.close()
    return SupervisedHQ(hq_dir, demo, device_c, rec.recording_id, json.loads(session)["session"])


def make_late(hq, device_id: str, record_id: str, hours: float = 30) -> None:
    """Move what HQ recorded as the arrival of one record (entries and media) ``hours`` after it."""
    with hq.db.transaction() as tx:
        rows = tx.all("SELECT seq, wall_ns, media FROM entries WHERE device_id = ? AND record_id = ?", (device_id, record_id))
        late = max(w for _, w, _ in rows) + int(hours * HOUR)
        tx.execute("UPDATE entries SET received_ns = ? WHERE device_id = ? AND record_id = ?", (late, device_id, record_id))
        others = {sha for (media,) in tx.all("SELECT media FROM entries WHERE NOT (device_id = ? AND record_id = ?)",
                                             (device_id, record_id)) for sha in json.loads(media)}
        for _, _, media in rows:
            for sha in set(json.loads(media)) - others:  # a photo also taken as a still arrived with it
                tx.execute("UPDATE blobs SET stored_ns = ? WHERE sha256 = ?", (late, sha))


def everything() -> "object":
    from sync.server.web.compliance import Filter

    return Filter(0, 2**62)


def first_record(hq, device_id: str, document: str) -> str:
    with hq.db.transaction() as tx:
        for rid, payload in tx.all("SELECT record_id, payload FROM entries WHERE device_id = ? AND entry_type = 'record' "
                                   "ORDER BY seq", (device_id,)):
            if json.loads(payload)["document"]["id"] == document:
                return rid
    raise AssertionError(document)


USERS = {  # username: (role, department, cert_no)
    "admin": ("admin", DEPT_A, None), "head": ("head", DEPT_A, None), "legal": ("legal", DEPT_A, None),
    "unit_a": ("unit_head", DEPT_A, None), "unit_b": ("unit_head", DEPT_B, None),
    "wang": ("officer", DEPT_A, "13010220170031"), "zhang": ("officer", DEPT_B, "13010820200011"),
}


class Web:
    """The web app over ``hq``; ``as_(username)`` → (TestClient logged in as that user, csrf token)."""

    def __init__(self, hq) -> None:
        from fastapi import FastAPI
        from fastapi.testclient import TestClient

        from sync.server.web import mount_web

        self.hq = hq
        self.app = FastAPI()
        mount_web(self.app, hq)
        self.anonymous = TestClient(self.app, follow_redirects=False)

    def as_(self, username: str):
        from fastapi.testclient import TestClient

        from sync.server.web.accounts import create_user, get_user, start_session
        from sync.server.web.auth import SESSION_COOKIE

        user = get_user(self.hq.db, username)
        if user is None:
            role, dept, cert = USERS[username]
            user = create_user(self.hq.db, username, username, role, dept, "测试口令-2026-足够长", cert)
        token, session = start_session(self.hq.db, user)
        client = TestClient(self.app, follow_redirects=False, cookies={SESSION_COOKIE: token})
        return client, session.csrf


def audit_actions(hq, username: str) -> list[tuple[str, str]]:
    with hq.db.transaction() as tx:
        return [(a, t) for a, t in tx.all("SELECT action, target FROM web_audit WHERE username = ? ORDER BY seq",
                                          (username,))]
