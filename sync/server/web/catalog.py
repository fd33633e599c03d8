"""The read model of the web platform over the synced ``entries`` (no HTTP, no Qt).

Vocabulary (docs/protocol.md): a *case* is a ``case`` entry (its latest version); a *record* is a
finalized document — the ``draft``/``record`` entries sharing one ``record_id`` (its versions) plus its
paper trail (``print``/``print.signoff``/``print.photo`` under ``paper:<record id>``); a *recording* is the
``recording.*`` entries sharing one recording id.

Guaranteed — scope (``Scope.for_user``): admin, head and legal see every department; unit_head and
officer only devices of their own department; an officer additionally only entries whose ``officers``
include their 执法证号. Every function here takes a Scope and applies it in SQL; a record, recording,
case or blob outside it is answered exactly like one that does not exist (None / False), so callers
cannot leak existence.
Dangerous: searches load the matching entries of the scope and filter the JSON payloads in Python —
fine for a county's records, slow at province scale (would need search columns/indexes).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path

from sync.server.web.accounts import User

CST = timezone(timedelta(hours=8))
COLUMNS = "e.device_id, e.seq, e.entry_type, e.record_id, e.supersedes, e.payload, e.media, e.officers, e.wall_ns, " \
          "e.received_ns, d.department"
STATUS_LABELS = {"signed": "已签名", "refused": "拒签", "unsigned": "待签名", "unprinted": "未打印",
                 "superseded": "已更正（有被替代的版本）"}
PAPER = "paper:"


@dataclass(frozen=True)
class Entry:
    device_id: str
    seq: int
    type: str
    record_id: str | None
    supersedes: int | None
    payload: dict
    media: list
    officers: list
    wall_ns: int
    received_ns: int
    department: str

    @property
    def when(self) -> str:
        return fmt_ns(self.wall_ns)


def fmt_ns(ns: int | None) -> str:
    if not ns:
        return ""
    return datetime.fromtimestamp(ns / 1e9, CST).strftime("%Y-%m-%d %H:%M:%S")


def _entry(row) -> Entry:
    return Entry(row[0], row[1], row[2], row[3], row[4], json.loads(row[5]), json.loads(row[6]), json.loads(row[7]),
                 row[8], row[9], row[10])


@lru_cache(maxsize=4)
def registry(forms_root: Path):
    from forms.loader import FORMS_ROOT, default_registry, load_registry

    return default_registry() if Path(forms_root) == FORMS_ROOT else load_registry(Path(forms_root))


@dataclass(frozen=True)
class Scope:
    hq: object
    user: User
    departments: tuple[str, ...] | None  # None: every department
    cert_no: str | None  # officers: only entries they took part in

    @classmethod
    def for_user(cls, hq, user: User) -> "Scope":
        if user.sees_all_departments:
            return cls(hq, user, None, None)
        return cls(hq, user, (user.department,), (user.cert_no or "\x00") if user.role == "officer" else None)

    def where(self) -> tuple[str, list]:
        """SQL over ``entries e JOIN devices d`` restricting to this scope."""
        clauses, params = [], []
        if self.departments is not None:
            clauses.append("d.department IN (" + ",".join("?" * len(self.departments)) + ")")
            params += list(self.departments)
        if self.cert_no is not None:
            clauses.append("e.officers LIKE ?")
            params.append(f'%"{self.cert_no}"%')
        return (" AND ".join(clauses) or "1 = 1"), params

    def entries(self, where: str, params: tuple | list = (), order: str = "e.device_id, e.seq",
                limit: int | None = None) -> list[Entry]:
        scope_sql, scope_params = self.where()
        sql = (f"SELECT {COLUMNS} FROM entries e JOIN devices d ON d.device_id = e.device_id "
               f"WHERE ({scope_sql}) AND ({where}) ORDER BY {order}" + (f" LIMIT {int(limit)}" if limit else ""))
        with self.hq.db.transaction() as tx:
            return [_entry(r) for r in tx.all(sql, (*scope_params, *params))]

    def device_ids(self) -> list[tuple[str, str, str]]:
        """(device_id, department, name) of the devices this scope may list."""
        with self.hq.db.transaction() as tx:
            rows = tx.all("SELECT device_id, department, name FROM devices ORDER BY department, device_id")
        return [r for r in rows if self.departments is None or r[1] in self.departments]


def officer_names(hq) -> dict[str, str]:
    with hq.db.transaction() as tx:
        return dict(tx.all("SELECT cert_no, name FROM officers"))


def _device_entries(hq, device_id: str, where: str, params: tuple) -> list[Entry]:
    """Unscoped: entries of one device (only after the caller checked the scope on the anchor entry)."""
    with hq.db.transaction() as tx:
        rows = tx.all(f"SELECT {COLUMNS} FROM entries e JOIN devices d ON d.device_id = e.device_id "
                      f"WHERE e.device_id = ? AND ({where}) ORDER BY e.seq", (device_id, *params))
    return [_entry(r) for r in rows]


# --- records ------------------------------------------------------------------------------------------

@dataclass
class RecordSummary:
    device_id: str
    record_id: str
    department: str
    document_id: str
    title: str
    procedure_id: str
    procedure_title: str
    case_no: str
    party: str
    credit_code: str
    officers: list
    wall_ns: int
    status: str
    versions: int
    superseded: bool

    @property
    def when(self) -> str:
        return fmt_ns(self.wall_ns)

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)


def _party(values: dict) -> tuple[str, str]:
    party = values.get("party") or {}
    if isinstance(party, dict):
        return str(party.get("name", "")), str(party.get("uscc", "") or party.get("id_number", ""))
    return str(party), ""


def _titles(hq, payload: dict) -> tuple[str, str]:
    reg = registry(hq.forms_root)
    doc, proc = payload.get("document") or {}, payload.get("procedure") or {}
    try:
        doc_title = reg.document(doc["id"], doc.get("version")).title
    except Exception:  # noqa: BLE001 - an unknown definition still lists, under its id
        doc_title = str(doc.get("id", ""))
    try:
        proc_title = reg.procedure(proc["id"], proc.get("version")).title if proc else ""
    except Exception:  # noqa: BLE001
        proc_title = str(proc.get("id", ""))
    return doc_title, proc_title


def paper_status(paper: list[Entry], current_seq: int) -> str:
    """signed / refused / unsigned / unprinted for the current version's latest print."""
    prints = [e for e in paper if e.type == "print" and int((e.payload.get("record") or {}).get("seq", -1)) == current_seq]
    if not prints:
        return "unprinted"
    latest = prints[-1]
    pages = {(int(p["copy"]), int(p["page"])) for p in latest.payload.get("pages", [])}
    outcomes: dict = {}
    for e in paper:
        if e.type == "print.signoff" and e.payload.get("print") == latest.seq:
            for ref in e.payload.get("pages", []):
                outcomes[(int(ref["copy"]), int(ref["page"]))] = e.payload.get("outcome")
    if any(v == "refused" for v in outcomes.values()):
        return "refused"
    return "signed" if pages and pages <= set(outcomes) else "unsigned"


