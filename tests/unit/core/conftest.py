"""Fixtures for the procedure engine: the shipped definitions, a hand-moved clock, a recorder
switch (the capture package will implement RecordingState for real) and an in-memory writer."""

from datetime import datetime

import pytest

from field_app.core.deadlines import BEIJING
from field_app.core.driver import SCENARIO, ManualClock, sample_values
from field_app.core.engine import ProcedureSession
from field_app.core.ports import MemoryWriter
from forms.loader import default_registry

OFFICERS = list(SCENARIO.officers)  # 王建国 13010220170031, 刘晓燕 13010220190047


class Recorder:
    """RecordingState: continuous recording on or off."""

    def __init__(self, active: bool = True):
        self.active = active

    def is_recording(self, session_id: str) -> bool:
        return self.active


@pytest.fixture(scope="session")
def registry():
    return default_registry()


@pytest.fixture
def clock():
    return ManualClock(datetime(2026, 11, 20, 9, 0, tzinfo=BEIJING))


@pytest.fixture
def recorder():
    return Recorder(True)


@pytest.fixture
def writer():
    return MemoryWriter()


@pytest.fixture
def start(registry, clock, recorder, writer):
    def _start(procedure_id, officers=None, **kw):
        return ProcedureSession.start(registry, procedure_id, OFFICERS if officers is None
                                      else officers, writer=writer, recording=recorder,
                                      clock=clock, **kw)
    return _start


def fill(session, **overrides):
    """Save a complete, valid draft of the current document: what is already filled (defaults,
    context, presets) stays; the rest is sample data; ``overrides`` win."""
    form = session.form()
    fixed = {k: v for k, v in form.values.items() if v not in (None, "", [], {})}  # prefilled
    values = sample_values(form.document, {**fixed, **overrides}, SCENARIO, session.clock())
    values.update(overrides)
    return session.save_draft(values)


def do(session, step_id, **overrides):
    """Enter, confirm every checklist item, fill, finalize."""
    step = session.enter(step_id)
    for item in step.checklist:
        session.confirm(item.id)
    if step.document:
        fill(session, **overrides)
    return session.finalize()


def approve(session, gate_id, clock, outcome="granted"):
    for role, name in (("办案机构负责人", "赵志强"), ("执法机关负责人", "孙丽")):
        decision = "refused" if outcome == "refused" and role == "执法机关负责人" else "granted"
        session.record_approval(gate_id, role, name, decision, how="电话", at=clock.now)
