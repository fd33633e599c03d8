"""The state of one procedure session and the rules that say which steps are open.

Pure data and pure functions: nothing here writes entries or reads a clock. ``field_app.core.engine``
changes this state only by applying entries it has appended (or replays), so the state is always what
the log says.

Step states, as a step list shows them:

- ``done``: finalized (a repeatable approval step that was refused is open again instead);
- ``current``: entered and neither finalized nor abandoned;
- ``available``: may be entered now;
- ``blocked``: waits for something (a step before it, an approval) — ``reasons`` says what;
- ``void``: does not apply on this path (another service mode was used, the approval was refused,
  a forced release replaced it …) — not required for finishing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from field_app.core.deadlines import Due, compute_due
from forms.procedure_schema import DeadlineSpec, GateDef, ProcedureDef, StepDef

DECISIONS = {"granted": "同意", "refused": "不同意", "pending": "待批"}
STATUS_LABELS = {"undecided": "未报批", "pending": "待批", "emergency": "紧急实施，待补办批准手续",
                 "granted": "已批准", "refused": "未批准"}


@dataclass(frozen=True)
class Officer:
    """An enforcement officer present in the session."""

    name: str
    cert_no: str
    phone: str = ""

    def as_value(self) -> dict[str, str]:
        value = {"name": self.name, "cert_no": self.cert_no}
        if self.phone:
            value["phone"] = self.phone
        return value


@dataclass(frozen=True)
class Approval:
    """One recorded opinion of one role: who, what, when, how."""

    role: str
    approver: str
    decision: str  # granted | refused | pending
    at: str  # ISO datetime with offset
    how: str
    opinion: str
    seq: int


@dataclass
class GateState:
    spec: GateDef
    round: int = 1
    decisions: dict[str, Approval] = field(default_factory=dict)
    emergency: dict[str, Any] | None = None
    history: list[Approval] = field(default_factory=list)

    def status(self, decisions: dict[str, Approval] | None = None) -> str:
        """undecided | pending | emergency | granted | refused (see forms.procedure_schema)."""
        d = self.decisions if decisions is None else decisions
        deciding = [r.role for r in self.spec.roles if r.decides]
        if any(d.get(r) and d[r].decision == "refused" for r in deciding):
            return "refused"
        all_heard = all(d.get(r.role) and d[r.role].decision != "pending" for r in self.spec.roles)
        if all_heard and all(d[r].decision == "granted" for r in deciding):
            return "granted"
        if self.emergency:
            return "emergency"
        return "pending" if d else "undecided"

    @property
    def allows(self) -> bool:
        return self.status() in ("granted", "emergency")

    @property
    def forced_release(self) -> bool:
        """Acted on in an emergency, then refused: only the release steps remain (第三十九条)."""
        return self.emergency is not None and self.status() == "refused"

    def new_round(self) -> None:
        self.round += 1
        self.decisions = {}


@dataclass
class StepRun:
    """The step in progress."""

    step_id: str
    entered_at: str
    record_id: str | None
    values: dict[str, Any] = field(default_factory=dict)
    last_draft_seq: int | None = None
    confirmed: set[str] = field(default_factory=set)
    recording: dict | None = None  # {"recording_id", "offset"} when the step was entered while recorded


@dataclass(frozen=True)
class Completion:
    step_id: str
    at: str
    seq: int
    record_id: str | None
    values: dict[str, Any]


@dataclass
class DeadlineInstance:
    key: str
    spec: DeadlineSpec
    started_at: datetime
    amount: int
    started_by: str
    extensions: list[int] = field(default_factory=list)
    ended_at: datetime | None = None
    ended_note: str = ""

    @property
    def total(self) -> int:
        return self.amount + sum(self.extensions)

    def due(self) -> Due:
        return compute_due(self.spec.unit, self.total, self.started_at)


@dataclass
class SessionState:
    session_id: str
    procedure: ProcedureDef
    officers: list[Officer]
    context: dict[str, Any]
    started_at: str
    current: StepRun | None = None
    done: dict[str, list[Completion]] = field(default_factory=dict)
    gates: dict[str, GateState] = field(default_factory=dict)
    deadlines: dict[str, DeadlineInstance] = field(default_factory=dict)
    shots: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    finished_at: str | None = None

    def is_done(self, step_id: str) -> bool:
        return step_id in self.done

    def forced_gates(self) -> list[GateState]:
        return [g for g in self.gates.values() if g.forced_release]

    def last_values(self, step_id: str) -> dict[str, Any]:
        return self.done[step_id][-1].values if step_id in self.done else {}


def step_state(state: SessionState, step: StepDef, *, ignore_current: bool = False
               ) -> tuple[str, list[str]]:
    """(state, reasons) of ``step`` — see the module docstring. Reasons are Chinese sentences.
    With ``ignore_current`` the step in progress is judged as if it were not entered (used to ask
    whether it may still be finalized)."""
    return _StepRules(state, ignore_current).state(step)


def all_step_states(state: SessionState) -> dict[str, tuple[str, list[str]]]:
    rules = _StepRules(state)
    return {s.id: rules.state(s) for s in state.procedure.steps}


def missing_for_finish(state: SessionState) -> list[str]:
    """Chinese sentences naming what must still be done before the procedure can finish."""
    proc = state.procedure
    states = all_step_states(state)
    grouped = {sid for c in proc.choices for sid in c.steps}
    missing = []
    forced = state.forced_gates()
    if forced:
        needed = {sid for g in forced for sid in g.spec.emergency.force_on_refusal}
        needed |= {s.id for s in proc.steps if s.records_gate in {g.spec.id for g in forced}
                   and s.required}
        return [f"尚未完成“{proc.step(sid).title}”" for sid in sorted(needed, key=_order(proc))
                if not state.is_done(sid)]
    for s in proc.steps:
        st, _ = states[s.id]
        if s.required and s.id not in grouped and st not in ("done", "void"):
            missing.append(f"尚未完成“{s.title}”")
    for c in proc.choices:
        if c.required and not any(state.is_done(sid) for sid in c.steps) \
                and not all(states[sid][0] == "void" for sid in c.steps):
            missing.append(f"尚未完成{c.label}（{'、'.join(proc.step(i).title for i in c.steps)}之一）")
    return missing


def _order(proc: ProcedureDef):
    index = {s.id: i for i, s in enumerate(proc.steps)}
    return lambda sid: index[sid]


class _StepRules:
    def __init__(self, state: SessionState, ignore_current: bool = False):
        self.st = state
        self.ignore_current = ignore_current
        self.proc = state.procedure
        self._void_memo: dict[str, list[str]] = {}

    def state(self, step: StepDef) -> tuple[str, list[str]]:
        st = self.st
        if st.current and st.current.step_id == step.id and not self.ignore_current:
            return "current", []
        forced = st.forced_gates()
        if forced:
            return self._forced_state(step, forced)
        if st.is_done(step.id) and not self._reopened(step):
            return "done", []
        void = self._void(step)
        if void:
            return "void", void
        blocked = [f"须先完成“{self.proc.step(a).title}”" for a in step.after
                   if not st.is_done(a)]
        if step.requires_gate:
            gate = st.gates[step.requires_gate]
            if not gate.allows:
                blocked.append(gate_block_message(gate))
        return ("blocked", blocked) if blocked else ("available", [])

    def _reopened(self, step: StepDef) -> bool:
        """A repeatable approval step whose gate was refused may be submitted again."""
        return bool(step.repeatable and step.records_gate
                    and self.st.gates[step.records_gate].status() == "refused")

    def _forced_state(self, step: StepDef, forced: list[GateState]) -> tuple[str, list[str]]:
        force = {sid for g in forced for sid in g.spec.emergency.force_on_refusal}
        if self.st.is_done(step.id):
            return "done", []
        if step.id in force:
            blocked = [f"须先完成“{self.proc.step(a).title}”" for a in step.after
                       if a in force and not self.st.is_done(a)]
            return ("blocked", blocked) if blocked else ("available", [])
        if step.records_gate in {g.spec.id for g in forced}:
            return "available", []
        return "void", [forced[0].spec.emergency.refusal_message]

    def _void(self, step: StepDef) -> list[str]:
        if step.id in self._void_memo:
            return self._void_memo[step.id]
        self._void_memo[step.id] = []  # the after-graph is acyclic; guards against surprises
        reasons = self._void_reasons(step)
        self._void_memo[step.id] = reasons
        return reasons

    def _void_reasons(self, step: StepDef) -> list[str]:
        st, proc = self.st, self.proc
        if st.finished_at and not st.is_done(step.id):
            return ["本程序已经结束"]
        if step.when and not self._condition(step):
            return ["本步骤在当前情形下不适用"]
        for c in proc.choices:
            if step.id in c.steps:
                used = [sid for sid in c.steps if sid != step.id and st.is_done(sid)]
                if used:
                    return [f"已采用“{proc.step(used[0]).title}”"]
        for u in step.until:
            if st.is_done(u) and not self._reopened(proc.step(u)):
                return [f"已办理“{proc.step(u).title}”，本步骤不再适用"]
        for a in step.after:
            if self._void(proc.step(a)):
                return [f"“{proc.step(a).title}”不适用，本步骤也不适用"]
        if step.requires_gate:
            gate = st.gates[step.requires_gate]
            if gate.status() == "refused" and not self._gate_can_reopen(gate.spec.id):
                return [f"{gate.spec.title}未获批准"]
        return []

    def _gate_can_reopen(self, gate_id: str) -> bool:
        return any(s.records_gate == gate_id and s.repeatable for s in self.proc.steps)

    def _condition(self, step: StepDef) -> bool:
        cond = step.when
        ok = True
        if cond.step_done:
            ok = ok and self.st.is_done(cond.step_done)
        if cond.gate:
            ok = ok and self.st.gates[cond.gate].status() in cond.status
        return ok


def gate_block_message(gate: GateState) -> str:
    spec, status = gate.spec, gate.status()
    if status == "refused":
        return f"{spec.title}未获批准（{spec.basis}），不得实施"
    if status == "pending":
        return f"{spec.title}尚待批准（{spec.basis}），批准前不得实施"
    extra = "；情况紧急的，可以选择紧急程序当场实施" if spec.emergency else ""
    return f"须经{spec.title}（{spec.basis}），尚未记录批准{extra}"


# ---------------------------------------------------------------------------------------------
# Applying entries: the only way the state changes (live, and when a session is resumed)


def apply_entry(st: SessionState, entry_type: str, p: dict[str, Any], seq: int) -> None:
    """Apply one entry of this session to ``st``. Deterministic: replaying the same entries gives
    the same state. Dangerous: it trusts the log's order and content (the store verifies the
    chain); an entry of another session must not be passed in."""
    if entry_type == "procedure.start":
        st.started_at = p["at"]
    elif entry_type == "procedure.step":
        _apply_step(st, p, seq)
    elif entry_type == "draft":
        st.current.values = p["values"]
        st.current.last_draft_seq = seq
    elif entry_type == "record":
        run = st.current
        st.done.setdefault(run.step_id, []).append(
            Completion(run.step_id, p["at"], seq, run.record_id, p["values"]))
        st.current = None
    elif entry_type == "approval":
        gate = st.gates[p["gate"]]
        if p["decision"] == "emergency":
            gate.emergency = {"reason": p["reason"], "at": p["decided_at"], "seq": seq}
        else:
            approval = Approval(p["role"], p["approver"], p["decision"], p["decided_at"],
                                p["how"], p.get("opinion", ""), seq)
            gate.decisions[p["role"]] = approval
            gate.history.append(approval)
    elif entry_type == "key_shot":
        st.shots.setdefault((p["step"], p["shot"]), []).append(str(seq))
    elif entry_type == "deadline":
        inst = st.deadlines[p["key"]]
        inst.ended_at, inst.ended_note = datetime.fromisoformat(p["ended_at"]), p["note"]
    elif entry_type == "procedure.finish":
        st.finished_at = p["at"]
    else:
        raise ValueError(f"unknown entry type {entry_type!r}")
    _apply_effects(st, p.get("effects") or {})


def _apply_step(st: SessionState, p: dict[str, Any], seq: int) -> None:
    event = p["event"]
    if event == "entered":
        step = st.procedure.step(p["step"])
        st.current = StepRun(step.id, p["at"], p.get("record_id"), recording=p.get("recording"))
        if step.repeatable and step.records_gate:
            gate = st.gates[step.records_gate]
            if gate.status() == "refused" and not gate.forced_release:
                gate.new_round()
    elif event == "confirmed":
        (st.current.confirmed.add if p["value"] else st.current.confirmed.discard)(p["item"])
    elif event == "completed":
        st.done.setdefault(p["step"], []).append(Completion(p["step"], p["at"], seq, None, {}))
        st.current = None
    elif event == "abandoned":
        st.current = None


def _apply_effects(st: SessionState, effects: dict[str, list]) -> None:
    for s in effects.get("start", []):
        spec = st.procedure.deadline(s["deadline"])
        st.deadlines[s["key"]] = DeadlineInstance(
            s["key"], spec, datetime.fromisoformat(s["started_at"]), s["amount"], s["by"])
    for e in effects.get("extend", []):
        st.deadlines[e["key"]].extensions.append(e["amount"])
    for e in effects.get("end", []):
        st.deadlines[e["key"]].ended_at = datetime.fromisoformat(e["at"])