def search_records(scope: Scope, *, q: str = "", officer: str = "", date_from: str = "", date_to: str = "",
                   procedure: str = "", document: str = "", status: str = "", limit: int = 500) -> list[RecordSummary]:
    where, params = ["e.entry_type IN ('record', 'draft', 'print', 'print.signoff', 'case')"], []
    records = scope.entries(" AND ".join(where), params)
    cases = {}
    for e in records:
        if e.type == "case":
            cases[(e.device_id, e.payload.get("case_no"))] = e.payload
    by_record: dict[tuple, list[Entry]] = {}
    paper: dict[tuple, list[Entry]] = {}
    for e in records:
        if e.type in ("record", "draft") and e.record_id:
            by_record.setdefault((e.device_id, e.record_id), []).append(e)
        elif e.type.startswith("print") and (e.record_id or "").startswith(PAPER):
            paper.setdefault((e.device_id, e.record_id[len(PAPER):]), []).append(e)
    names = officer_names(scope.hq)
    lo, hi = _day_ns(date_from), _day_ns(date_to, end=True)
    out = []
    for key, versions in by_record.items():
        finals = [v for v in versions if v.type == "record"]
        if not finals:
            continue
        current = finals[-1]
        values = current.payload.get("values") or {}
        case_no = str(values.get("case_no", "") or next((p.payload.get("case_no") for p in paper.get(key, [])
                                                         if p.payload.get("case_no")), ""))
        party, code = _party(values)
        case = cases.get((key[0], case_no), {})
        superseded = len(finals) > 1 or versions[-1].type == "draft"
        st = paper_status(paper.get(key, []), current.seq)
        summary = RecordSummary(key[0], key[1], current.department, str((current.payload.get("document") or {}).get("id", "")),
                                *_titles(scope.hq, current.payload)[:1],
                                str((current.payload.get("procedure") or {}).get("id", "")),
                                _titles(scope.hq, current.payload)[1], case_no, party or case.get("party_name", ""),
                                code or case.get("credit_code", ""),
                                [f"{names.get(c, c)}（{c}）" for c in current.officers], finals[0].wall_ns, st,
                                len(finals), superseded)
        if q:
            hay = json.dumps(values, ensure_ascii=False) + json.dumps(case, ensure_ascii=False) + summary.title
            if q.strip() not in hay:
                continue
        if officer and not any(officer.strip() in o for o in summary.officers):
            continue
        if lo and summary.wall_ns < lo or hi and summary.wall_ns > hi:
            continue
        if procedure and procedure not in (summary.procedure_id, summary.procedure_title):
            continue
        if document and document not in (summary.document_id, summary.title):
            continue
        if status and not (status == st or status == "superseded" and superseded):
            continue
        out.append(summary)
    out.sort(key=lambda s: (-s.wall_ns, s.record_id))
    return out[:limit]


