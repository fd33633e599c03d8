"""A headless driver for the procedure engine: fills documents with sample data, walks one path or
every path of a procedure, and checks the guards on the way. Used by the tests and by the scripted
demo::

    python -m field_app.core.driver sealing          # one walk, printed step by step
    python -m field_app.core.driver --count          # how many paths each procedure has

Sample values come from ../shared/SCENARIOS.md (invented people with valid check digits). A value is
generated from the field's type, so a new document is walkable without writing examples for it.

What the driver asserts on every walk (``check_guards=True``): finalizing a step with mandatory A/V is
refused while the recorder is off; an approval step cannot be finalized before every role is
recorded; and a step that requires an approval is refused while the approval is missing. A path that
cannot finish (stuck) is reported, not silently dropped.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from field_app.core.deadlines import BEIJING
from field_app.core.engine import ProcedureSession, Refused
from field_app.core.ports import MemoryWriter
from field_app.core.state import Officer
from forms import schema as fs
from forms.loader import Registry, default_registry
from forms.values import applies, normalize

Action = tuple  # ("step", step_id, outcome | None) | ("emergency", gate_id) | ("finish",)


@dataclass
class ManualClock:
    """A clock the driver moves by hand (aware, Beijing time)."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class ManualRecording:
    """RecordingState switched by hand (the capture package provides the real one)."""

    active: bool = False

    def is_recording(self, session_id: str) -> bool:
        return self.active


@dataclass(frozen=True)
class Cast:
    """The people and organisation sample values are made of."""

    officers: tuple[Officer, ...]
    party: dict[str, Any]
    person: dict[str, Any]
    witness: dict[str, Any]
    approvers: dict[str, str]


SCENARIO = Cast(
    officers=(Officer("王建国", "13010220170031", "0311-86001031"),
              Officer("刘晓燕", "13010220190047", "0311-86001047")),
    party={"kind": "organisation", "name": "石家庄恒泰建筑劳务有限公司",
           "uscc": "911301025260181593", "legal_rep": "陈卫东",
           "legal_rep_id_number": "130102197803127873",
           "address": "石家庄市长安区建设北大街216号恒泰大厦6层", "phone": "0311-85000021"},
    person={"name": "陈卫东", "id_type": "居民身份证", "id_number": "130102197803127873",
            "phone": "13900000021", "address": "石家庄市长安区建设北大街216号",
            "unit": "石家庄恒泰建筑劳务有限公司", "position": "法定代表人"},
    witness={"name": "周桂兰", "id_type": "居民身份证", "id_number": "13010519920705328X",
             "phone": "13900000328", "address": "石家庄市长安区建北街道", "unit": "建北街道办事处",
             "position": "社区干部"},
    approvers={"办案机构负责人": "赵志强", "执法机关负责人": "孙丽"},
)


def sample_values(doc: fs.DocumentDef, fixed: dict[str, Any], cast: Cast,
                  now: datetime) -> dict[str, Any]:
    """Valid values for every applicable fillable field not in ``fixed`` (presets and approvals
    stay the engine's). Fields are filled in order so conditions see earlier values."""
    values = dict(fixed)
    out: dict[str, Any] = {}
    for f in doc.fields:
        if not f.fillable or f.key in fixed or isinstance(f, fs.ApprovalField):
            continue
        if not applies(f, normalize(doc, {k: v for k, v in values.items()
                                          if k in {x.key for x in doc.fields}})):
            continue
        out[f.key] = values[f.key] = sample_value(f, cast, now)
    return out


def fake_media(name: str) -> str:
    """A stand-in media id: the SHA-256 of ``name`` (the store names media by their SHA-256)."""
    return hashlib.sha256(name.encode("utf-8")).hexdigest()


