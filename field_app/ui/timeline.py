"""Reading a case back out of the log for the case screen: every case, a case's timeline, its
procedure sessions and their deadlines. Qt-free (the screens call it through the ops runner).

Guarantee: read only — nothing here appends. Cost: one pass over the log (fine for one laptop's
cases; the index the store keeps answers text search)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from field_app.store.cases import CaseRow
from field_app.capture.recordings import all_entries

ENTRY_LABELS = {
    "case": "立案登记", "procedure.start": "开始程序", "procedure.finish": "程序结束",
    "record": "文书定稿", "approval": "审批", "key_shot": "关键画面", "print": "打印",
    "print.signoff": "签收", "recording.start": "开始录像", "recording.stop": "结束录像",
    "recording.pause": "暂停录像", "recording.resume": "继续录像", "recording.gap": "录像中断",
    "recording.still": "拍照", "recording.marker": "录像标记",
}


def all_cases(store) -> list[CaseRow]:
    """Every case (latest version), newest first."""
    found: dict[str, CaseRow] = {}
    for e in all_entries(store):
        if e.entry_type == "case" and e.record_id:
            p = e.payload
            found[e.record_id] = CaseRow(e.record_id, p.get("case_no", ""), p.get("party_name", ""),
                                         p.get("credit_code", ""), p.get("legal_rep", ""),
                                         p.get("address", ""), e.seq)
    return sorted(found.values(), key=lambda c: c.latest_seq, reverse=True)


def open_assignments(store) -> list[dict]:
    """Case assignments pulled from HQ (``sync.assignment`` entries) whose 案号 is not registered on this
    laptop yet, oldest first: what the officer may register with one tap instead of typing."""
    registered, pending = set(), {}
    for e in all_entries(store):
        if e.entry_type == "case":
            registered.add(e.payload.get("case_no", ""))
        elif e.entry_type == "sync.assignment" and e.record_id:
            pending[e.record_id] = e.payload
    return [a for a in pending.values() if a.get("case_no") and a["case_no"] not in registered]


@dataclass(frozen=True)
class TimelineItem:
    seq: int
    at: str
    label: str
    detail: str


def case_sessions(entries: list[Any], case_no: str) -> list[str]:
    """Ids of the procedure sessions started for ``case_no``."""
    return [e.payload["session"] for e in entries if e.entry_type == "procedure.start"
            and e.payload.get("context", {}).get("case_no") == case_no]


def case_timeline(store, case_no: str) -> tuple[list[TimelineItem], list[Any]]:
    """The case's entries as timeline items (drafts left out), and the log entries themselves."""
    entries = list(all_entries(store))
    sessions = set(case_sessions(entries, case_no))
    recordings = {e.payload.get("recording_id") for e in entries
                  if e.entry_type == "recording.start" and e.payload.get("case_no") == case_no}
    items = []
    for e in entries:
        p = e.payload if isinstance(e.payload, dict) else {}
        mine = (p.get("case_no") == case_no or p.get("session") in sessions
                or p.get("recording_id") in recordings)
        if not mine or e.entry_type in ("draft", "recording.segment", "procedure.step"):
            continue
        label = ENTRY_LABELS.get(e.entry_type, e.entry_type)
        detail = ""
        if e.entry_type == "record":
            detail = str(p.get("document", {}).get("id", ""))
        elif e.entry_type == "procedure.start":
            detail = str(p.get("procedure", {}).get("id", ""))
        elif e.entry_type == "print":
            detail = str(p.get("title", ""))
        elif e.entry_type == "recording.start":
            detail = f"{p.get('place', '')}（{p.get('matter', '')}）"
        elif e.entry_type in ("recording.pause", "recording.gap"):
            detail = str(p.get("reason") or p.get("cause_label") or "")
        elif e.entry_type == "recording.marker":
            detail = str(p.get("label", ""))
        elif e.entry_type == "case":
            detail = str(p.get("party_name", ""))
        at = str(p.get("at") or p.get("wall_start") or p.get("printed_at") or "")
        items.append(TimelineItem(e.seq, at[:16].replace("T", " "), label, detail))
    return items, entries


def _deadlines(registry, entries: list[Any], session_ids: list[str], now: datetime | None
               ) -> list[Any]:
    from field_app.core.engine import ProcedureSession
    from field_app.core.ports import MemoryWriter

    class _Off:
        def is_recording(self, session_id: str) -> bool:
            return False

    views = []
    for sid in session_ids:
        session = ProcedureSession.resume(registry, entries, writer=MemoryWriter(),
                                          recording=_Off(), session_id=sid)
        views.extend(session.deadlines(now))
    order = {"overdue": 0, "due": 1, "running": 2, "done": 3}
    return sorted(views, key=lambda d: (order[d.status], d.due_at))


def case_deadlines(registry, entries: list[Any], case_no: str, now: datetime | None = None
                   ) -> list[Any]:
    """Deadline views of every procedure session of the case, the most urgent first."""
    return _deadlines(registry, entries, case_sessions(entries, case_no), now)


def overdue_deadlines(registry, store, now: datetime | None = None) -> list[Any]:
    """The overdue deadlines of every procedure session in the store, whatever the case (for the
    status bar)."""
    entries = list(all_entries(store))
    sessions = [e.payload["session"] for e in entries if e.entry_type == "procedure.start"]
    return [d for d in _deadlines(registry, entries, sessions, now) if d.status == "overdue"]


@dataclass(frozen=True)
class OpenSession:
    """A procedure started for the case and not finished (e.g. cut by a crash)."""

    session_id: str
    title: str
    place: str
    started: str


def sessions_cut_by_crash(store, recording_ids: list[str]) -> list[tuple[str, str]]:
    """``(case_no, session_id)`` of the unfinished procedures that the recordings a crash cut were
    covering (those ``recover_recordings`` just closed), most recent last — what the app offers to
    resume after a crash or power loss."""
    from field_app.capture.recordings import collect

    entries = list(all_entries(store))
    recordings = collect(entries)
    covered = [sid for rid in recording_ids if rid in recordings for sid in recordings[rid].procedures]
    finished = {e.payload.get("session") for e in entries if e.entry_type == "procedure.finish"}
    started = {e.payload["session"]: str(e.payload.get("context", {}).get("case_no", ""))
               for e in entries if e.entry_type == "procedure.start"}
    return [(started[sid], sid) for sid in dict.fromkeys(covered) if sid in started and sid not in finished]


def open_sessions(entries: list[Any], case_no: str) -> list[OpenSession]:
    finished = {e.payload.get("session") for e in entries if e.entry_type == "procedure.finish"}
    out = []
    for e in entries:
        p = e.payload if isinstance(e.payload, dict) else {}
        if e.entry_type == "procedure.start" and p.get("context", {}).get("case_no") == case_no \
                and p["session"] not in finished:
            out.append(OpenSession(p["session"], str(p.get("procedure", {}).get("id", "")),
                                   str(p.get("context", {}).get("place", "")),
                                   str(p.get("at", ""))[:16].replace("T", " ")))
    return out