def _day_ns(text: str, end: bool = False) -> int | None:
    if not text:
        return None
    try:
        day = datetime.strptime(text.strip(), "%Y-%m-%d").replace(tzinfo=CST)
    except ValueError:
        return None
    if end:
        day += timedelta(days=1)
    return int(day.timestamp() * 1e9)


# --- cases --------------------------------------------------------------------------------------------

@dataclass
class CaseSummary:
    device_id: str
    record_id: str
    department: str
    case_no: str
    party: str
    credit_code: str
    legal_rep: str
    address: str
    wall_ns: int
    versions: int

    @property
    def when(self) -> str:
        return fmt_ns(self.wall_ns)


def search_cases(scope: Scope, q: str = "") -> list[CaseSummary]:
    groups: dict[tuple, list[Entry]] = {}
    for e in scope.entries("e.entry_type = 'case'"):
        groups.setdefault((e.device_id, e.record_id), []).append(e)
    out = []
    for (device, rid), versions in groups.items():
        p = versions[-1].payload
        c = CaseSummary(device, rid, versions[-1].department, p.get("case_no", ""), p.get("party_name", ""),
                        p.get("credit_code", ""), p.get("legal_rep", ""), p.get("address", ""), versions[0].wall_ns,
                        len(versions))
        if q and q.strip() not in json.dumps(p, ensure_ascii=False):
            continue
        out.append(c)
    out.sort(key=lambda c: (-c.wall_ns, c.case_no))
    return out


def case_view(scope: Scope, device_id: str, case_id: str) -> dict | None:
    versions = scope.entries("e.entry_type = 'case' AND e.device_id = ? AND e.record_id = ?", (device_id, case_id))
    if not versions:
        return None
    case_no = versions[-1].payload.get("case_no", "")
    records = [r for r in search_records(scope) if r.case_no == case_no]
    recordings = [r for r in search_recordings(scope) if r.case_no == case_no]
    return {"case": versions[-1], "versions": versions, "records": records, "recordings": recordings}


# --- recordings ---------------------------------------------------------------------------------------

@dataclass
class RecordingSummary:
    device_id: str
    recording_id: str
    department: str
    case_no: str
    place: str
    matter: str
    officers: list
    wall_ns: int
    end_ns: int | None
    duration: float
    segments: int
    synthetic: bool

    @property
    def when(self) -> str:
        return fmt_ns(self.wall_ns)


