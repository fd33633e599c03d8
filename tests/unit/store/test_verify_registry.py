"""Other packages add verifier checks without editing verify.py (e.g. capture's segment chains)."""

from __future__ import annotations

import pytest

from field_app.store import verify
from field_app.store.verify import Problem, register_check, verify_report, verify_store


@pytest.fixture
def registry(monkeypatch):
    monkeypatch.setattr(verify, "_CHECKS", list(verify._CHECKS))  # registrations vanish after the test


def test_a_registered_check_sees_every_entry_and_its_problems_are_reported(store, registry):
    for index in (0, 1, 3):  # segment 2 is missing
        store.append("capture.segment", {"recording": "rec-1", "index": index})

    @register_check
    def segments_are_consecutive(ctx):
        expected = 0
        for entry in ctx.iter_entries():
            if entry.entry_type == "capture.segment":
                if entry.payload["index"] != expected:
                    yield Problem("segment_gap", f"录像分段不连续：缺少第 {expected} 段。", seq=entry.seq)
                expected = entry.payload["index"] + 1

    register_check(segments_are_consecutive)  # registering twice runs it once
    report = verify_report(store)
    assert [(p.kind, p.seq) for p in report.problems] == [("segment_gap", store.size)]
    assert report.checks[-1].endswith("segments_are_consecutive")
    assert len(report.checks) == len(set(report.checks))


def test_built_in_checks_are_listed_in_the_summary(store):
    report = verify_report(store)
    assert report.problems == [] and f"{len(report.checks)} 项检查" in report.summary()
    assert verify_store(store) == []


def test_plugins_named_by_the_cli_are_imported_and_a_missing_one_is_an_error():
    from field_app.cli import VERIFY_PLUGINS

    verify.load_plugins(VERIFY_PLUGINS)
    names = verify.registered_checks()
    assert all(any(name.startswith(module + ".") for name in names) for module in VERIFY_PLUGINS)
    with pytest.raises(ModuleNotFoundError):  # never a silent skip: that hides checks
        verify.load_plugins(["field_app.no_such_checks"])
