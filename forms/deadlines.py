"""Statutory clocks: when a deadline runs out, and whether it is due or overdue at a given time.

Pure calendar arithmetic (no Qt, no app): shared by the laptop engine (``field_app.core.deadlines``
re-exports it) and the HQ server (compliance dashboard), so both compute the same due dates.

Three units (forms.procedure_schema.DeadlineSpec.unit):

- ``hours``: exact, ``start + N hours`` (24 h to report an emergency sealing, to upload A/V).
- ``days``: calendar days. The start day is not counted; the time runs out at the end (24:00, Beijing
  time) of day ``start + N``. No holiday shifting: these are the officers' own obligations, and the
  stricter reading is the safe one.
- ``working_days``: the start day is not counted; the N-th following working day is the last day.
  Working days come from the ``chinese-calendar`` package (public holidays and the adjusted working
  weekends of the State Council's yearly notice).

Dangerous: ``chinese-calendar`` only knows the years whose holiday notice was published when it was
released (1.11.0: up to 2026) and raises for later years. For such a year this module counts Monday to
Friday as working days and marks the result ``provisional`` with PROVISIONAL_NOTE, instead of crashing
or pretending to know — a provisional date can be wrong by the length of a holiday. Upgrading the
pinned package makes the same deadline exact (nothing computed is stored as truth).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

BEIJING = ZoneInfo("Asia/Shanghai")
PROVISIONAL_NOTE = "节假日安排尚未公布，期限按周末推算，请核对"
UNITS = ("hours", "days", "working_days")


def working_day(day: date) -> tuple[bool, bool]:
    """(whether ``day`` is a working day, whether the holiday calendar knows its year).

    When the year is unknown the answer is "Monday to Friday" and the second value is False.
    """
    try:
        return chinese_calendar.is_workday(day), True
    except NotImplementedError:  # chinese-calendar: "no available data for year …"
        return day.weekday() < 5, False


def add_working_days(start: date, n: int) -> tuple[date, bool]:
    """The n-th working day after ``start`` (``start`` itself never counts) and whether every day
    examined was in a known year. ``n`` must be >= 1."""
    if n < 1:
        raise ValueError("n must be at least 1")
    day, counted, known = start, 0, True
    while counted < n:
        day += timedelta(days=1)
        is_work, day_known = working_day(day)
        known = known and day_known
        counted += is_work
    return day, known


def local(moment: datetime) -> datetime:
    """``moment`` in Beijing time. Naive datetimes are refused: their zone is a guess."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: pass an aware datetime (Beijing time)")
    return moment.astimezone(BEIJING)


@dataclass(frozen=True)
class Due:
    """When a deadline runs out.

    ``due_at`` is the first instant that is late (overdue when ``now >= due_at``); ``last_day`` is
    the last calendar day that is in time; ``provisional`` is True when a working-day count crossed
    a year without a published holiday calendar.
    """

    due_at: datetime
    last_day: date
    provisional: bool = False

    @property
    def notice(self) -> str:
        return PROVISIONAL_NOTE if self.provisional else ""


def compute_due(unit: str, amount: int, start: datetime) -> Due:
    """The end of a deadline of ``amount`` ``unit`` started at ``start`` (aware datetime)."""
    start = local(start)
    if unit == "hours":
        due_at = start + timedelta(hours=amount)
        return Due(due_at, due_at.date() if due_at.time() != time(0) else
                   due_at.date() - timedelta(days=1))
    if unit == "days":
        last = start.date() + timedelta(days=amount)
        return Due(_end_of(last), last)
    if unit == "working_days":
        last, known = add_working_days(start.date(), amount)
        return Due(_end_of(last), last, provisional=not known)
    raise ValueError(f"unknown deadline unit {unit!r}")


def _end_of(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=BEIJING)


def format_due(due: Due, unit: str) -> str:
    """Chinese text for the end of a deadline, e.g. 「2026年11月21日16时40分前」 or
    「2026年12月31日（含当日）前」."""
    if unit == "hours":
        d = due.due_at
        return f"{d.year}年{d.month}月{d.day}日{d.hour}时{d.minute:02d}分前"
    d = due.last_day
    return f"{d.year}年{d.month}月{d.day}日（含当日）前"


def format_remaining(due_at: datetime, now: datetime) -> str:
    """「还剩3天5小时」 / 「已超期2小时」 — rounded down to hours (minutes under one hour)."""
    delta = due_at - local(now)
    late = delta < timedelta(0)
    delta = abs(delta)
    days, rest = divmod(int(delta.total_seconds()), 86400)
    hours, rest = divmod(rest, 3600)
    if days:
        text = f"{days}天{hours}小时" if hours else f"{days}天"
    elif hours:
        text = f"{hours}小时"
    else:
        text = f"{max(rest // 60, 1) if rest else 0}分钟"
    return f"已超期{text}" if late else f"还剩{text}"