def search_recordings(scope: Scope, *, q: str = "", officer: str = "", date_from: str = "",
                      date_to: str = "") -> list[RecordingSummary]:
    starts = scope.entries("e.entry_type = 'recording.start'")
    names = officer_names(scope.hq)
    lo, hi = _day_ns(date_from), _day_ns(date_to, end=True)
    out = []
    for s in starts:
        parts = _device_entries(scope.hq, s.device_id, "e.record_id = ? AND e.entry_type IN ('recording.segment', "
                                "'recording.stop')", (s.record_id,))
        segs = [p for p in parts if p.type == "recording.segment"]
        stop = next((p for p in parts if p.type == "recording.stop"), None)
        duration = float(stop.payload.get("offset", 0)) if stop else max((float(p.payload.get("end", 0)) for p in segs),
                                                                         default=0.0)
        officers = [f"{names.get(c, c)}（{c}）" for c in s.payload.get("officers", s.officers)]
        r = RecordingSummary(s.device_id, s.record_id, s.department, s.payload.get("case_no", ""),
                             s.payload.get("place", ""), s.payload.get("matter", ""), officers, s.wall_ns,
                             stop.wall_ns if stop else None, duration, len(segs), bool(s.payload.get("synthetic")))
        if q and q.strip() not in json.dumps(s.payload, ensure_ascii=False):
            continue
        if officer and not any(officer.strip() in o for o in officers):
            continue
        if lo and r.wall_ns < lo or hi and r.wall_ns > hi:
            continue
        out.append(r)
    out.sort(key=lambda r: -r.wall_ns)
    return out


@dataclass
class RecordingView:
    start: Entry
    segments: list[Entry]
    stop: Entry | None
    markers: list[dict]
    duration: float
    entries: list[Entry] = field(default_factory=list)


MARKER_KINDS = {"notice": "告知录音录像", "certificates": "出示证件", "rights": "告知权利", "place_sign": "场所标牌",
                "key_evidence": "关键证据", "statement": "陈述申辩", "signing": "签名", "other": "标记"}


def recording(scope: Scope, device_id: str, recording_id: str) -> RecordingView | None:
    starts = scope.entries("e.entry_type = 'recording.start' AND e.device_id = ? AND e.record_id = ?",
                           (device_id, recording_id))
    if not starts:
        return None
    parts = _device_entries(scope.hq, device_id, "e.record_id = ?", (recording_id,))
    segments = sorted((p for p in parts if p.type == "recording.segment"), key=lambda p: int(p.payload.get("index", 0)))
    stop = next((p for p in parts if p.type == "recording.stop"), None)
    markers = []
    for p in parts:
        pl = p.payload
        if p.type == "recording.marker":
            markers.append({"kind": "marker", "offset": float(pl.get("offset", 0)),
                            "label": pl.get("label") or MARKER_KINDS.get(pl.get("kind"), "标记"), "note": pl.get("note", ""),
                            "seq": p.seq})
        elif p.type == "recording.still":
            markers.append({"kind": "still", "offset": float(pl.get("offset", 0)), "label": "关键画面",
                            "note": pl.get("note", ""), "sha256": pl.get("sha256") or (p.media or [""])[0], "seq": p.seq})
        elif p.type in ("recording.pause", "recording.resume"):
            markers.append({"kind": p.type.split(".")[1], "offset": float(pl.get("offset", 0)),
                            "label": "暂停录像" if p.type.endswith("pause") else "继续录像",
                            "note": pl.get("reason", ""), "seq": p.seq})
        elif p.type == "recording.gap":
            markers.append({"kind": "gap", "offset": float(pl.get("offset", 0)),
                            "label": "录像中断：" + str(pl.get("cause_label") or pl.get("cause", "")),
                            "note": pl.get("detail", ""), "seq": p.seq})
    markers.sort(key=lambda m: (m["offset"], m["seq"]))
    duration = float(stop.payload.get("offset", 0)) if stop else max(
        (float(s.payload.get("end", 0)) for s in segments), default=0.0)
    return RecordingView(starts[0], segments, stop, markers, duration, parts)


def recording_at(scope: Scope, device_id: str, wall_ns: int) -> RecordingView | None:
    """The in-scope recording of this device that was running at ``wall_ns`` (or None)."""
    for s in scope.entries("e.entry_type = 'recording.start' AND e.device_id = ? AND e.wall_ns <= ?",
                           (device_id, wall_ns), order="e.wall_ns DESC"):
        view = recording(scope, device_id, s.record_id)
        if view is None:
            continue
        last = view.stop or (view.segments[-1] if view.segments else None)
        if view.stop is None or (last and last.wall_ns >= wall_ns):
            return view
    return None


