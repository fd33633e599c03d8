"""Deadlines across National Day 2026 and across New Year into 2027 (no holiday calendar yet).

The 2026 arrangement (国务院办公厅 notice, as shipped in chinese-calendar 1.11.0): 1–7 October are
holidays and Saturday 10 October is an adjusted working day; 25–27 September (中秋) are holidays.
"""

import shutil
from datetime import date, datetime, timedelta

import pytest

from field_app.core.deadlines import (BEIJING, PROVISIONAL_NOTE, add_working_days, compute_due,
                                      format_remaining, working_day)
from field_app.core.engine import ProcedureSession
from forms.loader import FORMS_ROOT, load_registry
from tests.unit.core.conftest import OFFICERS, approve, do, fill


def at(y, m, d, hh=10, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=BEIJING)


def test_national_day_week_is_skipped_and_the_adjusted_saturday_counts():
    # 补正 within 5 working days (第十一条（三）) from Wednesday 30 September 2026:
    # 1–7 Oct holiday; Thu 8 (1), Fri 9 (2), Sat 10 adjusted working day (3), Mon 12 (4), Tue 13 (5).
    due = compute_due("working_days", 5, at(2026, 9, 30))
    assert due.last_day == date(2026, 10, 13)
    assert due.due_at == at(2026, 10, 14, 0, 0)
    assert not due.provisional and due.notice == ""
    # A weekends-only count would have said 7 October — in the middle of the holiday.
    assert add_working_days(date(2026, 9, 30), 5)[0] != date(2026, 10, 7)


def test_the_adjusted_working_saturday_is_a_working_day():
    assert working_day(date(2026, 10, 10)) == (True, True)     # Saturday, 调休上班
    assert working_day(date(2026, 10, 5)) == (False, True)     # Monday, National Day holiday
    assert compute_due("working_days", 1, at(2026, 10, 9)).last_day == date(2026, 10, 10)


def test_mid_autumn_friday_is_not_a_working_day():
    assert compute_due("working_days", 1, at(2026, 9, 24)).last_day == date(2026, 9, 28)


def test_calendar_days_and_hours_ignore_holidays():
    seven = compute_due("days", 7, at(2026, 9, 30, 16, 40))
    assert seven.last_day == date(2026, 10, 7) and seven.due_at == at(2026, 10, 8, 0, 0)
    day = compute_due("hours", 24, at(2026, 9, 30, 16, 40))
    assert day.due_at == at(2026, 10, 1, 16, 40) and day.last_day == date(2026, 10, 1)


def test_working_days_into_2027_are_provisional_not_a_crash():
    # From Tuesday 29 December 2026: Wed 30 (1), Thu 31 (2); 2027 is unknown to chinese-calendar
    # 1.11.0, so Fri 1 January counts as a weekday (3), then Mon 4 (4), Tue 5 (5).
    due = compute_due("working_days", 5, at(2026, 12, 29))
    assert due.last_day == date(2027, 1, 5)
    assert due.provisional
    assert due.notice == PROVISIONAL_NOTE == "节假日安排尚未公布，期限按周末推算，请核对"


def test_working_days_fully_inside_2026_are_not_provisional():
    assert not compute_due("working_days", 2, at(2026, 12, 29)).provisional


def test_calendar_days_into_2027_need_no_calendar():
    due = compute_due("days", 30, at(2026, 12, 20))
    assert due.last_day == date(2027, 1, 19) and not due.provisional


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="naive datetime"):
        compute_due("days", 7, datetime(2026, 11, 20, 10, 0))


def test_remaining_time_is_written_in_chinese():
    due = at(2026, 11, 21, 16, 40)
    assert format_remaining(due, at(2026, 11, 20, 16, 40)) == "还剩1天"
    assert format_remaining(due, at(2026, 11, 21, 14, 10)) == "还剩2小时"
    assert format_remaining(due, at(2026, 11, 21, 18, 40)) == "已超期2小时"


def test_preservation_decision_is_due_in_7_working_days(start, clock):
    # 《行政处罚法》第五十六条 "七日内", 第八十五条: working days. Registered Fri 20 Nov 2026: the
    # weekends 21-22 and 28-29 Nov do not count — the last day is Tue 1 Dec (v1 said Fri 27 Nov).
    s = start("preservation")
    assert s.procedure.version == 2
    s.enter("approval")
    fill(s)
    approve(s, "preservation_approval", clock)
    s.finalize()
    do(s, "notice")
    decision = next(d for d in s.deadlines() if d.deadline_id == "decision")
    assert decision.last_day == date(2026, 12, 1)
    assert decision.status == "running"
    assert {d.deadline_id for d in s.due(at(2026, 11, 27, 12, 0))} == {"av_upload"}  # not yet due
    due = {d.deadline_id: d.status for d in s.due(at(2026, 11, 30, 0, 1))}
    # 48 h warning window for the decision; the 24 h A/V upload is long overdue by then.
    assert due == {"decision": "due", "av_upload": "overdue"}
    assert next(d for d in s.deadlines(at(2026, 12, 2, 0, 1)) if d.deadline_id == "decision").status == "overdue"
    do(s, "handling")
    assert next(d for d in s.deadlines() if d.deadline_id == "decision").status == "done"


