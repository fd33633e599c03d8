"""Read-only views the UI and the printing renderer use: a step in the step list, a form with its
fields, a gate, a deadline. Built from the session state; changing a view changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from field_app.core.deadlines import format_due, format_remaining, local
from field_app.core.state import DECISIONS, STATUS_LABELS, Approval, GateState, SessionState
from forms import schema as fs
from forms.procedure_schema import StepDef
from forms.values import FieldError, applies, normalize, validate

STEP_STATE_LABELS = {"done": "已完成", "current": "进行中", "available": "可办理",
                     "blocked": "待条件满足", "void": "不适用"}


@dataclass(frozen=True)
class StepView:
    """One step as the step list shows it."""

    step: StepDef
    state: str  # done | current | available | blocked | void
    reasons: tuple[str, ...]
    required: bool
    recording_mandatory: bool
    gate_status: str | None  # of the gate it requires or records

    @property
    def id(self) -> str:
        return self.step.id

    @property
    def title(self) -> str:
        return self.step.title

    @property
    def state_label(self) -> str:
        return STEP_STATE_LABELS[self.state]

    @property
    def tooltip(self) -> str:
        """The legal reason, for the step list's tooltip."""
        parts = [self.step.basis] if self.step.basis else []
        if self.recording_mandatory:
            parts.append(f"须全程音像记录（{self.step.recording.basis}）")
        return "；".join(parts + list(self.reasons))

    @classmethod
    def of(cls, step: StepDef, state: str, reasons: list[str], st: SessionState) -> StepView:
        gate_id = step.requires_gate or step.records_gate
        gate = STATUS_LABELS[st.gates[gate_id].status()] if gate_id else None
        return cls(step, state, tuple(reasons), step.required, step.recording.mandatory, gate)


@dataclass(frozen=True)
class FieldView:
    """One field of the current form."""

    definition: fs.FieldBase
    value: Any
    applies: bool
    readonly: bool
    errors: tuple[str, ...]

    @property
    def key(self) -> str:
        return self.definition.key

    @property
    def type(self) -> str:
        return self.definition.type  # type: ignore[attr-defined]

    @property
    def label(self) -> str:
        return self.definition.label

    @property
    def help(self) -> str:
        return self.definition.help

    @property
    def fillable(self) -> bool:
        return self.definition.fillable

    @property
    def required(self) -> bool:
        """Required now (its condition holds and it is marked required)."""
        return self.applies and self.definition.required and self.fillable


@dataclass(frozen=True)
class FormView:
    """The document of the current step with merged values and their errors."""

    document: fs.DocumentDef
    values: dict[str, Any]
    fields: tuple[FieldView, ...]
    errors: list[FieldError]

    def field(self, key: str) -> FieldView:
        for f in self.fields:
            if f.key == key:
                return f
        raise KeyError(key)


def build_form(doc: fs.DocumentDef, step: StepDef, draft: dict[str, Any], st: SessionState, *,
               today: date) -> FormView:
    """Merge, in rising precedence: field defaults, the session context (same key), the session's
    officers (officers fields), the draft, the step's presets, and approvals recorded for the
    step's gates (approval fields). Guarantees presets and approvals cannot be overridden."""
    values: dict[str, Any] = {}
    readonly: set[str] = set(step.presets)
    for f in doc.fields:
        if not f.fillable:
            continue
        default = getattr(f, "default", None)
        if default is not None:
            values[f.key] = int(default) if isinstance(f, fs.NumberField) and f.integer else default
        if f.key in st.context:
            values[f.key] = st.context[f.key]
        elif isinstance(f, fs.OfficersField):
            values[f.key] = [o.as_value() for o in st.officers]
    values.update(draft)
    values.update(step.presets)
    for f in doc.fields:
        if isinstance(f, fs.ApprovalField):
            readonly.add(f.key)
            values.pop(f.key, None)
            approval = _approval_for(f.role, step, st)
            if approval:
                values[f.key] = {"approver": approval.approver,
                                 "decision": DECISIONS[approval.decision], "at": approval.at,
                                 "how": approval.how, "opinion": approval.opinion}
    values = normalize(doc, values)
    errors = validate(doc, values, today=today)
    by_field: dict[str, list[str]] = {}
    for e in errors:
        by_field.setdefault(e.key.split(".")[0].split("[")[0], []).append(e.message)
    fields = tuple(FieldView(f, values.get(f.key), applies(f, values), f.key in readonly,
                             tuple(by_field.get(f.key, ()))) for f in doc.fields)
    return FormView(doc, values, fields, errors)


def _approval_for(role: str, step: StepDef, st: SessionState) -> Approval | None:
    for gate_id in filter(None, (step.records_gate, step.requires_gate)):
        gate = st.gates[gate_id]
        if role in {r.role for r in gate.spec.roles}:
            found = gate.decisions.get(role)
            if found is None and gate_id == step.requires_gate:
                found = next((a for a in reversed(gate.history) if a.role == role), None)
            return found
    return None


@dataclass(frozen=True)
class GateView:
    id: str
    title: str
    basis: str
    status: str
    status_label: str
    decisions: tuple[Approval, ...]
    emergency: dict[str, Any] | None

    @classmethod
    def of(cls, gate: GateState) -> GateView:
        return cls(gate.spec.id, gate.spec.title, gate.spec.basis, gate.status(),
                   STATUS_LABELS[gate.status()], tuple(gate.decisions.values()), gate.emergency)


@dataclass(frozen=True)
class DeadlineView:
    """A deadline at a given moment. ``status``: running, due (inside its warning window),
    overdue, or done (ended). ``provisional``: computed without a published holiday calendar."""

    key: str
    deadline_id: str
    label: str
    basis: str
    note: str
    unit: str
    amount: int
    started_at: datetime
    due_at: datetime
    last_day: date
    provisional: bool
    notice: str
    status: str
    ended_at: datetime | None
    session_id: str
    procedure_title: str
    due_text: str
    remaining: str

    def describe(self) -> str:
        """One Chinese line, e.g. 「封存期限届满…：2026年12月31日（含当日）前（还剩3天）」."""
        tail = "已办结" if self.status == "done" else self.remaining
        text = f"{self.label}：{self.due_text}（{tail}）"
        return f"{text}。{self.notice}" if self.notice else text


def deadline_views(st: SessionState, now: datetime) -> list[DeadlineView]:
    now = local(now)
    views = []
    for inst in st.deadlines.values():
        due = inst.due()
        if inst.ended_at is not None:
            status = "done"
        elif now >= due.due_at:
            status = "overdue"
        elif now >= due.due_at - timedelta(hours=inst.spec.warn_before_hours):
            status = "due"
        else:
            status = "running"
        views.append(DeadlineView(
            inst.key, inst.spec.id, inst.spec.label, inst.spec.basis, inst.spec.note,
            inst.spec.unit, inst.total, local(inst.started_at), due.due_at, due.last_day,
            due.provisional, due.notice, status, inst.ended_at, st.session_id,
            st.procedure.title, format_due(due, inst.spec.unit), format_remaining(due.due_at, now)))
    return sorted(views, key=lambda v: (v.status == "done", v.due_at))