def sample_value(f: fs.FieldBase, cast: Cast, now: datetime) -> Any:
    """One valid value for ``f``."""
    default = getattr(f, "default", None)
    if isinstance(f, (fs.TextField, fs.LongTextField)):
        return default or f"{f.label}（示例）"
    if isinstance(f, fs.DateField):
        return now.date().isoformat()
    if isinstance(f, fs.DateTimeField):
        return now.isoformat(timespec="minutes")
    if isinstance(f, fs.TimeSpanField):
        return {"start": (now - timedelta(hours=1)).isoformat(timespec="minutes"),
                "end": now.isoformat(timespec="minutes")}
    if isinstance(f, fs.NumberField):
        n = default if default is not None else max(f.min or 1, 1)
        return int(n) if f.integer else n
    if isinstance(f, fs.ChoiceField):
        return list(f.options) if f.multiple else (default or f.options[0])
    if isinstance(f, fs.YesNoField):
        return {"answer": True if f.expect is None else f.expect, "note": f"{f.note_label}（示例）"}
    if isinstance(f, (fs.PersonField, fs.WitnessField)):
        source = cast.witness if isinstance(f, fs.WitnessField) else cast.person
        return {p: source[p] for p in f.parts if p in source}
    if isinstance(f, fs.OrganisationField):
        return {p: cast.party[p] for p in f.parts if p in cast.party}
    if isinstance(f, fs.PartyField):
        return dict(cast.party) if "organisation" in f.kinds else {"kind": "person", **cast.person}
    if isinstance(f, fs.OfficersField):
        return [o.as_value() for o in cast.officers]
    if isinstance(f, fs.ItemsField):
        return [{c.key: (i if c.type != "text" else f"{c.label}{i}") for c in f.columns}
                for i in (1, 2)]
    if isinstance(f, fs.QAField):
        return [{"q": "你单位是否建立工资支付台账？", "a": "九月、十月没有建立。"},
                {"q": "以上笔录是否属实？", "a": "属实。"}]
    if isinstance(f, fs.LegalBasisField):
        refs = f.suggestions or [fs.LegalRef(law="《劳动保障监察条例》", article="第十一条")]
        return [r.model_dump() for r in refs]
    if isinstance(f, fs.AttachmentsField):
        return [fake_media(f"{f.key}-{i}") for i in range(1, max(f.min_count, 1) + 1)]
    raise TypeError(f"no sample for field type {type(f).__name__}")


@dataclass
class Run:
    """One session being driven, with its own clock, recorder switch and log."""

    session: ProcedureSession
    clock: ManualClock
    recording: ManualRecording
    writer: MemoryWriter
    actions: list[Action] = field(default_factory=list)


