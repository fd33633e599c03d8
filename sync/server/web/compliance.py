"""Compliance dashboard (第七十一条、第七十二条): what HQ can prove went wrong, computed from the
synced evidence logs. Plain functions over the HQ database; no HTTP, no Qt, no field_app.

Tables (each a ``Table`` with Chinese column labels, exportable as CSV with ``to_csv``):

- ``late``: recordings and records whose entries or media reached HQ more than 24 h after the
  matter (recording stop / record time) — 第六十五条; media still missing after 24 h count too.
- ``uncovered``: steps of procedures whose definition makes A/V mandatory (forms/procedures,
  ``recording.mandatory``) whose time span is not covered by recorded segments of the same device.
- ``breaks``: recordings with pauses, gaps or discontinuous segments; two or more breaks in one
  recording (one recording = one place) is a red flag (第六十二条（五）).
- ``overdue``: statutory deadlines started by procedure entries (``effects``) that ran out without
  being ended, or were ended late (emergency sealing report, preservation decision, sealing term,
  archive …). ``av_upload`` is left to the ``late`` table: HQ knows the real upload time.
- ``officers`` / ``units``: counts per officer and per department for the period.

Guarantees: read-only; every table lists only what the ``Filter`` allows (period by the matter's
time, departments, one officer); the same database and ``now`` give the same tables.
Dangerous: times come from the device clock (``wall_ns``, ``at``); a device with a skewed clock (see
the integrity panel) shifts its matters. Step times (``at``) are whole seconds, so coverage is checked
with a tolerance of ``TOLERANCE_NS`` each side. Loads every entry of the period (plus ``MARGIN_NS``
before it, and everything after for deadlines) into memory: fine for a district, not for a province.
"""

from __future__ import annotations

import csv
import io
import json
import time
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

from forms.deadlines import BEIJING, compute_due, format_due, format_remaining

HOUR_NS = 3600 * 10**9
UPLOAD_LIMIT_NS = 24 * HOUR_NS
TOLERANCE_NS = 10**9
MARGIN_NS = 3 * 24 * HOUR_NS
HQ_DECIDED_DEADLINES = frozenset({"av_upload"})
TYPES = ("case", "recording.start", "recording.segment", "recording.pause", "recording.resume", "recording.gap",
         "recording.still", "recording.stop", "procedure.start", "procedure.step", "procedure.finish", "record",
         "approval", "deadline", "print", "print.signoff")


@dataclass(frozen=True)
class Filter:
    """What a table may show: matters in [start_ns, end_ns), of ``departments`` (None = all), and
    when ``officer`` is a 执法证号 only matters that officer took part in."""

    start_ns: int
    end_ns: int
    departments: frozenset[str] | None = None
    officer: str | None = None

    def allows(self, department: str, officers: Iterable[str], at_ns: int | None) -> bool:
        if self.departments is not None and department not in self.departments:
            return False
        if self.officer is not None and self.officer not in officers:
            return False
        return at_ns is None or self.start_ns <= at_ns < self.end_ns


@dataclass
class Table:
    """A titled table: ``columns`` are (key, Chinese label); ``rows`` are dicts by key."""

    name: str
    title: str
    basis: str
    columns: list[tuple[str, str]]
    rows: list[dict[str, Any]] = field(default_factory=list)


# --- reading the logs --------------------------------------------------------------------------------

@dataclass
class Recording:
    device_id: str
    department: str
    recording_id: str
    officers: list[str]
    place: str = ""
    matter: str = ""
    case_no: str = ""
    start_ns: int = 0
    stop_ns: int | None = None
    last_ns: int = 0
    segments: list[tuple[int, int]] = field(default_factory=list)  # wall ns intervals
    offsets: list[tuple[float, float]] = field(default_factory=list)  # recording-clock seconds
    breaks: list[tuple[str, float, str]] = field(default_factory=list)  # (kind label, offset s, why)
    media: list[str] = field(default_factory=list)
    received_ns: int = 0

    @property
    def matter_ns(self) -> int:
        return self.stop_ns or self.last_ns

    @property
    def seconds(self) -> float:
        return sum(b - a for a, b in self.offsets)


@dataclass
class StepRun:
    step: str
    start_ns: int
    end_ns: int | None = None
    outcome: str = ""


