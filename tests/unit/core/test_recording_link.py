"""Each step is linked to its time span in the recording that covers it (issue 7: "each record is
linked to its time span in that recording"): the engine writes the recording id and offsets it gets
from the RecordingState into the log, so HQ and a verifier need not guess from wall-clock times."""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.unit.core.conftest import do


@dataclass
class PositionedRecorder:
    """A RecordingState that also tells where the recording is (as capture's RecordingRegistry)."""

    recording_id: str = "rec-a"
    offset: float = 0.0
    active: bool = True
    asked: list = field(default_factory=list)

    def is_recording(self, session_id: str) -> bool:
        return self.active

    def position(self, session_id: str) -> dict | None:
        self.asked.append(session_id)
        return {"recording_id": self.recording_id, "offset": self.offset} if self.active else None


def _start(registry, clock, writer, recorder, procedure_id="inspection"):
    from field_app.core.engine import ProcedureSession
    from tests.unit.core.conftest import OFFICERS

    return ProcedureSession.start(registry, procedure_id, OFFICERS, writer=writer, recording=recorder, clock=clock)


def test_a_record_carries_its_span_in_the_recording(registry, clock, writer):
    rec = PositionedRecorder(offset=12.5)
    s = _start(registry, clock, writer, rec)
    step = s.enter("opening")
    entered = writer.entries[-1]
    assert entered.payload["recording"] == {"recording_id": "rec-a", "offset": 12.5}
    for item in step.checklist:
        s.confirm(item.id)
    rec.offset = 80.25
    done = s.finalize()
    assert done.payload["recording"] == {"recording_id": "rec-a", "start": 12.5, "end": 80.25}
    rec.offset = 95.0
    record = do(s, "record")
    assert record.entry_type == "record"
    assert record.payload["recording"] == {"recording_id": "rec-a", "start": 95.0, "end": 95.0}
    assert set(rec.asked) == {s.id}


def test_a_step_entered_in_a_recording_that_was_cut_names_both(registry, clock, writer):
    """After a crash the procedure resumes with a new recording: the span starts in the cut one."""
    from field_app.core.engine import ProcedureSession

    rec = PositionedRecorder(recording_id="rec-cut", offset=30.0)
    s = _start(registry, clock, writer, rec)
    step = s.enter("opening")
    for item in step.checklist:
        s.confirm(item.id)
    resumed_rec = PositionedRecorder(recording_id="rec-new", offset=4.0)
    resumed = ProcedureSession.resume(registry, list(writer.entries), writer=writer, recording=resumed_rec,
                                      clock=clock, session_id=s.id)
    done = resumed.finalize()
    assert done.payload["recording"] == {"recording_id": "rec-new", "start": None, "end": 4.0,
                                         "entered_in": "rec-cut"}


def test_without_a_position_nothing_is_claimed(registry, clock, writer, recorder):
    """A RecordingState that cannot tell where it is (or a step not recorded) writes no link."""
    s = _start(registry, clock, writer, recorder)
    step = s.enter("opening")
    assert "recording" not in writer.entries[-1].payload
    for item in step.checklist:
        s.confirm(item.id)
    assert "recording" not in s.finalize().payload
