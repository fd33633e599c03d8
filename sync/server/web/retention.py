"""Retention of A/V and documents (第六十五条、第六十七条): category, legal hold, approved deletion.

Units: each recording (``rec-…``) and each finalized record (document) of each device. Category:

- 长期 when 第六十七条 applies, found from the log: the record belongs to a coercive measure (封存,
  先行登记保存证据: 第六十七条（一）); the party refused or obstructed (留置送达 step in 送达, a refused
  sign-off of a printed page: 第六十七条（三）); or marked by the head/legal office (投诉、异议 （二）,
  群体性事件 （四）, 其他 （五）). A recording is 长期 when a procedure session of its device that ran
  during it (or is named in its ``procedure_sessions``) is 长期.
- otherwise 2 years: kept through the same calendar day two years after the matter (Beijing time).

Legal hold (诉讼保留) stops deletion until released. Deletion: requested with a reason after the date,
approved by the agency head (never the requester), then only the *media files* are removed — the
device's log entries are the evidence chain and are never deleted, and the ``blobs`` row stays so the
device is not asked to upload it again. Each deletion leaves a tombstone (who asked, who approved, the
approval number, what was removed with SHA-256 and size); ``removed_media`` / ``annotate`` let the
integrity checks say 「已按保存期限删除（审批号…）」 instead of "missing".

Dangerous: a file shared with a unit that is kept (the same photo in another record) is not removed
(it is listed as kept). Deletion is irreversible; it re-checks every condition at approval time.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from datetime import date, datetime, time as dtime, timedelta

from forms.deadlines import BEIJING
from sync.server.web.compliance import Logs, document_title, load_logs, ns_text, _registry

LONG_TERM, DEFAULT = "长期", "两年"
COERCIVE = ("sealing", "preservation")
MARK_REASONS = {"complaint": "当事人有异议、投诉或上访（第六十七条（二））",
                "incident": "参与处置群体性事件、突发事件（第六十七条（四））",
                "other": "其他需要长期保存的情况（第六十七条（五））"}

TABLES = """
CREATE TABLE IF NOT EXISTS retention_marks (
    device_id TEXT NOT NULL, record_id TEXT NOT NULL, reason TEXT NOT NULL, note TEXT NOT NULL, marked_by TEXT NOT NULL,
    marked_ns BIGINT NOT NULL, PRIMARY KEY (device_id, record_id, reason));
CREATE TABLE IF NOT EXISTS retention_holds (
    id TEXT PRIMARY KEY, device_id TEXT NOT NULL, record_id TEXT NOT NULL, reason TEXT NOT NULL, set_by TEXT NOT NULL,
    set_ns BIGINT NOT NULL, released_by TEXT, released_ns BIGINT, release_reason TEXT);
CREATE TABLE IF NOT EXISTS retention_deletions (
    id TEXT PRIMARY KEY, device_id TEXT NOT NULL, record_id TEXT NOT NULL, reason TEXT NOT NULL,
    requested_by TEXT NOT NULL, requested_ns BIGINT NOT NULL, status TEXT NOT NULL, decided_by TEXT, decided_ns BIGINT,
    approval_no TEXT, removed TEXT, kept TEXT);
CREATE TABLE IF NOT EXISTS retention_removed (
    sha256 TEXT PRIMARY KEY, deletion_id TEXT NOT NULL, approval_no TEXT NOT NULL, removed_ns BIGINT NOT NULL);
