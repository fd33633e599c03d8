"""Walk every path of every procedure headlessly (Electrum's tests/test_wizard.py is the model).

The driver takes every choice the engine offers at every point (each step, each approval outcome,
the emergency path, finishing), and on the way asserts that a mandatory-A/V step refuses to finalize
with the recorder off, that an approval form refuses to finalize before the decisions are recorded,
and that a step needing approval cannot be entered without it. Each fork of a walk is rebuilt from
the log, so every path also exercises ``ProcedureSession.resume``.
"""

import pytest

from field_app.core.driver import HeadlessDriver
from forms.loader import default_registry

PROCEDURES = ["inspection", "questioning", "preservation", "sealing", "service"]


@pytest.fixture(scope="module")
def walks():
    driver = HeadlessDriver(default_registry())
    return {p: driver.explore(p) for p in PROCEDURES}


def steps_of(run):
    return [a[1] for a in run.actions if a[0] == "step"]


@pytest.mark.parametrize("procedure", PROCEDURES)
def test_every_path_finishes_and_none_is_stuck(walks, procedure):
    finished, stuck = walks[procedure]
    assert stuck == []
    assert finished
    for run in finished:
        assert run.session.finished and run.actions[-1] == ("finish",)
        assert run.session.missing() == []


@pytest.mark.parametrize("procedure", PROCEDURES)
def test_every_record_names_the_document_version_its_step_produces(walks, procedure):
    registry = default_registry()
    for run in walks[procedure][0]:
        proc = run.session.procedure
        records = run.writer.of_type("record")
        assert [r.payload["step"] for r in records] == \
            [sid for sid in steps_of(run) if proc.step(sid).document]
        for r in records:
            step = proc.step(r.payload["step"])
            assert r.payload["document"] == {"id": step.document.id, "version": step.document.version}
            assert r.payload["procedure"] == {"id": proc.id, "version": proc.version}
            assert registry.document_for(r.payload["document"]).title


def test_service_has_one_path_per_mode(walks):
    finished, _ = walks["service"]
    assert sorted(steps_of(r)[0] for r in finished) == \
        sorted(["direct", "lien", "entrusted", "postal", "public_notice"])
    assert all(len(steps_of(r)) == 1 for r in finished)
    modes = {r.writer.of_type("record")[0].payload["values"]["mode"] for r in finished}
    assert modes == {"直接送达", "留置送达", "委托送达", "邮寄送达", "公告送达"}


def test_questioning_paths_with_and_without_notice(walks):
    assert sorted(steps_of(r) for r in walks["questioning"][0]) == [
        ["notice", "opening", "transcript"], ["opening", "transcript"]]


def test_preservation_paths(walks):
    paths = sorted((tuple(steps_of(r)), r.actions[0][2]) for r in walks["preservation"][0])
    assert paths == [(("approval",), "refused"), (("approval", "notice", "handling"), "granted")]


def test_inspection_always_opens_with_notice_and_records_before_penalty(walks):
    finished, _ = walks["inspection"]
    optional = {"correction_order", "questioning_notice", "onsite_penalty"}
    seen = set()
    for run in finished:
        order = steps_of(run)
        assert order[0] == "opening" and "record" in order
        if "onsite_penalty" in order:
            assert order.index("record") < order.index("onsite_penalty")
        seen |= set(order) & optional
        assert run.session.deadlines()[0].deadline_id in ("av_upload", "correction_check")
    assert seen == optional


def test_sealing_never_ends_with_items_still_sealed(walks):
    for run in walks["sealing"][0]:
        order = steps_of(run)
        if "notice" in order or any(a[0] == "emergency" for a in run.actions):
            # (in an emergency the 补办 approval form may come last, even after the release)
            assert "release_list" in order, order
            assert order.index("release_decision") < order.index("release_list")


def test_sealing_emergency_paths_report_within_24_hours_or_release(walks):
    emergency = [r for r in walks["sealing"][0] if r.actions[0][0] == "emergency"]
    assert emergency
    # Some paths have the refusal arrive while items are still sealed: the forced release.
    assert any(("step", "approval", "refused") in r.actions and
               "release_approval" not in steps_of(r) and "list" in steps_of(r) for r in emergency)
    for run in emergency:
        report = next(d for d in run.session.deadlines() if d.deadline_id == "emergency_report")
        assert report.status == "done" and report.amount == 24 and report.unit == "hours"
        refused = ("step", "approval", "refused") in run.actions
        if refused:  # forced release: after the refusal nothing but the release itself
            order = steps_of(run)
            after = order[order.index("approval") + 1:]
            assert set(after) <= {"release_decision", "release_list"}, order
            assert "release_list" in order


def test_sealing_normal_refusal_ends_before_anything_is_sealed(walks):
    refused_first = [r for r in walks["sealing"][0] if r.actions[0] == ("step", "approval", "refused")]
    assert [r.actions for r in refused_first] == [[("step", "approval", "refused"), ("finish",)]]


def test_sealing_extension_adds_to_the_term_and_release_ends_it(walks):
    extended = [r for r in walks["sealing"][0] if "extension" in steps_of(r)]
    assert extended
    for run in extended:
        term = next(d for d in run.session.deadlines() if d.deadline_id == "sealing_term")
        ext = next(r for r in run.writer.of_type("record") if r.payload["step"] == "extension")
        decided = next(r for r in run.writer.of_type("record") if r.payload["step"] == "decision")
        assert term.amount == decided.payload["values"]["term_days"] + \
            ext.payload["values"]["extension_days"]
        assert term.status == "done"