@dataclass
class Session:
    device_id: str
    department: str
    session_id: str
    procedure: tuple[str, int]
    officers: list[str]
    context: dict
    start_ns: int
    finish_ns: int | None = None
    last_ns: int = 0
    runs: list[StepRun] = field(default_factory=list)
    deadlines: dict[str, dict] = field(default_factory=dict)


@dataclass
class Record:
    device_id: str
    department: str
    record_id: str
    officers: list[str]
    payload: dict
    first_ns: int
    at_ns: int
    received_ns: int
    media: list[str] = field(default_factory=list)
    versions: int = 1
    refused_signoff: bool = False


@dataclass
class Logs:
    """Everything the dashboard, the sample and retention read, grouped by what it belongs to."""

    recordings: dict[tuple[str, str], Recording] = field(default_factory=dict)
    sessions: dict[tuple[str, str], Session] = field(default_factory=dict)
    records: dict[tuple[str, str], Record] = field(default_factory=dict)
    cases: dict[tuple[str, str], dict] = field(default_factory=dict)
    blobs: dict[str, int] = field(default_factory=dict)  # sha256 -> stored_ns
    names: dict[str, str] = field(default_factory=dict)  # cert_no -> name


def iso_ns(text: str) -> int:
    """An ISO-8601 time with offset as Unix nanoseconds (naive = Beijing time)."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=BEIJING)
    return int(moment.timestamp()) * 10**9 + moment.microsecond * 1000


def ns_text(ns: int | None) -> str:
    """Beijing time as 「2026-11-28 13:13:47」 ('' for None)."""
    if ns is None:
        return ""
    return datetime.fromtimestamp(ns / 1e9, BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def load_logs(tx, departments: frozenset[str] | None, since_ns: int) -> Logs:
    """Read every entry of the relevant types written at or after ``since_ns`` by devices of
    ``departments`` (None = all) and group them. ``tx`` is an open ``sync.server.db.Tx``."""
    logs = Logs()
    params: list[Any] = [since_ns]
    where = "e.wall_ns >= ?"
    if departments is not None:
        if not departments:
            return logs
        where += " AND d.department IN (" + ", ".join("?" for _ in departments) + ")"
        params += sorted(departments)
    where += " AND e.entry_type IN (" + ", ".join("?" for _ in TYPES) + ")"
    params += TYPES
    rows = tx.all("SELECT e.device_id, e.seq, e.entry_type, e.record_id, e.payload, e.media, e.officers, e.wall_ns, "
                  "e.received_ns, d.department FROM entries e JOIN devices d ON d.device_id = e.device_id "
                  f"WHERE {where} ORDER BY e.device_id, e.seq", tuple(params))
    logs.blobs = {sha: ns for sha, ns in tx.all("SELECT sha256, stored_ns FROM blobs")}
    logs.names = {cert: name for cert, name in tx.all("SELECT cert_no, name FROM officers")}
    prints: dict[tuple[str, int], tuple[str, str]] = {}  # (device, print seq) -> record key
    for device, seq, etype, record_id, payload, media, officers, wall, received, dept in rows:
        p = json.loads(payload)
        media_l, officers_l = json.loads(media), json.loads(officers)
        _apply(logs, prints, device, seq, etype, record_id, p, media_l, officers_l, wall, received, dept)
    for s in logs.sessions.values():
        if s.runs and s.runs[-1].end_ns is None:
            s.runs[-1].end_ns = s.finish_ns or s.last_ns
    return logs


def _apply(logs: Logs, prints, device, seq, etype, record_id, p, media, officers, wall, received, dept) -> None:
    if etype == "case":
        logs.cases[(device, p.get("case_no", ""))] = p
    elif etype.startswith("recording."):
        key = (device, record_id)
        rec = logs.recordings.get(key)
        if etype == "recording.start":
            rec = logs.recordings[key] = Recording(device, dept, record_id, officers, p.get("place", ""),
                                                   p.get("matter", ""), p.get("case_no", ""),
                                                   iso_ns(p["wall_start"]) if p.get("wall_start") else wall)
        if rec is None:  # the start is before the loaded window
            return
        rec.last_ns = max(rec.last_ns, wall)
        rec.received_ns = max(rec.received_ns, received)
        rec.media += [m for m in media if m not in rec.media]
        if etype == "recording.segment":
            start, end = float(p.get("start", 0)), float(p.get("end", 0))
            if rec.offsets and start - rec.offsets[-1][1] > TOLERANCE_NS / 1e9:
                rec.breaks.append(("片段不连续", rec.offsets[-1][1], f"{rec.offsets[-1][1]:.1f}—{start:.1f}秒之间无录像"))
            rec.offsets.append((start, end))
            rec.segments.append((rec.start_ns + int(start * 1e9), rec.start_ns + int(end * 1e9)))
        elif etype == "recording.pause":
            rec.breaks.append(("暂停", float(p.get("offset", 0)), p.get("reason", "")))
        elif etype == "recording.gap":
            why = p.get("cause_label") or p.get("cause", "")
            rec.breaks.append(("中断", float(p.get("offset", 0)), f"{why}（{p['detail']}）" if p.get("detail") else why))
        elif etype == "recording.stop":
            rec.stop_ns = rec.start_ns + int(float(p.get("offset", 0)) * 1e9) if rec.start_ns else wall
        return
    if etype in ("print", "print.signoff"):
        if etype == "print" and (p.get("record") or {}).get("id"):
            prints[(device, seq)] = (device, p["record"]["id"])
            target = logs.records.get((device, p["record"]["id"]))
            if target is not None:
                target.media += [m for m in media if m not in target.media]
                target.received_ns = max(target.received_ns, received)
        elif etype == "print.signoff" and p.get("outcome") == "refused":
            target = logs.records.get(prints.get((device, p.get("print")), ("", "")))
            if target is not None:
                target.refused_signoff = True
        return
    if etype == "record":
        key = (device, record_id)
        old = logs.records.get(key)
        rec = Record(device, dept, record_id, officers, p, old.first_ns if old else wall,
                     iso_ns(p["at"]) if p.get("at") else wall, received,
                     (old.media if old else []) + [m for m in media if not old or m not in old.media],
                     old.versions + 1 if old else 1, old.refused_signoff if old else False)
        logs.records[key] = rec
    sid = p.get("session")
    if not sid:
        return
    key = (device, sid)
    at = iso_ns(p["at"]) if p.get("at") else wall
    if etype == "procedure.start":
        proc = p.get("procedure") or {}
        certs = [o.get("cert_no") for o in p.get("officers", []) if isinstance(o, dict)] or officers
        logs.sessions[key] = Session(device, dept, sid, (proc.get("id", ""), int(proc.get("version", 1))), certs,
                                     p.get("context") or {}, at, last_ns=at)
        return
    s = logs.sessions.get(key)
    if s is None:
        return
    s.last_ns = max(s.last_ns, at)
    if etype == "procedure.step":
        event = p.get("event")
        if event == "entered":
            if s.runs and s.runs[-1].end_ns is None:
                s.runs[-1].end_ns, s.runs[-1].outcome = at, "left"
            s.runs.append(StepRun(p.get("step", ""), at))
        elif event in ("completed", "abandoned") and s.runs and s.runs[-1].end_ns is None:
            s.runs[-1].end_ns, s.runs[-1].outcome = at, event
    elif etype == "record" and s.runs and s.runs[-1].end_ns is None and s.runs[-1].step == p.get("step"):
        s.runs[-1].end_ns, s.runs[-1].outcome = at, "completed"
    elif etype == "procedure.finish":
        s.finish_ns = at
        if s.runs and s.runs[-1].end_ns is None:
            s.runs[-1].end_ns = at
    elif etype == "deadline" and p.get("key") in s.deadlines and p.get("ended_at"):
        s.deadlines[p["key"]]["ended_ns"] = iso_ns(p["ended_at"])
    effects = p.get("effects") or {}
    for st in effects.get("start", []):
        s.deadlines[st["key"]] = {"deadline": st["deadline"], "started_ns": iso_ns(st["started_at"]),
                                  "started_at": st["started_at"], "amount": int(st["amount"]), "extensions": [],
                                  "ended_ns": None, "by": st.get("by", "")}
    for ex in effects.get("extend", []):
        if ex["key"] in s.deadlines:
            s.deadlines[ex["key"]]["extensions"].append(int(ex["amount"]))
    for en in effects.get("end", []):
        if en["key"] in s.deadlines:
            s.deadlines[en["key"]]["ended_ns"] = iso_ns(en["at"])


@lru_cache(maxsize=4)
def registry_for(forms_root: str):
    """The form/procedure definitions HQ serves (``hq.forms_root``), loaded once per process."""
    from forms.loader import load_registry

    return load_registry(Path(forms_root))


def _registry(hq):
    return registry_for(str(getattr(hq, "forms_root", "") or Path(__file__).resolve().parents[3] / "forms"))


def _procedure(registry, ref: tuple[str, int]):
    try:
        return registry.procedure(ref[0], ref[1])
    except KeyError:
        return None


def _sessions_in_scope(logs, flt, registry):
    """(session, its procedure definition) for every session the filter allows whose definition HQ
    knows (one it does not know cannot be checked and is skipped)."""
    for s in logs.sessions.values():
        if not flt.allows(s.department, s.officers, s.start_ns):
            continue
        proc = _procedure(registry, s.procedure)
        if proc is not None:
            yield s, proc


def document_title(registry, payload: dict) -> str:
    try:
        return registry.document_for(payload["document"]).title
    except (KeyError, TypeError, ValueError):
        return str((payload.get("document") or {}).get("id", "文书"))


# --- the dashboard -----------------------------------------------------------------------------------

@dataclass
class Dashboard:
    filter: Filter
    now_ns: int
    tables: dict[str, Table]

    def table(self, name: str) -> Table:
        return self.tables[name]


def dashboard(hq, flt: Filter, now_ns: int | None = None) -> Dashboard:
    """Every table of the dashboard for ``flt``, as of ``now_ns`` (default: now)."""
    now_ns = time.time_ns() if now_ns is None else now_ns
    with hq.db.transaction() as tx:
        logs = load_logs(tx, flt.departments, flt.start_ns - MARGIN_NS)
    reg = _registry(hq)
    late = late_uploads(logs, flt, now_ns, reg)
    uncovered = uncovered_steps(logs, flt, reg)
    breaks = recording_breaks(logs, flt)
    overdue = overdue_deadlines(logs, flt, now_ns, reg)
    per_officer, per_unit = counts(logs, flt, late, uncovered, breaks, overdue)
    tables = {t.name: t for t in (late, uncovered, breaks, overdue, per_officer, per_unit)}
    return Dashboard(flt, now_ns, tables)


def _names(logs: Logs, certs: Iterable[str]) -> str:
    return "、".join(logs.names.get(c, c) for c in certs)


def late_uploads(logs: Logs, flt: Filter, now_ns: int, reg) -> Table:
    table = Table("late", "超过24小时上传", "第六十五条：行政执法事项结束后24小时内导入执法记录仪管理平台",
                  [("kind", "类别"), ("item", "录像/文书"), ("department", "单位"), ("officers", "执法人员"),
                   ("matter_at", "执法时间"), ("uploaded_at", "上传到局端"), ("delay_hours", "间隔（小时）"),
                   ("note", "说明"), ("device_id", "设备"), ("record_id", "编号")])
    items: list[tuple] = []
    for r in logs.recordings.values():
        items.append(("录像", f"{r.matter or '录像'}（{r.place}）", r.device_id, r.officers, r.matter_ns,
                      r.received_ns, r.media, r.department, r.recording_id))
    for rec in logs.records.values():
        items.append(("文书", document_title(reg, rec.payload), rec.device_id, rec.officers, rec.at_ns,
                      rec.received_ns, rec.media, rec.department, rec.record_id))
    for kind, title, device, officers, matter, received, media, dept, rid in items:
        if not matter or not flt.allows(dept, officers, matter):
            continue
        stored = [logs.blobs.get(m) for m in media]
        missing = [m for m, s in zip(media, stored) if s is None]
        uploaded = max([received] + [s for s in stored if s is not None])
        note = ""
        if missing and now_ns - matter > UPLOAD_LIMIT_NS:
            uploaded, note = now_ns, f"{len(missing)}个媒体文件至今未上传"
        elif uploaded - matter <= UPLOAD_LIMIT_NS:
            continue
        table.rows.append({"kind": kind, "item": title, "department": dept, "officers": _names(logs, officers),
                           "matter_at": ns_text(matter), "uploaded_at": "" if missing else ns_text(uploaded),
                           "delay_hours": round((uploaded - matter) / HOUR_NS, 1), "note": note,
                           "device_id": device, "record_id": rid, "_certs": officers})
    table.rows.sort(key=lambda r: (-r["delay_hours"], r["device_id"], r["record_id"]))
    return table


def _uncovered_ns(start: int, end: int, covered: list[tuple[int, int]]) -> int:
    """Length of [start, end) not inside any of ``covered`` (sorted, may overlap)."""
    missing, cursor = 0, start
    for a, b in covered:
        if b <= cursor:
            continue
        if a >= end:
            break
        if a > cursor:
            missing += a - cursor
        cursor = max(cursor, b)
        if cursor >= end:
            break
    return missing + max(0, end - cursor)


def uncovered_steps(logs: Logs, flt: Filter, reg) -> Table:
    table = Table("uncovered", "应全程录像而无录像的步骤", "第六条及各程序规定：该步骤须全程音像记录",
                  [("procedure", "程序"), ("step", "步骤"), ("basis", "依据"), ("case_no", "案号"),
                   ("department", "单位"), ("officers", "执法人员"), ("step_start", "步骤开始"),
                   ("step_end", "步骤结束"), ("uncovered_seconds", "无录像时长（秒）"), ("device_id", "设备"),
                   ("session", "程序编号")])
    covered: dict[str, list[tuple[int, int]]] = {}
    for r in logs.recordings.values():
        covered.setdefault(r.device_id, []).extend((a - TOLERANCE_NS, b + TOLERANCE_NS) for a, b in r.segments)
    for intervals in covered.values():
        intervals.sort()
    for s, proc in _sessions_in_scope(logs, flt, reg):
        for run in s.runs:
            if run.outcome == "abandoned":
                continue
            try:
                step = proc.step(run.step)
            except KeyError:
                continue
            if not step.recording.mandatory:
                continue
            end = max(run.end_ns or run.start_ns, run.start_ns) + TOLERANCE_NS  # `at` is whole seconds
            gap = _uncovered_ns(run.start_ns, end, covered.get(s.device_id, []))
            if gap <= 0:
                continue
            table.rows.append({"procedure": proc.title, "step": step.title, "basis": step.recording.basis,
                               "case_no": s.context.get("case_no", ""), "department": s.department,
                               "officers": _names(logs, s.officers), "step_start": ns_text(run.start_ns),
                               "step_end": ns_text(run.end_ns), "uncovered_seconds": round(gap / 1e9, 1),
                               "device_id": s.device_id, "session": s.session_id, "_certs": s.officers})
    table.rows.sort(key=lambda r: (r["step_start"], r["device_id"]))
    return table


def recording_breaks(logs: Logs, flt: Filter) -> Table:
    table = Table("breaks", "同一地点录像暂停或中断", "第六十二条（五）：在同一执法地点不得断续记录",
                  [("flag", "提示"), ("item", "录像"), ("case_no", "案号"), ("department", "单位"),
                   ("officers", "执法人员"), ("started_at", "开始时间"), ("count", "暂停/中断次数"),
                   ("details", "情况"), ("device_id", "设备"), ("record_id", "录像编号")])
    for r in logs.recordings.values():
        if not r.breaks or not flt.allows(r.department, r.officers, r.start_ns):
            continue
        details = "；".join(f"{kind}@{offset:.1f}秒：{why or '未说明原因'}" for kind, offset, why in r.breaks)
        table.rows.append({"flag": "多次中断（重点核查）" if len(r.breaks) >= 2 else "中断1次",
                           "item": f"{r.matter or '录像'}（{r.place}）", "case_no": r.case_no,
                           "department": r.department, "officers": _names(logs, r.officers),
                           "started_at": ns_text(r.start_ns), "count": len(r.breaks), "details": details,
                           "device_id": r.device_id, "record_id": r.recording_id, "_certs": r.officers,
                           "_red": len(r.breaks) >= 2})
    table.rows.sort(key=lambda r: (-r["count"], r["started_at"]))
    return table


def overdue_deadlines(logs: Logs, flt: Filter, now_ns: int, reg) -> Table:
    table = Table("overdue", "超期未办结的期限", "第三十九条、《行政处罚法》第五十六条、《行政强制法》第二十五条、第六十三条",
                  [("status", "状态"), ("deadline", "期限事项"), ("basis", "依据"), ("procedure", "程序"),
                   ("case_no", "案号"), ("department", "单位"), ("officers", "执法人员"),
                   ("started_at", "起算时间"), ("due", "届满"), ("remaining", "超期"), ("ended_at", "办结时间"),
                   ("device_id", "设备"), ("session", "程序编号")])
    now = datetime.fromtimestamp(now_ns / 1e9, BEIJING)
    for s, proc in _sessions_in_scope(logs, flt, reg):
        for key, d in s.deadlines.items():
            if d["deadline"] in HQ_DECIDED_DEADLINES:
                continue
            try:
                spec = proc.deadline(d["deadline"])
            except KeyError:
                continue
            due = compute_due(spec.unit, d["amount"] + sum(d["extensions"]),
                              datetime.fromisoformat(d["started_at"]))
            due_ns = int(due.due_at.timestamp()) * 10**9
            ended = d["ended_ns"]
            if ended is None and now_ns >= due_ns:
                status, remaining = "已超期未办结", format_remaining(due.due_at, now)
            elif ended is not None and ended >= due_ns:
                status = "逾期办结"
                remaining = format_remaining(due.due_at, datetime.fromtimestamp(ended / 1e9, BEIJING))
            else:
                continue
            table.rows.append({"status": status, "deadline": spec.label, "basis": spec.basis, "procedure": proc.title,
                               "case_no": s.context.get("case_no", ""), "department": s.department,
                               "officers": _names(logs, s.officers), "started_at": ns_text(d["started_ns"]),
                               "due": format_due(due, spec.unit) + (f"（{due.notice}）" if due.notice else ""),
                               "remaining": remaining.removeprefix("已超期"), "ended_at": ns_text(ended),
                               "device_id": s.device_id, "session": s.session_id, "key": key, "_certs": s.officers})
    table.rows.sort(key=lambda r: (r["status"], r["started_at"]))
    return table


def counts(logs: Logs, flt: Filter, late: Table, uncovered: Table, breaks: Table,
           overdue: Table) -> tuple[Table, Table]:
    """Counts per officer and per department for the period (the 考核 numbers of 第七十一条)."""
    cols = [("procedures", "执法程序数"), ("records", "文书数"), ("recording_hours", "录像时长（小时）"),
            ("late", "超时上传"), ("flags", "问题提示")]
    per_officer = Table("officers", "按执法人员统计", "第七十一条：执法全过程记录纳入绩效考核",
                        [("cert_no", "执法证号"), ("name", "姓名"), ("department", "单位")] + cols)
    per_unit = Table("units", "按单位统计", "第七十一条：执法全过程记录纳入绩效考核", [("department", "单位")] + cols)
    officer_rows: dict[str, dict] = {}
    unit_rows: dict[str, dict] = {}

    def bump(dept: str, certs: Iterable[str], what: str, amount: float = 1) -> None:
        unit = unit_rows.setdefault(dept, {"department": dept, **{k: 0 for k, _ in cols}})
        unit[what] += amount
        for cert in certs:
            if flt.officer is not None and cert != flt.officer:
                continue
            row = officer_rows.setdefault(cert, {"cert_no": cert, "name": logs.names.get(cert, ""),
                                                 "department": dept, **{k: 0 for k, _ in cols}})
            row[what] += amount

    for s in logs.sessions.values():
        if flt.allows(s.department, s.officers, s.start_ns):
            bump(s.department, s.officers, "procedures")
    for rec in logs.records.values():
        if flt.allows(rec.department, rec.officers, rec.at_ns):
            bump(rec.department, rec.officers, "records")
    for r in logs.recordings.values():
        if flt.allows(r.department, r.officers, r.start_ns):
            bump(r.department, r.officers, "recording_hours", r.seconds / 3600)
    for row in late.rows:
        bump(row["department"], row["_certs"], "late")
    for tbl in (uncovered, breaks, overdue):
        for row in tbl.rows:
            bump(row["department"], row["_certs"], "flags")
    for rows in (officer_rows, unit_rows):
        for row in rows.values():
            row["recording_hours"] = round(row["recording_hours"], 3)
    per_officer.rows = sorted(officer_rows.values(), key=lambda r: (r["department"], r["cert_no"]))
    per_unit.rows = sorted(unit_rows.values(), key=lambda r: r["department"])
    return per_officer, per_unit


def to_csv(table: Table) -> bytes:
    """The table as CSV: UTF-8 with a byte-order mark (so Excel shows the Chinese), Chinese header,
    CRLF line ends. Cells starting with = + - @ are prefixed with ' (no formula injection)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([label for _, label in table.columns])
    for row in table.rows:
        writer.writerow([_cell(row.get(key, "")) for key, _ in table.columns])
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