"""


class RetentionError(ValueError):
    """A refused retention action; ``str()`` is Chinese for the user."""


@dataclass
class Unit:
    device_id: str
    record_id: str
    kind: str  # 录像 / 文书
    title: str
    department: str
    officers: list[str]
    matter_ns: int
    reasons: list[str] = field(default_factory=list)
    hold: dict | None = None
    deleted: dict | None = None

    @property
    def category(self) -> str:
        return LONG_TERM if self.reasons else DEFAULT

    @property
    def keep_until(self) -> date | None:
        """The last day it must be kept; None for 长期."""
        if self.reasons:
            return None
        day = datetime.fromtimestamp(self.matter_ns / 1e9, BEIJING).date()
        try:
            return day.replace(year=day.year + 2)
        except ValueError:  # 29 February
            return day.replace(year=day.year + 2, day=28)

    def deletable_from_ns(self) -> int | None:
        until = self.keep_until
        if until is None:
            return None
        return int(datetime.combine(until + timedelta(days=1), dtime(0), tzinfo=BEIJING).timestamp()) * 10**9

    def status(self, now_ns: int) -> str:
        if self.deleted:
            return f"媒体文件已按保存期限删除（审批号{self.deleted['approval_no']}）"
        if self.hold:
            return "诉讼保留中"
        start = self.deletable_from_ns()
        if start is None:
            return "长期保存"
        return "已届满，可申请删除" if now_ns >= start else "保存期内"

    def row(self, now_ns: int) -> dict:
        until = self.keep_until
        return {"device_id": self.device_id, "record_id": self.record_id, "kind": self.kind, "title": self.title,
                "department": self.department, "officers": self.officers, "matter_at": ns_text(self.matter_ns),
                "category": self.category, "reasons": "；".join(self.reasons),
                "keep_until": "长期" if until is None else f"{until.year}年{until.month}月{until.day}日",
                "status": self.status(now_ns), "hold": self.hold, "deleted": self.deleted}


def _long_term_sessions(logs: Logs) -> dict[tuple[str, str], list[str]]:
    out: dict[tuple[str, str], list[str]] = {}
    for key, s in logs.sessions.items():
        reasons = []
        if s.procedure[0] in COERCIVE:
            reasons.append("采取行政强制措施（第六十七条（一））")
        if s.procedure[0] == "service" and any(r.step == "lien" for r in s.runs):
            reasons.append("受送达人拒绝签收，留置送达（第六十七条（三））")
        if reasons:
            out[key] = reasons
    return out


def units(hq, departments: frozenset[str] | None = None, officer: str | None = None) -> list[Unit]:
    """Every recording and record in scope with its category, hold and deletion."""
    with hq.db.transaction() as tx:
        logs = load_logs(tx, departments, 0)
        marks = tx.all("SELECT device_id, record_id, reason, note FROM retention_marks")
        holds = tx.all("SELECT id, device_id, record_id, reason, set_by, set_ns FROM retention_holds "
                       "WHERE released_ns IS NULL")
        deletions = tx.all("SELECT device_id, record_id, approval_no, decided_by, decided_ns FROM retention_deletions "
                           "WHERE status = 'done'")
    reg = _registry(hq)
    long_sessions = _long_term_sessions(logs)
    out: dict[tuple[str, str], Unit] = {}
    for (device, rid), rec in logs.records.items():
        u = Unit(device, rid, "文书", document_title(reg, rec.payload), rec.department, rec.officers, rec.at_ns)
        u.reasons += long_sessions.get((device, rec.payload.get("session", "")), [])
        if rec.refused_signoff:
            u.reasons.append("当事人拒绝签名（第六十七条（三））")
        out[(device, rid)] = u
    for (device, rid), r in logs.recordings.items():
        u = Unit(device, rid, "录像", f"{r.matter or '录像'}（{r.place}）", r.department, r.officers, r.matter_ns)
        for (sdev, sid), reasons in long_sessions.items():
            s = logs.sessions[(sdev, sid)]
            if sdev == device and s.start_ns <= r.matter_ns and (s.finish_ns or s.last_ns) >= r.start_ns:
                u.reasons += [x for x in reasons if x not in u.reasons]
        out[(device, rid)] = u
    for device, rid, reason, note in marks:
        if (device, rid) in out:
            out[(device, rid)].reasons.append(MARK_REASONS.get(reason, reason) + (f"：{note}" if note else ""))
    for hid, device, rid, reason, by, at in holds:
        if (device, rid) in out:
            out[(device, rid)].hold = {"id": hid, "reason": reason, "by": by, "at": ns_text(at)}
    for device, rid, no, by, at in deletions:
        if (device, rid) in out:
            out[(device, rid)].deleted = {"approval_no": no, "by": by, "at": ns_text(at)}
    result = [u for u in out.values() if officer is None or officer in u.officers]
    return sorted(result, key=lambda u: (u.matter_ns, u.device_id, u.record_id))


def unit(hq, device_id: str, record_id: str) -> Unit | None:
    for u in units(hq):
        if (u.device_id, u.record_id) == (device_id, record_id):
            return u
    return None


def mark_long_term(hq, device_id: str, record_id: str, reason: str, note: str, by: str) -> None:
    """Mark a unit 长期 for a reason the log cannot show (complaint, incident, other)."""
    if reason not in MARK_REASONS:
        raise RetentionError("请选择长期保存的原因。")
    if unit(hq, device_id, record_id) is None:
        raise RetentionError("没有这条记录。")
    with hq.db.transaction() as tx:
        tx.execute("INSERT INTO retention_marks (device_id, record_id, reason, note, marked_by, marked_ns) "
                   "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                   (device_id, record_id, reason, (note or "").strip()[:500], by, time.time_ns()))


def set_hold(hq, device_id: str, record_id: str, reason: str, by: str) -> str:
    if not (reason or "").strip():
        raise RetentionError("设置诉讼保留必须说明原因。")
    u = unit(hq, device_id, record_id)
    if u is None:
        raise RetentionError("没有这条记录。")
    if u.hold:
        raise RetentionError("这条记录已经处于诉讼保留中。")
    hold_id = "H" + secrets.token_hex(6)
    with hq.db.transaction() as tx:
        tx.execute("INSERT INTO retention_holds (id, device_id, record_id, reason, set_by, set_ns) VALUES (?, ?, ?, ?, ?, ?)",
                   (hold_id, device_id, record_id, reason.strip()[:500], by, time.time_ns()))
    return hold_id


def release_hold(hq, hold_id: str, reason: str, by: str) -> None:
    if not (reason or "").strip():
        raise RetentionError("解除诉讼保留必须说明原因。")
    with hq.db.transaction() as tx:
        if tx.execute("UPDATE retention_holds SET released_by = ?, released_ns = ?, release_reason = ? "
                      "WHERE id = ? AND released_ns IS NULL", (by, time.time_ns(), reason.strip()[:500], hold_id)) != 1:
            raise RetentionError("没有这项正在生效的诉讼保留。")


def _eligible(u: Unit | None, now_ns: int) -> None:
    if u is None:
        raise RetentionError("没有这条记录。")
    if u.deleted:
        raise RetentionError("这条记录的媒体文件已经删除。")
    if u.hold:
        raise RetentionError("诉讼保留中，不得删除。")
    start = u.deletable_from_ns()
    if start is None:
        raise RetentionError("该记录应当长期保存（" + "；".join(u.reasons) + "），不得删除。")
    if now_ns < start:
        raise RetentionError(f"保存期限至{u.row(now_ns)['keep_until']}，期满前不得删除（第六十五条）。")


def request_deletion(hq, device_id: str, record_id: str, reason: str, by: str, now_ns: int | None = None) -> str:
    """A deletion request for one unit past its date; returns its id. Nothing is removed yet."""
    now_ns = time.time_ns() if now_ns is None else now_ns
    if not (reason or "").strip():
        raise RetentionError("申请删除必须说明理由。")
    _eligible(unit(hq, device_id, record_id), now_ns)
    request_id = "D" + secrets.token_hex(6)
    with hq.db.transaction() as tx:
        if tx.one("SELECT 1 FROM retention_deletions WHERE device_id = ? AND record_id = ? AND status = 'pending'",
                  (device_id, record_id)):
            raise RetentionError("这条记录已有待审批的删除申请。")
        tx.execute("INSERT INTO retention_deletions (id, device_id, record_id, reason, requested_by, requested_ns, status) "
                   "VALUES (?, ?, ?, ?, ?, ?, 'pending')",
                   (request_id, device_id, record_id, reason.strip()[:500], by, now_ns))
    return request_id


def list_requests(hq, status: str | None = None) -> list[dict]:
    sql = ("SELECT id, device_id, record_id, reason, requested_by, requested_ns, status, decided_by, decided_ns, "
           "approval_no, removed, kept FROM retention_deletions")
    with hq.db.transaction() as tx:
        rows = tx.all(sql + (" WHERE status = ?" if status else "") + " ORDER BY requested_ns DESC",
                      (status,) if status else ())
    return [{"id": r[0], "device_id": r[1], "record_id": r[2], "reason": r[3], "requested_by": r[4],
             "requested_at": ns_text(r[5]), "status": r[6], "decided_by": r[7], "decided_at": ns_text(r[8]),
             "approval_no": r[9], "removed": json.loads(r[10]) if r[10] else [], "kept": json.loads(r[11]) if r[11] else []}
            for r in rows]


def _media_of(tx, device_id: str, record_id: str) -> list[str]:
    shas: list[str] = []
    for (media,) in tx.all("SELECT media FROM entries WHERE device_id = ? AND record_id IN (?, ?) ORDER BY seq",
                           (device_id, record_id, "paper:" + record_id)):
        shas += [s for s in json.loads(media) if s not in shas]
    return shas


def decide_deletion(hq, request_id: str, approve: bool, by: str, now_ns: int | None = None) -> dict:
    """The head's decision. Approving re-checks the conditions, removes the unit's media files that no
    other unit uses, and records the tombstone; returns the request as listed by ``list_requests``."""
    now_ns = time.time_ns() if now_ns is None else now_ns
    with hq.db.transaction() as tx:
        row = tx.one("SELECT device_id, record_id, requested_by, status FROM retention_deletions WHERE id = ?",
                     (request_id,))
    if row is None or row[3] != "pending":
        raise RetentionError("没有这项待审批的删除申请。")
    device_id, record_id, requester, _ = row
    if requester == by:
        raise RetentionError("申请人不能审批自己的删除申请。")
    if not approve:
        with hq.db.transaction() as tx:
            tx.execute("UPDATE retention_deletions SET status = 'rejected', decided_by = ?, decided_ns = ? WHERE id = ? "
                       "AND status = 'pending'", (by, now_ns, request_id))
        return next(r for r in list_requests(hq) if r["id"] == request_id)
    _eligible(unit(hq, device_id, record_id), now_ns)
    year = datetime.fromtimestamp(now_ns / 1e9, BEIJING).year
    removed, kept = [], []
    with hq.db.transaction() as tx:
        n = tx.one("SELECT count(*) FROM retention_deletions WHERE status = 'done' AND approval_no LIKE ?",
                   (f"保删〔{year}〕%",))[0]
        approval_no = f"保删〔{year}〕{n + 1}号"
        mine = _media_of(tx, device_id, record_id)
        for sha in mine:
            users = tx.all("SELECT device_id, record_id FROM entries WHERE media LIKE ?", (f'%"{sha}"%',))
            others = {(d, r) for d, r in users if d != device_id or r not in (record_id, "paper:" + record_id)}
            if others:
                kept.append({"sha256": sha, "why": "仍被其他记录引用"})
                continue
            size = tx.one("SELECT size FROM blobs WHERE sha256 = ?", (sha,))
            removed.append({"sha256": sha, "size": size[0] if size else None})
            tx.execute("INSERT INTO retention_removed (sha256, deletion_id, approval_no, removed_ns) VALUES (?, ?, ?, ?) "
                       "ON CONFLICT DO NOTHING", (sha, request_id, approval_no, now_ns))
        tx.execute("UPDATE retention_deletions SET status = 'done', decided_by = ?, decided_ns = ?, approval_no = ?, "
                   "removed = ?, kept = ? WHERE id = ?",
                   (by, now_ns, approval_no, json.dumps(removed), json.dumps(kept, ensure_ascii=False), request_id))
    for item in removed:  # after the commit: a crash here leaves a tombstone for a file still present
        path = hq.blobs.path(item["sha256"])
        try:
            path.unlink()
        except FileNotFoundError:
            pass
    return next(r for r in list_requests(hq) if r["id"] == request_id)


def removed_media(db) -> dict[str, str]:
    """SHA-256 → approval number of every media file removed under retention (for integrity checks)."""
    from sync.server.verify import removed_under_retention

    return removed_under_retention(db)


def missing_note(sha256: str, removed: dict[str, str]) -> str:
    """What an integrity check should say about a media file that is not on disk."""
    if sha256 in removed:
        return f"已按保存期限删除（审批号{removed[sha256]}）"
    return "媒体文件缺失"