# --- blobs --------------------------------------------------------------------------------------------

def blob_allowed(scope: Scope, device_id: str, sha256: str) -> bool:
    """True if an entry of this device inside the scope references the blob."""
    return bool(scope.entries("e.device_id = ? AND e.media LIKE ?", (device_id, f'%"{sha256}"%'), limit=1))


# --- one record ---------------------------------------------------------------------------------------

ENTRY_LABELS = {
    "case": "案件登记", "draft": "填写草稿", "record": "文书定稿", "print": "打印文书", "print.signoff": "签名/拒签",
    "print.photo": "拍摄签名页", "procedure.start": "开始执法程序", "procedure.step": "程序步骤", "procedure.finish": "程序结束",
    "key_shot": "关键画面", "approval": "审批", "recording.start": "开始录像", "recording.stop": "停止录像",
    "recording.segment": "录像分段", "recording.still": "录像截图", "recording.marker": "录像标记",
    "recording.pause": "暂停录像", "recording.resume": "继续录像", "recording.gap": "录像中断",
    "recording.procedure": "程序并入录像",
}
STEP_EVENTS = {"entered": "进入", "confirmed": "确认", "completed": "完成", "abandoned": "放弃"}


def entry_summary(e: Entry) -> str:
    """One Chinese line describing an entry for the timeline."""
    p = e.payload
    if e.type == "procedure.step":
        return f"{STEP_EVENTS.get(p.get('event'), p.get('event', ''))}步骤 {p.get('step', '')}" + (
            f"：{p.get('item')}" if p.get("item") else "")
    if e.type == "print":
        return f"打印《{p.get('title', '')}》{(p.get('pdf') or {}).get('pages', '')} 页"
    if e.type == "print.signoff":
        pages = "、".join(f"第{x.get('copy')}份第{x.get('page')}页" for x in p.get("pages", []))
        return ("签名：" if p.get("outcome") == "signed" else f"拒绝签名（{p.get('who', '')}：{p.get('reason', '')}）：") + pages
    if e.type == "approval":
        return f"{p.get('role', '')} {p.get('approver', '')} {'同意' if p.get('decision') == 'granted' else p.get('decision', '')}（{p.get('how', '')}）"
    if e.type == "key_shot":
        return f"关键画面 {p.get('shot', '')}（步骤 {p.get('step', '')}）"
    if e.type in ("draft", "record"):
        return f"文书 {(p.get('document') or {}).get('id', '')}" + ("（更正：" + str(p.get("correction_reason") or p.get("reason")) + "）"
                                                                  if p.get("correction_reason") or p.get("reason") else "")
    return ""