def test_preservation_v1_sessions_keep_their_calendar_day_clock(registry, clock, writer, recorder):
    """A published definition never changes: a session started under v1 (calendar days) is resumed
    under v1 and keeps its last day, though new sessions follow v2."""
    from field_app.core.engine import ProcedureSession
    from tests.unit.core.conftest import OFFICERS

    s = ProcedureSession.start(registry, "preservation", OFFICERS, writer=writer, recording=recorder, clock=clock,
                               version=1)
    s.enter("approval")
    fill(s)
    approve(s, "preservation_approval", clock)
    s.finalize()
    do(s, "notice")
    resumed = ProcedureSession.resume(registry, list(writer.entries), writer=writer, recording=recorder, clock=clock,
                                      session_id=s.id)
    assert resumed.procedure.version == 1
    assert next(d for d in resumed.deadlines() if d.deadline_id == "decision").last_day == date(2026, 11, 27)


def test_correction_check_takes_its_length_from_the_order(start, clock):
    # Scenario 1: 责令限期改正通知书 with 15 days (第三十五条: check the correction when due).
    s = start("inspection")
    do(s, "opening")
    do(s, "correction_order", deadline_days=15)
    check = next(d for d in s.deadlines() if d.deadline_id == "correction_check")
    assert (check.amount, check.last_day) == (15, date(2026, 12, 5))


@pytest.fixture
def tree_with_working_day_procedure(tmp_path):
    """A bureau adds a procedure whose clock counts working days — data only, no code."""
    for kind in ("documents", "procedures"):
        shutil.copytree(FORMS_ROOT / kind, tmp_path / kind)
    shutil.copy(FORMS_ROOT / "published.yaml", tmp_path / "published.yaml")
    (tmp_path / "procedures/correction-notice.v1.yaml").write_text("""
id: correction-notice
version: 1
title: 补正告知
articles: [第十一条]
deadlines:
  - id: notify
    label: 一次告知需要补正的全部内容
    amount: 5
    unit: working_days
    basis: 第十一条（三）
steps:
  - id: receive
    title: 收取申请材料
    checklist:
      - {id: received, label: 已收取材料并存档}
    starts: [notify]
""", encoding="utf-8")
    return load_registry(tmp_path, allow_unpublished=True)


def test_engine_marks_a_working_day_deadline_into_2027_as_provisional(
        tree_with_working_day_procedure, clock, recorder, writer):
    clock.now = at(2026, 12, 29, 15, 0)
    s = ProcedureSession.start(tree_with_working_day_procedure, "correction-notice", OFFICERS,
                               writer=writer, recording=recorder, clock=clock)
    do(s, "receive")
    [notify] = s.deadlines()
    assert notify.provisional and notify.last_day == date(2027, 1, 5)
    assert notify.describe() == ("一次告知需要补正的全部内容：2027年1月5日（含当日）前（还剩7天9小时）。"
                                 "节假日安排尚未公布，期限按周末推算，请核对")
    assert [d.key for d in s.overdue(at(2027, 1, 6, 0, 0))] == ["notify"]
    assert s.overdue(at(2027, 1, 5, 23, 59)) == []


def test_engine_working_day_deadline_across_national_day(tree_with_working_day_procedure, clock,
                                                         recorder, writer):
    clock.now = at(2026, 9, 30, 9, 0)
    s = ProcedureSession.start(tree_with_working_day_procedure, "correction-notice", OFFICERS,
                               writer=writer, recording=recorder, clock=clock)
    do(s, "receive")
    [notify] = s.deadlines()
    assert (notify.last_day, notify.provisional, notify.notice) == (date(2026, 10, 13), False, "")
    assert notify.status == "running"
    assert [d.status for d in s.deadlines(at(2026, 10, 12, 23, 59))] == ["running"]
    assert [d.status for d in s.deadlines(at(2026, 10, 13, 0, 0))] == ["due"]  # last day
    assert [d.status for d in s.deadlines(at(2026, 10, 14, 0, 0))] == ["overdue"]
    assert notify.started_at + timedelta(days=13, hours=15) == notify.due_at


def test_due_items_across_sessions_most_urgent_first(registry, clock, writer):
    from field_app.core.engine import due_across
    from tests.unit.core.conftest import Recorder
    sealing = ProcedureSession.start(registry, "sealing", OFFICERS, writer=writer,
                                     recording=Recorder(), clock=clock)
    sealing.choose_emergency("sealing_approval", "财务室正在粉碎凭证")       # report by 09:00 +1 day
    clock.advance(hours=2)
    questioning = ProcedureSession.start(registry, "questioning", OFFICERS, writer=writer,
                                         recording=Recorder(), clock=clock)
    do(questioning, "opening")
    do(questioning, "transcript")
    questioning.finish()                                                   # upload by 11:00 +1 day
    items = due_across([questioning, sealing], at(2026, 11, 21, 10, 0))
    assert [(d.procedure_title, d.deadline_id, d.status) for d in items] == [
        ("封存", "emergency_report", "overdue"), ("调查询问", "av_upload", "due")]
    assert due_across([questioning, sealing], at(2026, 11, 20, 12, 0)) == []
