"""The procedure engine: a Qt-free state machine that walks one procedure definition.

A ``ProcedureSession`` is one run of one procedure (e.g. the sealing at 康宁医院). The UI attaches a
page to the current step and calls these methods; the headless driver (field_app.core.driver) calls
the same ones. Every state change is first appended through the ``RecordWriter`` and only then
applied, so the session is always exactly what the log says and can be rebuilt with ``resume``.

Entries written (``entry_type``: payload keys besides ``session`` and ``at``):

- ``procedure.start``: procedure {id, version}, officers, context
- ``procedure.step``: step, event = entered | confirmed | completed | abandoned (+ item, reason …)
- ``draft``: step, document {id, version}, values — autosave; supersedes the previous draft
- ``record``: step, document {id, version}, procedure, values — the finalized, immutable record;
  supersedes the last draft; media = its attachments
- ``approval``: gate, round, role, approver, decision (granted | refused | pending | emergency), how …
- ``key_shot``: step, shot — media = what was filmed
- ``deadline``: key, event = ended (deadlines ended from outside, e.g. A/V uploaded)
- ``procedure.finish``

Deadline starts, extensions and ends caused by an entry travel inside that entry (``effects``), so
a record and the clock it starts are one atomic append.

Every refusal raises ``Refused`` with Chinese sentences an officer can act on.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Iterable

from field_app.core.deadlines import BEIJING, local
from field_app.core.ports import RecordingState, RecordWriter
from field_app.core.state import (DECISIONS, STATUS_LABELS, Approval, DeadlineInstance,
                                  GateState, Officer, SessionState, StepRun, all_step_states,
                                  apply_entry, gate_block_message, missing_for_finish, step_state)
from field_app.core.views import (DeadlineView, FormView, GateView, StepView, build_form,
                                  deadline_views)
from forms import schema as fs
from forms.loader import Registry
from forms.procedure_schema import KeyShot, ProcedureDef, StepDef
from forms.values import FieldError, normalize

Clock = Callable[[], datetime]
MIN_OFFICERS = 2


def beijing_now() -> datetime:
    return datetime.now(BEIJING)


@dataclass(frozen=True)
class Refusal:
    """Why an action was refused: a machine ``code`` and a Chinese ``message``."""

    code: str
    message: str
    field: str | None = None


class Refused(Exception):
    """An action the rules do not allow now. ``refusals`` lists every reason."""

    def __init__(self, refusals: list[Refusal]):
        self.refusals = refusals
        super().__init__("；".join(r.message for r in refusals))

    @property
    def messages(self) -> list[str]:
        return [r.message for r in self.refusals]

    @property
    def codes(self) -> set[str]:
        return {r.code for r in self.refusals}


def _refuse(code: str, message: str) -> Refused:
    return Refused([Refusal(code, message)])


def _iso(moment: datetime) -> str:
    return local(moment).isoformat(timespec="seconds")


class ProcedureSession:
    """One run of one procedure. Create with ``start`` or ``resume``; not thread-safe (the UI calls
    it from one thread; long work never happens here)."""

    def __init__(self, registry: Registry, state: SessionState, writer: RecordWriter,
                 recording: RecordingState, clock: Clock):
        self.registry = registry
        self.state = state
        self.writer = writer
        self.recording = recording
        self.clock = clock

    # -- creation ---------------------------------------------------------------------------

    @classmethod
    def start(cls, registry: Registry, procedure_id: str, officers: list[Officer], *,
              writer: RecordWriter, recording: RecordingState, clock: Clock = beijing_now,
              version: int | None = None, context: dict[str, Any] | None = None,
              session_id: str | None = None) -> ProcedureSession:
        """Start a procedure (latest version unless ``version``). ``context`` pre-fills fields of
        the same key in every document (e.g. case_no, party). Refused with fewer than two officers
        or an officer without name or 执法证号."""
        proc = registry.procedure(procedure_id, version)
        refusals = officer_refusals(officers)
        if refusals:
            raise Refused(refusals)
        state = SessionState(session_id or uuid.uuid4().hex, proc, list(officers),
                             dict(context or {}), "")
        session = cls(registry, state, writer, recording, clock)
        session._emit("procedure.start", {
            "procedure": proc.ref, "officers": [o.as_value() for o in officers],
            "context": state.context}, record_id=state.session_id)
        return session

    @classmethod
    def resume(cls, registry: Registry, entries: Iterable[Any], *, writer: RecordWriter,
               recording: RecordingState, clock: Clock = beijing_now,
               session_id: str | None = None) -> ProcedureSession:
        """Rebuild a session from its entries (objects with ``entry_type``, ``payload`` and
        ``seq``, in log order). With several sessions in ``entries`` pass ``session_id``; otherwise
        the first ``procedure.start`` is used. Later actions append through ``writer``."""
        session: ProcedureSession | None = None
        for e in entries:
            if e.entry_type == "procedure.start" and session is None and \
                    session_id in (None, e.payload["session"]):
                p = e.payload
                proc = registry.procedure(p["procedure"]["id"], p["procedure"]["version"])
                officers = [Officer(o["name"], o["cert_no"], o.get("phone", ""))
                            for o in p["officers"]]
                state = SessionState(p["session"], proc, officers, p.get("context", {}), p["at"])
                session = cls(registry, state, writer, recording, clock)
                session._gates_init()
            elif session and e.payload.get("session") == session.id:
                session._apply(e.entry_type, e.payload, e.seq)
        if session is None:
            raise KeyError("no procedure.start entry for this session")
        return session

    # -- queries ----------------------------------------------------------------------------

    @property
    def id(self) -> str:
        return self.state.session_id

    @property
    def procedure(self) -> ProcedureDef:
        return self.state.procedure

    @property
    def finished(self) -> bool:
        return self.state.finished_at is not None

    @property
    def current(self) -> StepDef | None:
        """The step in progress, or None between steps."""
        run = self.state.current
        return self.procedure.step(run.step_id) if run else None

    def steps(self) -> list[StepView]:
        """Every step with its state (done / current / available / blocked / void), reasons, and
        what it needs — for the step list on the left of the screen."""
        states = all_step_states(self.state)
        return [StepView.of(s, *states[s.id], self.state) for s in self.procedure.steps]

    def available(self) -> list[str]:
        """Ids of the steps that may be entered next (empty while a step is in progress)."""
        if self.state.current or self.finished:
            return []
        return [sid for sid, (st, _) in all_step_states(self.state).items() if st == "available"]

    def form(self) -> FormView:
        """The document of the current step: definition, merged values (defaults < context <
        draft < presets and recorded approvals), each field with label, type, help, whether it
        applies, is read-only, and its errors."""
        step, run = self._current_document_step()
        return build_form(self.registry.document_for(step.document), step, run.values, self.state,
                          today=self._now().date())

    def validate(self) -> list[FieldError]:
        return self.form().errors

    def gate(self, gate_id: str) -> GateView:
        return GateView.of(self.state.gates[gate_id])

    def key_shots(self) -> list[tuple[KeyShot, bool]]:
        """The key shots of the current step and whether each was recorded."""
        step = self.current
        if step is None:
            return []
        return [(k, (step.id, k.id) in self.state.shots) for k in step.key_shots]

    def warnings(self) -> list[str]:
        """Non-blocking notices for the current screen (e.g. recording is off where mandatory)."""
        step = self.current
        out = []
        if step and step.recording.mandatory and not self.recording.is_recording(self.id):
            out.append(f"未录制：“{step.title}”须全程音像记录（{step.recording.basis}）")
        return out

    def missing(self) -> list[str]:
        """What must still be done before ``finish`` (Chinese sentences)."""
        return missing_for_finish(self.state)

    def deadlines(self, now: datetime | None = None) -> list[DeadlineView]:
        """Every deadline of this session with its status at ``now`` (running, due, overdue,
        done), soonest first."""
        return deadline_views(self.state, now or self._now())

    def due(self, now: datetime | None = None) -> list[DeadlineView]:
        """Open deadlines inside their warning window or overdue."""
        return [d for d in self.deadlines(now) if d.status in ("due", "overdue")]

    def overdue(self, now: datetime | None = None) -> list[DeadlineView]:
        return [d for d in self.deadlines(now) if d.status == "overdue"]

    # -- actions ----------------------------------------------------------------------------

    def enter(self, step_id: str) -> StepDef:
        """Make ``step_id`` the current step. Refused if another step is in progress, the
        procedure has finished, or the step is blocked or void (with the reasons)."""
        self._not_finished()
        if self.state.current:
            raise _refuse("in_progress", f"请先完成或者放弃当前步骤“{self.current.title}”")
        step = self.procedure.step(step_id)
        st, reasons = step_state(self.state, step)
        if st != "available":
            raise Refused([Refusal("not_available", f"现在不能办理“{step.title}”：{r}")
                           for r in reasons or ["本步骤已完成"]])
        passed = self._deadline_passed(step)
        if passed:
            raise Refused([passed])
        entered = {"step": step.id, "event": "entered", "record_id": uuid.uuid4().hex if step.document else None}
        position = self._recording_position()
        if position is not None:
            entered["recording"] = position
        self._emit("procedure.step", entered)
        return step

    def save_draft(self, values: dict[str, Any]) -> list[FieldError]:
        """Merge ``values`` into the current document's draft and append a ``draft`` entry (only
        when something changed). Returns the current validation errors (the UI may show only the
        fields the officer touched). Refused when a value would change a preset or an approval
        field (sending back the value shown is fine). Dangerous: every call that changes something appends the whole draft — debounce
        autosave in the UI."""
        step, run = self._current_document_step()
        doc = self.registry.document_for(step.document)
        values = normalize(doc, values)
        shown = self.form().values
        refusals = []
        for f in doc.fields:
            if f.key not in values or not (f.key in step.presets or
                                           isinstance(f, fs.ApprovalField)):
                continue
            if values.pop(f.key) == shown.get(f.key):
                continue  # the UI sent back what it was shown: nothing to change
            if isinstance(f, fs.ApprovalField):
                refusals.append(Refusal("readonly", f"{f.label}根据审批记录自动填写，不能手工修改",
                                        f.key))
            else:
                refusals.append(Refusal("readonly", f"{f.label}由本步骤确定为“{step.presets[f.key]}”"
                                                    f"，不能修改", f.key))
        if refusals:
            raise Refused(refusals)
        merged = {**run.values, **values}
        if merged != run.values:
            self._emit("draft", {"step": step.id, "document": doc.ref, "values": merged},
                       record_id=run.record_id, supersedes=run.last_draft_seq)
        return self.form().errors

    def confirm(self, item_id: str, confirmed: bool = True) -> None:
        """Tick (or untick) a checklist item of the current step."""
        step = self.current
        if step is None or not step.checklist:
            raise _refuse("no_step", "当前步骤没有需要确认的事项")
        if item_id not in {i.id for i in step.checklist}:
            raise KeyError(f"step {step.id} has no checklist item {item_id!r}")
        self._emit("procedure.step", {"step": step.id, "event": "confirmed", "item": item_id,
                                      "value": bool(confirmed)})

    def record_key_shot(self, shot_id: str, media: list[str]) -> None:
        """Note that a key shot of the current step was filmed (``media``: the segment or photo
        entry ids)."""
        step = self.current
        if step is None or shot_id not in {k.id for k in step.key_shots}:
            raise KeyError(f"no key shot {shot_id!r} in the current step")
        self._emit("key_shot", {"step": step.id, "shot": shot_id}, media=list(media))

    def check_finalize(self) -> list[Refusal]:
        """Every reason the current step cannot be finalized now (empty: it can)."""
        step = self.current
        if step is None:
            return [Refusal("no_step", "当前没有进行中的步骤")]
        out = officer_refusals(self.state.officers)
        if step.recording.mandatory and not self.recording.is_recording(self.id):
            out.append(Refusal("recording", f"“{step.title}”须全程音像记录（{step.recording.basis}），"
                                            "当前没有在录音录像，不能定稿；请开启执法记录仪"))
        forced = self.state.forced_gates()
        if forced:
            if step_state(self.state, step, ignore_current=True)[0] == "void":
                out.append(Refusal("forced_release", forced[0].spec.emergency.refusal_message))
        elif step.requires_gate and not self.state.gates[step.requires_gate].allows:
            out.append(Refusal("approval", gate_block_message(self.state.gates[step.requires_gate])))
        if step.records_gate:
            out.extend(self._undecided_roles(self.state.gates[step.records_gate]))
        run = self.state.current
        out.extend(Refusal("checklist", f"尚未确认：{i.label}") for i in step.checklist
                   if i.required and i.id not in run.confirmed)
        values: dict[str, Any] = {}
        if step.document:
            form = self.form()
            values = form.values
            out.extend(Refusal("field", e.message, e.key) for e in form.errors)
        passed = self._deadline_passed(step)
        if passed:
            out.append(passed)
        out.extend(self._amount_refusals(step, values))
        return out

    def finalize(self) -> Any:
        """Finalize the current step: for a document, append the immutable ``record`` entry (and
        return it); for a checklist, a ``procedure.step`` completed entry. Deadlines the step
        starts, extends or ends are part of that entry. Raises Refused with every reason from
        ``check_finalize``; nothing is written then."""
        refusals = self.check_finalize()
        if refusals:
            raise Refused(refusals)
        step, run = self.current, self.state.current
        span = self._recording_span(run)
        if not step.document:
            return self._emit("procedure.step", {
                "step": step.id, "event": "completed", "confirmed": sorted(run.confirmed),
                "effects": self._effects(step, {}), **span})
        doc = self.registry.document_for(step.document)
        values = normalize(doc, self.form().values, drop_inapplicable=True)
        media = [m for f in doc.fields if isinstance(f, fs.AttachmentsField)
                 for m in values.get(f.key, [])]
        return self._emit("record", {
            "step": step.id, "procedure": self.procedure.ref, "document": doc.ref,
            "values": values, "effects": self._effects(step, values), **span},
            record_id=run.record_id, supersedes=run.last_draft_seq, media=media)

    def _recording_position(self) -> dict | None:
        """Where the recording covering this session is now (None: not recorded, or the
        RecordingState cannot tell — see ``ports.RecordingPosition``)."""
        position = getattr(self.recording, "position", None)
        if position is None or not self.recording.is_recording(self.id):
            return None
        found = position(self.id)
        if not found:
            return None
        return {"recording_id": str(found["recording_id"]), "offset": round(float(found["offset"]), 3)}

    def _recording_span(self, run) -> dict:
        """``{"recording": {recording_id, start, end}}`` — the step's time span (seconds from that
        recording's start) in the recording that covers it at finalization; ``start`` is None when
        the step was entered before that recording began (e.g. resumed after a crash: the earlier
        part is in the cut recording, named by ``entered_in``). Empty when not recorded."""
        now = self._recording_position()
        if now is None:
            return {}
        span = {"recording_id": now["recording_id"], "start": None, "end": now["offset"]}
        entered = run.recording
        if entered and entered.get("recording_id") == now["recording_id"]:
            span["start"] = entered.get("offset")
        elif entered:
            span["entered_in"] = entered.get("recording_id")
        return {"recording": span}

    def abandon(self, reason: str) -> None:
        """Leave the current step unfinished (e.g. the recipient refuses a direct service). The
        drafts stay in the log; the step can be entered again if still available."""
        if self.state.current is None:
            raise _refuse("no_step", "当前没有进行中的步骤")
        if not reason or not reason.strip():
            raise _refuse("reason", "请说明放弃本步骤的原因")
        self._emit("procedure.step", {"step": self.state.current.step_id, "event": "abandoned",
                                      "reason": reason.strip()})

    def record_approval(self, gate_id: str, role: str, approver: str, decision: str, *,
                        how: str, at: datetime | None = None, opinion: str = "") -> None:
        """Record one approver's decision (granted / refused / pending) for a gate: who, when, how
        (当面, 电话 …). When this decides a gate that was acted on in an emergency, its report
        deadline ends; a refusal then forces the release steps."""
        self._not_finished()
        gate = self.state.gates[gate_id]
        at = at or self._now()
        problems = []
        if role not in {r.role for r in gate.spec.roles}:
            problems.append(f"{gate.spec.title}没有“{role}”这一审批人")
        if decision not in DECISIONS:
            raise ValueError(f"decision must be one of {sorted(DECISIONS)}")
        if not approver or not approver.strip():
            problems.append(f"请填写{role}的姓名")
        if how not in fs.APPROVAL_METHODS:
            problems.append(f"审批方式应为{'、'.join(fs.APPROVAL_METHODS)}之一")
        if local(at) > self._now():
            problems.append("审批时间不能晚于当前时间")
        if gate.status() in ("granted", "refused"):
            problems.append(f"{gate.spec.title}已经作出决定（{DECISIONS[gate.status()]}），"
                            "不能再记录")
        elif role in gate.decisions and gate.decisions[role].decision != "pending":
            problems.append(f"{role}已经作出审批意见，不能再记录")
        if problems:
            raise Refused([Refusal("approval_input", p) for p in problems])
        after = dict(gate.decisions)
        after[role] = Approval(role, approver, decision, _iso(at), how, opinion, 0)
        effects: dict[str, list] = {}
        if gate.emergency and gate.status(after) in ("granted", "refused"):
            effects["end"] = [{"key": k, "at": _iso(at)} for k, d in self._open(
                gate.spec.emergency.deadline)]
        self._emit("approval", {"gate": gate_id, "round": gate.round, "role": role,
                                "approver": approver.strip(), "decision": decision,
                                "decided_at": _iso(at), "how": how, "opinion": opinion,
                                "effects": effects})

    def choose_emergency(self, gate_id: str, reason: str, *, at: datetime | None = None) -> None:
        """Take the emergency path of a gate (第三十九条: seal at once, report within 24 hours):
        the steps that require the gate become available and the report deadline starts at
        ``at``. Refused for a gate without an emergency path or already decided. Dangerous: it
        cannot be taken back (the log keeps it) — the UI should show the 24-hour duty and ask once."""
        self._not_finished()
        gate = self.state.gates[gate_id]
        spec = gate.spec
        at = at or self._now()
        if spec.emergency is None:
            raise _refuse("no_emergency", f"{spec.title}不适用紧急程序，须先经批准（{spec.basis}）")
        if gate.status() not in ("undecided", "pending"):
            raise _refuse("no_emergency", f"{spec.title}当前状态为“{gate_status_label(gate)}”，"
                                          "不能选择紧急程序")
        if not reason or not reason.strip():
            raise _refuse("reason", "请说明情况紧急、需要当场实施的理由")
        if local(at) > self._now():
            raise _refuse("time", "紧急实施的时间不能晚于当前时间")
        deadline = self.procedure.deadline(spec.emergency.deadline)
        self._emit("approval", {
            "gate": gate_id, "round": gate.round, "decision": "emergency", "reason": reason.strip(),
            "decided_at": _iso(at),
            "effects": {"start": [self._start_effect(deadline, at, deadline.amount, "emergency")]}})

    def end_deadline(self, key: str, note: str, *, at: datetime | None = None) -> None:
        """End a running deadline from outside the procedure (e.g. the A/V was imported into the
        platform, the paper file archived)."""
        inst = self.state.deadlines[key]
        if inst.ended_at is not None:
            raise _refuse("deadline", f"“{inst.spec.label}”已经办结")
        self._emit("deadline", {"key": key, "event": "ended", "ended_at": _iso(at or self._now()),
                                "note": note})

    def finish(self) -> None:
        """End the procedure. Refused while a step is in progress or a required step is missing."""
        self._not_finished()
        if self.state.current:
            raise _refuse("in_progress", f"请先完成或者放弃当前步骤“{self.current.title}”")
        missing = self.missing()
        if missing:
            raise Refused([Refusal("missing", m) for m in missing])
        now = self._now()
        starts = [self._start_effect(self.procedure.deadline(d), now,
                                     self.procedure.deadline(d).amount, "finish")
                  for d in self.procedure.on_finish_starts]
        self._emit("procedure.finish", {"effects": {"start": starts}})

    # -- internals --------------------------------------------------------------------------

    def _now(self) -> datetime:
        return local(self.clock())

    def _not_finished(self) -> None:
        if self.finished:
            raise _refuse("finished", "本程序已经结束")

    def _current_document_step(self) -> tuple[StepDef, StepRun]:
        step = self.current
        if step is None or step.document is None:
            raise _refuse("no_step", "当前步骤没有需要填写的文书")
        return step, self.state.current

    def _undecided_roles(self, gate: GateState) -> list[Refusal]:
        if gate.status() in ("granted", "refused"):
            return []
        out = []
        for r in gate.spec.roles:
            d = gate.decisions.get(r.role)
            if d is None or d.decision == "pending":
                state = "待批" if d else "尚未记录"
                out.append(Refusal("approval_missing", f"{gate.spec.title}：{r.role}的审批意见{state}，"
                                                       "不能定稿"))
        return out

    def _open(self, deadline_id: str) -> list[tuple[str, DeadlineInstance]]:
        return [(k, d) for k, d in self.state.deadlines.items()
                if d.spec.id == deadline_id and d.ended_at is None]

    def _deadline_passed(self, step: StepDef) -> Refusal | None:
        if not step.before_due:
            return None
        now = self._now()
        for _, inst in self._open(step.before_due):
            if now >= inst.due().due_at:
                return Refusal("deadline_passed", f"{inst.spec.label}：期限已经届满，不能再办理"
                                                  f"“{step.title}”")
        return None

    def _amount(self, default: int, field: str | None, values: dict[str, Any]) -> int:
        value = values.get(field) if field else None
        return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
            else default

    def _amount_refusals(self, step: StepDef, values: dict[str, Any]) -> list[Refusal]:
        out = []
        for d in step.starts:
            spec = self.procedure.deadline(d)
            amount = self._amount(spec.amount, spec.amount_field, values)
            if spec.max_amount and amount > spec.max_amount:
                out.append(Refusal("deadline_amount", f"{spec.label}：期限不能超过{spec.max_amount}日"
                                                      f"（{spec.basis}）"))
        for ext in step.extends:
            spec = self.procedure.deadline(ext.deadline)
            amount = self._amount(ext.amount, ext.amount_field, values)
            if ext.max_amount and amount > ext.max_amount:
                out.append(Refusal("deadline_amount", f"延长期限不能超过{ext.max_amount}日（{spec.basis}）"))
            running = self._open(ext.deadline)
            if not running:
                out.append(Refusal("deadline", f"“{spec.label}”没有正在计算的期限，不能延长"))
            elif len(running[0][1].extensions) >= spec.max_extensions:
                out.append(Refusal("extension_limit", f"{spec.label}：只能延长{spec.max_extensions}次"
                                                      f"（{spec.basis}）"))
        return out

    def _start_effect(self, spec, at: datetime, amount: int, by: str) -> dict[str, Any]:
        n = sum(1 for d in self.state.deadlines.values() if d.spec.id == spec.id)
        return {"key": spec.id if n == 0 else f"{spec.id}#{n + 1}", "deadline": spec.id,
                "started_at": _iso(at), "amount": amount, "by": by}

    def _effects(self, step: StepDef, values: dict[str, Any]) -> dict[str, list]:
        now = self._now()
        effects: dict[str, list] = {"start": [], "extend": [], "end": []}
        for d in step.starts:
            spec = self.procedure.deadline(d)
            effects["start"].append(self._start_effect(
                spec, now, self._amount(spec.amount, spec.amount_field, values), step.id))
        for ext in step.extends:
            for key, _ in self._open(ext.deadline)[:1]:
                effects["extend"].append({"key": key, "amount": self._amount(
                    ext.amount, ext.amount_field, values)})
        for d in step.ends:
            effects["end"].extend({"key": k, "at": _iso(now)} for k, _ in self._open(d))
        return {k: v for k, v in effects.items() if v}

    def _emit(self, entry_type: str, payload: dict[str, Any], **kw) -> Any:
        payload = {"session": self.id, "at": _iso(self._now()), **payload}
        entry = self.writer.append(entry_type, payload, **kw)
        self._apply(entry_type, payload, entry.seq)
        return entry

    def _gates_init(self) -> None:
        self.state.gates = {g.id: GateState(g) for g in self.procedure.gates}

    def _apply(self, entry_type: str, payload: dict[str, Any], seq: int) -> None:
        if entry_type == "procedure.start":
            self._gates_init()
        apply_entry(self.state, entry_type, payload, seq)


def due_across(sessions: Iterable[ProcedureSession], now: datetime) -> list[DeadlineView]:
    """Due and overdue deadlines of several sessions (e.g. every open case on the laptop), the
    most urgent first — for the start screen's reminder list."""
    items = [d for s in sessions for d in s.due(now)]
    return sorted(items, key=lambda d: (d.status != "overdue", d.due_at))


def officer_refusals(officers: list[Officer]) -> list[Refusal]:
    """At least two officers, each with name and 执法证号, no certificate twice."""
    out = []
    if len(officers) < MIN_OFFICERS:
        out.append(Refusal("officers", f"执法人员不得少于两人（第十二条），当前登记了{len(officers)}人"))
    certs = set()
    for i, o in enumerate(officers, 1):
        if not o.name.strip() or not o.cert_no.strip():
            out.append(Refusal("officers", f"第{i}名执法人员的姓名和执法证号都应当填写"))
        if o.cert_no in certs:
            out.append(Refusal("officers", f"执法证号{o.cert_no}重复登记"))
        certs.add(o.cert_no)
    return out


def gate_status_label(gate: GateState) -> str:
    return STATUS_LABELS[gate.status()]