def record(scope: Scope, device_id: str, record_id: str) -> dict | None:
    """Everything the record page shows, or None if the record does not exist or is outside the scope."""
    anchor = scope.entries("e.device_id = ? AND e.record_id = ? AND e.entry_type IN ('record', 'draft')",
                           (device_id, record_id))
    if not anchor or not any(e.type == "record" for e in anchor):
        return None
    hq = scope.hq
    versions = _device_entries(hq, device_id, "e.record_id = ? AND e.entry_type IN ('record', 'draft')", (record_id,))
    finals = [v for v in versions if v.type == "record"]
    current = finals[-1]
    reg = registry(hq.forms_root)
    try:
        doc = reg.document_for(current.payload.get("document") or {})
    except Exception:  # noqa: BLE001 - unknown definition: show the raw keys
        doc = None
    from sync.server.web.formview import changed_fields, form_rows

    shown_versions = []
    later_of = {}
    for i, v in enumerate(versions):
        for w in versions[i + 1:]:
            if w.supersedes == v.seq:
                later_of[v.seq] = w
    number = 0
    for v in versions:
        if v.type == "record":
            number += 1
        nxt = later_of.get(v.seq)
        final_after = next((w for w in finals if w.seq > v.seq), None)
        item = {"entry": v, "kind": "定稿" if v.type == "record" else "草稿", "number": number if v.type == "record" else None,
                "superseded": v.type == "record" and nxt is not None,
                "reason": "", "changes": [], "current": v.seq == current.seq}
        if item["superseded"]:
            source = final_after or nxt
            item["reason"] = str(nxt.payload.get("correction_reason") or nxt.payload.get("reason") or
                                 source.payload.get("correction_reason") or source.payload.get("reason") or "")
            item["changes"] = changed_fields(doc, v.payload.get("values") or {}, source.payload.get("values") or {})
            item["superseded_by"] = source.seq
        shown_versions.append(item)
    paper = _device_entries(hq, device_id, "e.record_id = ?", (PAPER + record_id,))
    prints = []
    for e in paper:
        if e.type != "print":
            continue
        vseq = int((e.payload.get("record") or {}).get("seq", -1))
        outcomes, photos = [], []
        for s in paper:
            if s.payload.get("print") != e.seq:
                continue
            if s.type == "print.signoff":
                for ref in s.payload.get("pages", []):
                    outcomes.append({"copy": ref.get("copy"), "page": ref.get("page"), "outcome": s.payload.get("outcome"),
                                     "label": "已签名" if s.payload.get("outcome") == "signed" else "拒绝签名",
                                     "who": s.payload.get("who", ""), "role": s.payload.get("role", ""),
                                     "reason": s.payload.get("reason", ""), "witness": s.payload.get("witness", ""),
                                     "note": s.payload.get("note", ""), "when": s.when})
            elif s.type == "print.photo":
                photos += [{"sha256": m, "pages": s.payload.get("pages", [])} for m in s.media]
        later = [q for q in paper if q.type == "print" and q.seq > e.seq
                 and int((q.payload.get("record") or {}).get("seq", -1)) == vseq]
        status = "作废（记录已更正）" if vseq != current.seq else ("已重新打印" if later else "现行")
        prints.append({"entry": e, "pdf": (e.payload.get("pdf") or {}).get("sha256") or (e.media or [""])[0],
                       "pages": (e.payload.get("pdf") or {}).get("pages"), "title": e.payload.get("title", ""),
                       "status": status, "outcomes": outcomes, "photos": photos, "version_seq": vseq})
    session = current.payload.get("session")
    related = _device_entries(hq, device_id, "e.payload LIKE ? OR e.record_id = ? OR e.record_id = ?",
                              (f'%"{session}"%' if session else "\x00", record_id, PAPER + record_id))
    step = current.payload.get("step")
    key_shots = []
    stills = {}
    # The record names the recording and its span in it (recorded since the engine links steps);
    # older records fall back to the recording that was running when it was first finalized.
    link = current.payload.get("recording") if isinstance(current.payload.get("recording"), dict) else {}
    rec_view = recording(scope, device_id, str(link["recording_id"])) if link.get("recording_id") else None
    if rec_view is None:
        link = {}
        rec_view = recording_at(scope, device_id, finals[0].wall_ns)
    if rec_view is not None:
        stills = {m.get("sha256"): m for m in rec_view.markers if m["kind"] == "still"}
    for e in related:
        if e.type == "key_shot" and (not step or e.payload.get("step") == step):
            for m in e.media:
                key_shots.append({"sha256": m, "shot": e.payload.get("shot", ""),
                                  "note": (stills.get(m) or {}).get("note", ""),
                                  "offset": (stills.get(m) or {}).get("offset")})
    timeline = [{"entry": e, "label": ENTRY_LABELS.get(e.type, e.type), "summary": entry_summary(e)} for e in related]
    seek = None
    if rec_view is not None:
        offsets = [k["offset"] for k in key_shots if k["offset"] is not None]
        if link.get("start") is not None:
            seek = float(link["start"])
        else:
            seek = min(offsets) if offsets else max(0.0, (finals[0].wall_ns - rec_view.start.wall_ns) / 1e9)
    values = current.payload.get("values") or {}
    case_no = str(values.get("case_no", ""))
    case = next((c for c in search_cases(scope) if c.case_no == case_no and c.device_id == device_id), None)
    doc_title, proc_title = _titles(hq, current.payload)
    return {"device_id": device_id, "record_id": record_id, "current": current, "doc": doc, "title": doc_title,
            "procedure_title": proc_title, "rows": form_rows(doc, values), "versions": shown_versions,
            "prints": prints, "key_shots": key_shots, "timeline": timeline, "recording": rec_view, "seek": seek,
            "span": link,
            "case": case, "status": paper_status(paper, current.seq), "department": current.department,
            "officers": current.officers}
