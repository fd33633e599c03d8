"""Statutory clocks — moved to ``forms.deadlines`` so the HQ server computes the same due dates
without importing the laptop app. Re-exported here unchanged; see that module for the rules."""

from __future__ import annotations

from forms.deadlines import (BEIJING, PROVISIONAL_NOTE, UNITS, Due, add_working_days, compute_due,
                             format_due, format_remaining, local, working_day)

__all__ = ["BEIJING", "PROVISIONAL_NOTE", "UNITS", "Due", "add_working_days", "compute_due", "format_due",
           "format_remaining", "local", "working_day"]
