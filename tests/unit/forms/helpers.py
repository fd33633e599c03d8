"""Shared helpers for the forms tests."""

from datetime import date, datetime

from field_app.core.deadlines import BEIJING
from field_app.core.driver import SCENARIO, sample_values
from forms.schema import ApprovalField, DocumentDef
from forms.values import validate

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=BEIJING)
TODAY = date(2026, 11, 20)


def valid_values(doc: DocumentDef, **fixed) -> dict:
    """Values of ``doc`` that pass validation (approvals as the engine would fill them)."""
    for f in doc.fields:
        if isinstance(f, ApprovalField):
            fixed.setdefault(f.key, {"approver": "孙丽", "decision": "同意",
                                     "at": "2026-11-20T14:20+08:00", "how": "电话"})
    values = {**sample_values(doc, fixed, SCENARIO, NOW), **fixed}
    assert validate(doc, values, today=TODAY) == []
    return values


def messages(doc: DocumentDef, values: dict) -> list[str]:
    return [e.message for e in validate(doc, values, today=TODAY)]
