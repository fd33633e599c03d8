"""The schema of procedure definitions (``forms/procedures/<id>.v<N>.yaml``).

A procedure is a set of steps with prerequisites, not a fixed line: a step becomes available when the
steps it comes `after` are done, its `when` holds, the approval gate it `requires_gate` allows it and
no step of its `until` list is done. The engine (field_app.core) interprets this; nothing here runs.

Checks that need the document definitions (a step's document exists, presets are valid values, an
`amount_field` is a number field) are done by ``forms.loader``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from forms.schema import Key, Label, Model

GateStatus = Literal["undecided", "pending", "emergency", "granted", "refused"]


class DocRef(Model):
    """Names one published version of a document definition."""

    id: str = Field(description="document id, e.g. 2-5")
    version: int = Field(ge=1, description="the published version the step produces")


class Recording(Model):
    """Whether continuous audio-video recording is mandatory while the step is carried out."""

    mandatory: bool = False
    basis: str = Field("", description="the articles that require it, e.g. 第六条、第二十一条")


class KeyShot(Model):
    """Something the recorder should prompt the officers to film (第六十一条, 第六十二条)."""

    id: Key
    label: Label
    basis: str = Field("", description="the article asking for the shot")


class ChecklistItem(Model):
    """An action officers confirm (e.g. 出示执法证件) in a step that produces no document."""

    id: Key
    label: Label
    basis: str = Field("", description="the article requiring the action")
    required: bool = Field(True, description="must be confirmed before the step completes")


class DeadlineSpec(Model):
    """A statutory clock: started, extended and ended by steps; computed by the engine."""

    id: Key
    label: Label = Field(description="what must happen by the deadline, in Chinese")
    amount: int = Field(ge=1, description="default length")
    unit: Literal["hours", "days", "working_days"] = Field(
        description="hours: exact; days: calendar days, the start day not counted, due at the end "
                    "of the last day; working_days: Chinese working days (holidays and adjusted "
                    "working days from chinese-calendar), start day not counted")
    basis: str = Field(min_length=1, description="the article that sets it")
    amount_field: Key | None = Field(
        None, description="take the length from this number field of the document of the step "
                          "that starts the deadline (e.g. 改正期限)")
    max_amount: int | None = Field(None, ge=1, description="a longer value from amount_field is "
                                                             "refused")
    max_extensions: int = Field(0, ge=0, description="how often a step may extend it")
    warn_before_hours: int = Field(24, ge=0, description="listed as due this long before it ends")
    note: str = Field("", description="shown with the deadline (e.g. how it is counted)")


class DeadlineExtension(Model):
    """A step that lengthens a running deadline (e.g. 延长封存期限 by at most 30 days)."""

    deadline: Key = Field(description="id of the deadline extended")
    amount: int = Field(ge=1, description="default extension, in the deadline's unit")
    amount_field: Key | None = Field(None, description="number field of the step's document "
                                                       "holding the extension")
    max_amount: int | None = Field(None, ge=1, description="a longer extension is refused")


class GateRole(Model):
    """One approver of a gate."""

    role: Label = Field(description="e.g. 办案机构负责人, 执法机关负责人")
    decides: bool = Field(True, description="false: gives an opinion (签署意见) but does not decide")


class Emergency(Model):
    """The emergency path: act at once, report and obtain approval afterwards (第三十九条)."""

    label: Label
    basis: str = Field(min_length=1, description="the article allowing it")
    deadline: Key = Field(description="started when the emergency path is chosen; ends when the "
                                      "gate is decided")
    force_on_refusal: list[Key] = Field(
        min_length=1, description="steps forced when approval is later refused (release at once); "
                                  "every other open step becomes void")
    refusal_message: Label = Field(description="shown when the approval is refused afterwards")


class GateDef(Model):
    """An approval that must be recorded (who, when, how) before some steps may be carried out."""

    id: Key
    title: Label
    basis: str = Field(min_length=1, description="the article requiring the approval")
    roles: list[GateRole] = Field(min_length=1, description="who gives an opinion or decides")
    emergency: Emergency | None = Field(None, description="absent: no emergency path")

    @model_validator(mode="after")
    def _someone_decides(self):
        if not any(r.decides for r in self.roles):
            raise ValueError(f"gate {self.id}: at least one role must decide")
        if len({r.role for r in self.roles}) != len(self.roles):
            raise ValueError(f"gate {self.id}: duplicate role")
        return self


class StepCondition(Model):
    """A step applies only when this holds: a step is done, and/or a gate has one of `status`."""

    step_done: Key | None = Field(None, description="this step is done")
    gate: Key | None = Field(None, description="this gate …")
    status: list[GateStatus] | None = Field(None, description="… has one of these statuses")

    @model_validator(mode="after")
    def _complete(self):
        if self.step_done is None and self.gate is None:
            raise ValueError("a step condition needs step_done or gate")
        if (self.gate is None) != (self.status is None):
            raise ValueError("gate and status go together")
        return self


class StepDef(Model):
    """One step: produces a document, or confirms a checklist."""

    id: Key
    title: Label
    basis: str = Field("", description="the article (tooltip in the step list)")
    help: str = Field("", description="guidance shown on the step's page")
    document: DocRef | None = Field(None, description="the document the step produces")
    checklist: list[ChecklistItem] = Field(default_factory=list,
                                           description="actions to confirm (steps without a "
                                                       "document)")
    presets: dict[str, Any] = Field(default_factory=dict,
                                    description="field values fixed by this step (read-only)")
    required: bool = Field(True, description="must be done before the procedure can finish "
                                             "(unless void)")
    repeatable: bool = Field(False, description="may be done again; an approval step may be "
                                                "re-submitted after a refusal")
    after: list[Key] = Field(default_factory=list, description="steps that must be done first")
    until: list[Key] = Field(default_factory=list,
                             description="the step is void once any of these is done")
    when: StepCondition | None = Field(None, description="the step is void unless this holds")
    records_gate: Key | None = Field(None, description="this step's document records that "
                                                       "gate's approvals")
    requires_gate: Key | None = Field(None, description="allowed only when the gate is granted "
                                                        "(or its emergency path chosen)")
    recording: Recording = Field(default_factory=Recording,
                                 description="continuous A/V mandatory while doing the step")
    key_shots: list[KeyShot] = Field(default_factory=list,
                                     description="shots the recorder prompts (第六十一条)")
    starts: list[Key] = Field(default_factory=list, description="deadlines started on finalize")
    ends: list[Key] = Field(default_factory=list, description="deadlines ended on finalize")
    extends: list[DeadlineExtension] = Field(default_factory=list,
                                             description="deadlines lengthened on finalize")
    before_due: Key | None = Field(None, description="refused once this deadline has passed")

    @model_validator(mode="after")
    def _one_kind(self):
        if (self.document is None) == (not self.checklist):
            raise ValueError(f"step {self.id}: needs exactly one of 'document' or 'checklist'")
        if self.presets and self.document is None:
            raise ValueError(f"step {self.id}: presets need a document")
        return self


class ChoiceGroup(Model):
    """Mutually exclusive steps (e.g. the service modes): once one is done the others are void."""

    id: Key
    label: Label
    steps: list[Key] = Field(min_length=2, description="the alternative steps")
    required: bool = Field(True, description="one of them must be done before finishing")


class ProcedureDef(Model):
    """One field procedure, e.g. sealing. File: procedures/<id>.v<version>.yaml."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_-]*$", description="e.g. sealing")
    version: int = Field(ge=1, description="1, 2, …; must match the file name")
    title: Label
    articles: list[str] = Field(min_length=1, description="articles of the rules that govern it")
    summary: str = Field("", description="one paragraph shown when choosing the procedure")
    deadlines: list[DeadlineSpec] = Field(default_factory=list,
                                          description="the clocks its steps start")
    gates: list[GateDef] = Field(default_factory=list, description="approvals it needs")
    steps: list[StepDef] = Field(min_length=1, description="steps, in display order")
    choices: list[ChoiceGroup] = Field(default_factory=list,
                                       description="groups of mutually exclusive steps")
    on_finish_starts: list[Key] = Field(default_factory=list,
                                        description="deadlines started when the procedure finishes")

    @model_validator(mode="after")
    def _references(self):
        steps = {s.id for s in self.steps}
        deadlines = {d.id for d in self.deadlines}
        gates = {g.id: g for g in self.gates}
        for name, ids in (("step", [s.id for s in self.steps]),
                          ("deadline", [d.id for d in self.deadlines]),
                          ("gate", [g.id for g in self.gates])):
            if len(ids) != len(set(ids)):
                raise ValueError(f"duplicate {name} id")

        def need(kind: str, ref: str | None, pool, where: str) -> None:
            if ref is not None and ref not in pool:
                raise ValueError(f"{where}: unknown {kind} {ref!r}")

        for s in self.steps:
            where = f"step {s.id}"
            for ref in s.after + s.until:
                need("step", ref, steps, where)
            for ref in s.starts + s.ends + [s.before_due] + [e.deadline for e in s.extends]:
                need("deadline", ref, deadlines, where)
            need("gate", s.records_gate, gates, where)
            need("gate", s.requires_gate, gates, where)
            if s.when:
                need("step", s.when.step_done, steps, where)
                need("gate", s.when.gate, gates, where)
        for g in self.gates:
            if not any(s.records_gate == g.id for s in self.steps):
                raise ValueError(f"gate {g.id}: no step records it")
            if g.emergency:
                need("deadline", g.emergency.deadline, deadlines, f"gate {g.id}")
                for ref in g.emergency.force_on_refusal:
                    need("step", ref, steps, f"gate {g.id}")
        for c in self.choices:
            for ref in c.steps:
                need("step", ref, steps, f"choice {c.id}")
        for ref in self.on_finish_starts:
            need("deadline", ref, deadlines, "on_finish_starts")
        self._check_acyclic()
        return self

    def _check_acyclic(self) -> None:
        after = {s.id: s.after for s in self.steps}
        state: dict[str, int] = {}

        def visit(node: str, trail: tuple[str, ...]) -> None:
            if state.get(node) == 2:
                return
            if state.get(node) == 1:
                raise ValueError(f"steps wait for each other: {' -> '.join(trail + (node,))}")
            state[node] = 1
            for prev in after[node]:
                visit(prev, trail + (node,))
            state[node] = 2

        for node in after:
            visit(node, ())

    @property
    def ref(self) -> dict[str, Any]:
        return {"id": self.id, "version": self.version}

    def step(self, step_id: str) -> StepDef:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(f"procedure {self.id} v{self.version} has no step {step_id!r}")

    def gate(self, gate_id: str) -> GateDef:
        for g in self.gates:
            if g.id == gate_id:
                return g
        raise KeyError(f"procedure {self.id} v{self.version} has no gate {gate_id!r}")

    def deadline(self, deadline_id: str) -> DeadlineSpec:
        for d in self.deadlines:
            if d.id == deadline_id:
                return d
        raise KeyError(f"procedure {self.id} v{self.version} has no deadline {deadline_id!r}")
