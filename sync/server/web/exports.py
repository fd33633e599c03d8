"""Copies of evidence only with the head's approval (第六十九条), with a written description (第六十六条).

The state machine of one export request::

    pending ──approve (head: 批准文号)──▶ approved ──download──▶ (package built once, downloaded any number
       │                                    │                     of times until the approval expires)
       └──reject (head: 驳回理由)──▶ rejected  └── expires APPROVAL_VALID_NS after approval

Guaranteed (each refusal is an ``ExportRefused`` with a Chinese message, and an audit event "denied"):
- a request needs a reason and a source the requester may see (``catalog.Scope``); the package later
  holds only what the *requester's* scope covers, even when the head downloads it;
- only a user with role ``head`` whose department covers every source department approves or rejects
  (a department covers itself and every department whose name starts with it, e.g. 长安区人社局 covers
  长安区人社局劳动保障监察大队); nobody decides their own request; a decided request is never decided again;
- approval numbers (``长人社监复〔2026〕第0001号``) are unique and consecutive per year (a counter row
  updated in the approving transaction, plus a UNIQUE column);
- a package is built or downloaded only for an approved, unexpired request, by its requester or a head
  covering it; never for a pending, rejected or expired one;
- every step is an audit event: export_request, export_approve, export_reject, export_download, denied.

Dangerous: the first download builds the package (re-encodes the video) in the calling thread — call it
from the thread pool; a per-request lock keeps two concurrent downloads from building twice in this
process (one server process per data directory, as for the rest of field-hq).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sync.server.web import package as pkg
from sync.server.web.audit import audit_event
from sync.server.web.watermark import CHINA_TZ

APPROVAL_PREFIX = "长人社监复"
APPROVAL_VALID_NS = 7 * 24 * 3600 * 1_000_000_000
MAX_REASON = 500
STATUS_LABELS = {"pending": "待审批", "approved": "已批准", "rejected": "已驳回", "expired": "批准已过期"}

TABLES = """
CREATE TABLE IF NOT EXISTS export_requests (
    id TEXT PRIMARY KEY, requester TEXT NOT NULL, requester_name TEXT NOT NULL, requester_role TEXT NOT NULL,
    requester_department TEXT NOT NULL, requester_cert_no TEXT, scope TEXT NOT NULL, device_id TEXT,
    target TEXT NOT NULL, title TEXT NOT NULL, departments TEXT NOT NULL, reason TEXT NOT NULL,
    status TEXT NOT NULL, created_ns BIGINT NOT NULL, decided_by TEXT, decided_name TEXT, decided_ns BIGINT,
    approval_no TEXT UNIQUE, reject_reason TEXT, expires_ns BIGINT, package_path TEXT, package_sha256 TEXT,
    package_size BIGINT, built_ns BIGINT, downloads BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS export_requests_by_requester ON export_requests (requester, created_ns);
CREATE INDEX IF NOT EXISTS export_requests_by_status ON export_requests (status, created_ns);
CREATE TABLE IF NOT EXISTS export_counters (name TEXT PRIMARY KEY, value BIGINT NOT NULL);
"""
_COLUMNS = ("id", "requester", "requester_name", "requester_role", "requester_department", "requester_cert_no",
            "scope", "device_id", "target", "title", "departments", "reason", "status", "created_ns", "decided_by",
            "decided_name", "decided_ns", "approval_no", "reject_reason", "expires_ns", "package_path",
            "package_sha256", "package_size", "built_ns", "downloads")

_build_locks: dict[str, threading.Lock] = {}
_build_guard = threading.Lock()


class ExportRefused(Exception):
    """The step is not allowed; ``str()`` is the Chinese message to show, ``status`` the HTTP status."""

    def __init__(self, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class ExportRequest:
    id: str
    requester: str
    requester_name: str
    requester_role: str
    requester_department: str
    requester_cert_no: str | None
    scope: str
    device_id: str | None
    target: str
    title: str
    departments: str  # JSON list
    reason: str
    status: str
    created_ns: int
    decided_by: str | None
    decided_name: str | None
    decided_ns: int | None
    approval_no: str | None
    reject_reason: str | None
    expires_ns: int | None
    package_path: str | None
    package_sha256: str | None
    package_size: int | None
    built_ns: int | None
    downloads: int

    @property
    def department_list(self) -> list[str]:
        return json.loads(self.departments)

    @property
    def expired(self) -> bool:
        return self.status == "approved" and self.expires_ns is not None and time.time_ns() >= self.expires_ns

    @property
    def effective_status(self) -> str:
        return "expired" if self.expired else self.status

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.effective_status]

    @property
    def usable(self) -> bool:
        return self.status == "approved" and not self.expired

    @property
    def scope_label(self) -> str:
        return pkg.SCOPES.get(self.scope, self.scope)

    def when(self, field: str) -> str:
        ns = getattr(self, field)
        return datetime.fromtimestamp(ns / 1e9, CHINA_TZ).strftime("%Y-%m-%d %H:%M") if ns else ""


def _row(row) -> ExportRequest:
    return ExportRequest(*row)


def _clean_reason(text: str | None, what: str) -> str:
    text = unicodedata.normalize("NFC", str(text or "")).strip()
    if not text:
        raise ExportRefused(f"请填写{what}。", 400)
    if len(text) > MAX_REASON:
        raise ExportRefused(f"{what}不能超过 {MAX_REASON} 个字。", 400)
    return text


def covers(head_department: str, department: str) -> bool:
    """A department covers itself and the units whose names start with it (the agency covers its 大队)."""
    return bool(head_department) and department.startswith(head_department)


def _refuse(hq, user, message: str, target: str, status: int = 403, **detail) -> ExportRefused:
    audit_event(hq, user, "denied", target, {"why": message, **detail})
    return ExportRefused(message, status)


# --- scope of the requester ------------------------------------------------------------------------------

def _scope(hq, user):
    from sync.server.web.catalog import Scope

    return Scope.for_user(hq, user)


def visible_sources(hq, user, scope: str, target: str, device_id: str | None) -> pkg.Sources:
    """The sources of an export restricted to what ``user`` may see; ExportRefused if none is."""
    try:
        src = pkg.collect_sources(hq, scope, target, device_id)
    except pkg.PackageError as exc:
        raise ExportRefused(str(exc), 404) from None
    sc = _scope(hq, user)

    def seen(device: str, seqs: set[int]) -> bool:
        marks = ",".join("?" * len(seqs))
        return bool(sc.entries(f"e.device_id = ? AND e.seq IN ({marks})", (device, *sorted(seqs)), limit=1))

    src.recordings = [r for r in src.recordings if seen(r.device_id, r.seqs)]
    src.documents = [d for d in src.documents if seen(d.device_id, d.seqs)]
    if not src.recordings and not src.documents:
        raise ExportRefused("没有找到要导出的记录或录音录像，或您无权查看。", 404)
    with hq.db.transaction() as tx:
        pkg.refresh_people(tx, src)
    return src


# --- the steps ----------------------------------------------------------------------------------------------

def request_export(hq, user, scope: str, target: str, reason: str, device_id: str | None = None) -> ExportRequest:
    """File a request (status pending). ExportRefused if the reason is missing or the source is not
    visible to ``user``."""
    try:
        reason = _clean_reason(reason, "申请事由")
        if scope not in pkg.SCOPES:
            raise ExportRefused("导出范围只能是单份文书、单段录音录像或整个案件。", 400)
        if scope != "case" and not device_id:
            raise ExportRefused("缺少设备编号。", 400)
        src = visible_sources(hq, user, scope, str(target), device_id)
    except ExportRefused as exc:
        audit_event(hq, user, "denied", f"export:{scope}:{target}", {"why": exc.message})
        raise
    rid = "exp-" + secrets.token_hex(8)
    stamp = time.time_ns()
    with hq.db.transaction() as tx:
        tx.execute(f"INSERT INTO export_requests ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})",
                   (rid, user.username, user.display_name, user.role, user.department, user.cert_no, scope,
                    device_id if scope != "case" else None, str(target), src.title,
                    json.dumps(sorted(src.departments), ensure_ascii=False), reason, "pending", stamp, None, None, None,
                    None, None, None, None, None, None, None, 0))
    audit_event(hq, user, "export_request", rid, {"scope": scope, "target": str(target), "device": device_id,
                                                  "title": src.title, "reason": reason})
    return get_request(hq, rid)


def get_request(hq, request_id: str) -> ExportRequest | None:
    with hq.db.transaction() as tx:
        row = tx.one(f"SELECT {', '.join(_COLUMNS)} FROM export_requests WHERE id = ?", (str(request_id),))
    return _row(row) if row else None


def list_mine(hq, user, limit: int = 200) -> list[ExportRequest]:
    with hq.db.transaction() as tx:
        rows = tx.all(f"SELECT {', '.join(_COLUMNS)} FROM export_requests WHERE requester = ? "
                      "ORDER BY created_ns DESC LIMIT ?", (user.username, limit))
    return [_row(r) for r in rows]


def may_decide(user, req: ExportRequest) -> bool:
    return (user.role == "head" and user.username != req.requester
            and all(covers(user.department, d) for d in req.department_list))


def list_for_head(hq, head, limit: int = 200) -> tuple[list[ExportRequest], list[ExportRequest]]:
    """(pending requests this head may decide, recently decided requests this head covers)."""
    if head.role != "head":
        return [], []
    with hq.db.transaction() as tx:
        rows = [_row(r) for r in tx.all(f"SELECT {', '.join(_COLUMNS)} FROM export_requests "
                                        "ORDER BY created_ns DESC LIMIT ?", (limit * 5,))]
    pending = [r for r in rows if r.status == "pending" and may_decide(head, r)]
    decided = [r for r in rows if r.status != "pending" and all(covers(head.department, d) for d in r.department_list)]
    return pending, decided[:limit]


def _check_decider(hq, head, request_id: str) -> ExportRequest:
    req = get_request(hq, request_id)
    target = f"export:{request_id}"
    if req is None:
        raise _refuse(hq, head, "没有这个导出申请。", target, 404)
    if head.role != "head":
        raise _refuse(hq, head, "只有负责人可以审批导出申请（第六十九条）。", target)
    if head.username == req.requester:
        raise _refuse(hq, head, "不能审批自己提出的导出申请。", target)
    if not all(covers(head.department, d) for d in req.department_list):
        raise _refuse(hq, head, "该申请涉及的部门不在您的管辖范围内，不能审批。", target)
    if req.status != "pending":
        raise _refuse(hq, head, f"该申请已{STATUS_LABELS[req.status]}，不能再次审批。", target, 409)
    return req


def _next_approval_no(tx, year: int, prefix: str) -> str:
    key = f"approval:{year}"
    tx.execute("INSERT INTO export_counters (name, value) VALUES (?, 0) ON CONFLICT DO NOTHING", (key,))
    tx.execute("UPDATE export_counters SET value = value + 1 WHERE name = ?", (key,))  # PG: row lock until commit
    (n,) = tx.one("SELECT value FROM export_counters WHERE name = ?", (key,))
    return f"{prefix}〔{year}〕第{n:04d}号"


def approve(hq, head, request_id: str, *, valid_ns: int = APPROVAL_VALID_NS,
            prefix: str = APPROVAL_PREFIX) -> ExportRequest:
    """Approve with a new approval number; ExportRefused (audited) if ``head`` may not."""
    _check_decider(hq, head, request_id)
    stamp = time.time_ns()
    year = datetime.fromtimestamp(stamp / 1e9, CHINA_TZ).year
    with hq.db.transaction() as tx:
        number = _next_approval_no(tx, year, prefix)
        changed = tx.execute("UPDATE export_requests SET status = 'approved', decided_by = ?, decided_name = ?, "
                             "decided_ns = ?, approval_no = ?, expires_ns = ? WHERE id = ? AND status = 'pending'",
                             (head.username, head.display_name, stamp, number, stamp + valid_ns, request_id))
        if changed != 1:
            raise ExportRefused("该申请已被处理，不能再次审批。", 409)  # rolls the counter back too
    audit_event(hq, head, "export_approve", request_id, {"approval_no": number, "expires_ns": stamp + valid_ns})
    return get_request(hq, request_id)


def reject(hq, head, request_id: str, reason: str) -> ExportRequest:
    """Reject with a reason; ExportRefused (audited) if ``head`` may not or the reason is missing."""
    _check_decider(hq, head, request_id)
    try:
        reason = _clean_reason(reason, "驳回理由")
    except ExportRefused as exc:
        raise _refuse(hq, head, exc.message, f"export:{request_id}", 400) from None
    with hq.db.transaction() as tx:
        changed = tx.execute("UPDATE export_requests SET status = 'rejected', decided_by = ?, decided_name = ?, "
                             "decided_ns = ?, reject_reason = ? WHERE id = ? AND status = 'pending'",
                             (head.username, head.display_name, time.time_ns(), reason, request_id))
        if changed != 1:
            raise ExportRefused("该申请已被处理，不能再次审批。", 409)
    audit_event(hq, head, "export_reject", request_id, {"reason": reason})
    return get_request(hq, request_id)


def _check_usable(hq, user, request_id: str) -> ExportRequest:
    req = get_request(hq, request_id)
    target = f"export:{request_id}"
    if req is None:
        raise _refuse(hq, user, "没有这个导出申请。", target, 404)
    is_head = user.role == "head" and all(covers(user.department, d) for d in req.department_list)
    if user.username != req.requester and not is_head:
        raise _refuse(hq, user, "只有申请人或负责人可以下载该导出包。", target)
    if req.status == "pending":
        raise _refuse(hq, user, "该导出申请尚未经负责人批准，不能导出或下载（第六十九条）。", target)
    if req.status == "rejected":
        raise _refuse(hq, user, f"该导出申请已被驳回（{req.reject_reason}），不能导出或下载。", target)
    if req.expired:
        raise _refuse(hq, user, f"批准已于 {req.when('expires_ns')} 过期，不能再导出或下载，请重新申请。", target)
    return req


def package_file(hq, req: ExportRequest) -> Path | None:
    """The built package if it is on disk."""
    if not req.package_path:
        return None
    path = Path(hq.blobs.root) / req.package_path
    return path if path.is_file() else None


def build(hq, user, request_id: str) -> ExportRequest:
    """Build the package of an approved, unexpired request if not built yet (see module docstring)."""
    req = _check_usable(hq, user, request_id)
    with _build_guard:
        lock = _build_locks.setdefault(request_id, threading.Lock())
    with lock:
        req = get_request(hq, request_id)
        if package_file(hq, req) is not None:
            return req
        requester = _requester(req)
        src = visible_sources(hq, requester, req.scope, req.target, req.device_id)
        info = pkg.PackageInfo(req.id, req.reason, req.requester, req.requester_name, req.requester_department,
                               req.decided_by or "", req.decided_name or "", req.approval_no or "", req.decided_ns or 0,
                               time.time_ns())
        out_dir = Path(hq.blobs.root) / "exports" / req.id
        try:
            path, sha, size = pkg.build_package(hq, src, info, out_dir)
        except pkg.PackageError as exc:
            raise ExportRefused(str(exc), 409) from None
        with hq.db.transaction() as tx:
            tx.execute("UPDATE export_requests SET package_path = ?, package_sha256 = ?, package_size = ?, built_ns = ? "
                       "WHERE id = ?", (str(path.relative_to(hq.blobs.root)), sha, size, info.exported_ns, req.id))
    return get_request(hq, request_id)


def _requester(req: ExportRequest):
    from sync.server.web.accounts import User

    return User(req.requester, req.requester_name, req.requester_role, req.requester_department,
                req.requester_cert_no)


def download(hq, user, request_id: str) -> tuple[ExportRequest, Path]:
    """Check, build if needed, count and audit one download; returns the request and the ZIP path."""
    req = build(hq, user, request_id)
    path = package_file(hq, req)
    with hq.db.transaction() as tx:
        tx.execute("UPDATE export_requests SET downloads = downloads + 1 WHERE id = ?", (req.id,))
    audit_event(hq, user, "export_download", req.id, {"approval_no": req.approval_no, "sha256": req.package_sha256,
                                                      "size": req.package_size})
    return get_request(hq, req.id), path