class HeadlessDriver:
    """Drives ProcedureSession exactly as the UI would, without a screen."""

    def __init__(self, registry: Registry | None = None, *, cast: Cast = SCENARIO,
                 start: datetime = datetime(2026, 11, 20, 9, 0, tzinfo=BEIJING),
                 check_guards: bool = True, step_minutes: int = 10):
        self.registry = registry or default_registry()
        self.cast = cast
        self.start_at = start
        self.check_guards = check_guards
        self.step_minutes = step_minutes

    def start(self, procedure_id: str, **kw) -> Run:
        clock, recording, writer = ManualClock(self.start_at), ManualRecording(True), MemoryWriter()
        session = ProcedureSession.start(self.registry, procedure_id, list(self.cast.officers),
                                         writer=writer, recording=recording, clock=clock, **kw)
        return Run(session, clock, recording, writer)

    def fork(self, run: Run) -> Run:
        """An independent copy, rebuilt from the log (so every fork also exercises ``resume``)."""
        writer = MemoryWriter(list(run.writer.entries))
        clock, recording = ManualClock(run.clock.now), ManualRecording(run.recording.active)
        session = ProcedureSession.resume(self.registry, writer.entries, writer=writer,
                                          recording=recording, clock=clock)
        return Run(session, clock, recording, writer, list(run.actions))

    def act(self, run: Run, action: Action) -> None:
        run.clock.advance(minutes=self.step_minutes)
        kind = action[0]
        if kind == "step":
            self.do_step(run, action[1], action[2])
        elif kind == "emergency":
            run.session.choose_emergency(action[1], "当事人正在销毁资料，情况紧急")
        elif kind == "finish":
            run.session.finish()
        else:
            raise ValueError(action)
        run.actions.append(action)

    def do_step(self, run: Run, step_id: str, outcome: str | None = None) -> Any:
        """Enter, (record approvals with ``outcome`` for an approval step,) fill, finalize."""
        s = run.session
        step = s.procedure.step(step_id)
        if self.check_guards and step.requires_gate and not s.state.forced_gates():
            self._expect_refused_without_gate(run, step)
        s.enter(step_id)
        for item in step.checklist:
            s.confirm(item.id)
        for shot in step.key_shots:
            s.record_key_shot(shot.id, [fake_media(f"segment-{step_id}-{shot.id}")])
        if step.document:
            form = s.form()  # keep what is prefilled (defaults, context, presets), fill the rest
            fixed = {k: v for k, v in form.values.items() if v not in (None, "", [], {})}
            s.save_draft(sample_values(form.document, fixed, self.cast, run.clock.now))
        if step.records_gate:
            gate = s.gate(step.records_gate)
            if self.check_guards and gate.status not in ("granted", "refused"):
                codes = {r.code for r in s.check_finalize()}
                assert "approval_missing" in codes, f"{step_id}: approval guard did not bite"
            if gate.status not in ("granted", "refused"):
                self.decide(run, step.records_gate, outcome or "granted")
        if self.check_guards and step.recording.mandatory:
            run.recording.active = False
            try:
                s.finalize()
            except Refused as exc:
                assert "recording" in exc.codes, f"{step_id}: refused, but not for recording"
            else:
                raise AssertionError(f"{step_id}: finalized with the recorder off")
            finally:
                run.recording.active = True
        return s.finalize()

    def decide(self, run: Run, gate_id: str, outcome: str) -> None:
        """Record every role's decision: all agree, or (refused) the deciding role refuses."""
        gate = run.session.procedure.gate(gate_id)
        for role in gate.roles:
            decision = "refused" if outcome == "refused" and role.decides else "granted"
            run.session.record_approval(gate_id, role.role, self.cast.approvers.get(
                role.role, "审批人"), decision, how="电话", at=run.clock.now)

    def _expect_refused_without_gate(self, run: Run, step) -> None:
        gate = run.session.gate(step.requires_gate)
        if gate.status in ("granted", "emergency"):
            return
        try:
            run.session.enter(step.id)
        except Refused:
            return
        raise AssertionError(f"{step.id}: entered without {gate.title}")

    # -- every path ---------------------------------------------------------------------------

    def options(self, run: Run, max_refusals: int = 1) -> list[Action]:
        s = run.session
        if s.finished:
            return []
        acts: list[Action] = []
        for g in s.procedure.gates:
            if g.emergency and s.gate(g.id).status == "undecided":
                acts.append(("emergency", g.id))
        for sid in s.available():
            step = s.procedure.step(sid)
            if step.records_gate:
                refusals = sum(1 for a in run.actions if a[0] == "step" and
                               s.procedure.step(a[1]).records_gate == step.records_gate and
                               a[2] == "refused")
                acts.append(("step", sid, "granted"))
                if refusals < max_refusals:
                    acts.append(("step", sid, "refused"))
            else:
                acts.append(("step", sid, None))
        if not s.missing():
            acts.append(("finish",))
        return acts

    def explore(self, procedure_id: str, *, max_refusals: int = 1,
                limit: int = 20000) -> tuple[list[Run], list[Run]]:
        """Walk every path (each approval refused at most ``max_refusals`` times). Returns
        (finished runs, stuck runs); a stuck run is a path where nothing can be done but the
        procedure has not finished — a bug in the definition or the engine."""
        finished: list[Run] = []
        stuck: list[Run] = []

        def dfs(run: Run) -> None:
            if len(finished) + len(stuck) > limit:
                raise RuntimeError(f"{procedure_id}: more than {limit} paths")
            opts = self.options(run, max_refusals)
            if not opts:
                (finished if run.session.finished else stuck).append(run)
                return
            for i, act in enumerate(opts):
                child = run if i == len(opts) - 1 else self.fork(run)
                self.act(child, act)
                dfs(child)

        dfs(self.start(procedure_id))
        return finished, stuck


def describe(action: Action, registry_proc) -> str:
    if action[0] == "step":
        title = registry_proc.step(action[1]).title
        return f"{title}（{'批准' if action[2] == 'granted' else '不批准'}）" if action[2] else title
    if action[0] == "emergency":
        return f"选择紧急程序：{registry_proc.gate(action[1]).emergency.label}"
    return "结束程序"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m field_app.core.driver",
                                     description="walk procedures headlessly")
    parser.add_argument("procedure", nargs="?", default="sealing")
    parser.add_argument("--count", action="store_true", help="count the paths of every procedure")
    args = parser.parse_args(argv)
    driver = HeadlessDriver()
    if args.count:
        for proc in driver.registry.latest_procedures():
            done, stuck = driver.explore(proc.id)
            print(f"{proc.id} v{proc.version} {proc.title}: {len(done)} paths, {len(stuck)} stuck")
        return 0
    done, _ = driver.explore(args.procedure)
    run = max(done, key=lambda r: len(r.actions))
    proc = run.session.procedure
    print(f"{proc.title}（{len(done)}条路径中最长的一条）")
    for i, action in enumerate(run.actions, 1):
        print(f"{i:2d}. {describe(action, proc)}")
    for d in run.session.deadlines(run.clock.now):
        print(f"    期限 {d.describe()}")
    print(f"    日志共{len(run.writer.entries)}条")
    return 0


if __name__ == "__main__":
    sys.exit(main())
