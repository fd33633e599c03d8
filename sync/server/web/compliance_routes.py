"""Routes of the compliance dashboard: ``GET /compliance`` (the page) and
``GET /compliance/download/<table>.csv`` (one table as CSV, UTF-8 with BOM).

Who sees what: everyone logged in, within ``catalog.Scope.for_user`` (admin/head/legal: every
department; unit head: own department; officer: own department and only matters they took part in).
Asking for another department than the scope allows is refused with 403 and audited as ``denied``.
Every page view is audited as ``view`` and every CSV as ``download`` (with the filter).
"""

from __future__ import annotations

from datetime import date, datetime, time as dtime, timedelta

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from forms.deadlines import BEIJING
from sync.server.web import compliance
from sync.server.web.accounts import User
from sync.server.web.audit import audit_event
from sync.server.web.auth import WebError, current_user, hq_of
from sync.server.web.catalog import Scope
from sync.server.web.templating import render

router = APIRouter()
DEFAULT_DAYS = 30


def _day(text: str | None, fallback: date) -> date:
    try:
        return date.fromisoformat(text) if text else fallback
    except ValueError:
        raise WebError(400, "日期格式应为 年-月-日（例如 2026-11-28）。") from None


def _ns(day: date) -> int:
    return int(datetime.combine(day, dtime(0), tzinfo=BEIJING).timestamp()) * 10**9


def departments_of(hq) -> list[str]:
    with hq.db.transaction() as tx:
        return [r[0] for r in tx.all("SELECT name FROM departments ORDER BY name")]


def filter_for(request: Request, user: User, start: str | None, end: str | None,
               department: str | None) -> tuple[compliance.Filter, dict]:
    """The dashboard filter a user may have: period [start, end] (whole days, Beijing time; default the
    last 30 days) and a department inside the user's scope. 403 (audited) for a department outside."""
    hq = hq_of(request)
    today = datetime.now(BEIJING).date()
    end_day = _day(end, today)
    start_day = _day(start, end_day - timedelta(days=DEFAULT_DAYS - 1))
    if start_day > end_day:
        raise WebError(400, "开始日期不能晚于结束日期。")
    scope = Scope.for_user(hq, user)
    departments = None if scope.departments is None else frozenset(scope.departments)
    if department:
        if departments is not None and department not in departments:
            audit_event(hq, user, "denied", request.url.path, {"why": "department", "department": department})
            raise WebError(403, "您无权查看其他单位的数据。")
        departments = frozenset({department})
    flt = compliance.Filter(_ns(start_day), _ns(end_day + timedelta(days=1)), departments, scope.cert_no)
    form = {"start": start_day.isoformat(), "end": end_day.isoformat(), "department": department or "",
            "departments": departments_of(hq) if scope.departments is None else list(scope.departments)}
    return flt, form


def _detail(form: dict) -> dict:
    return {k: form[k] for k in ("start", "end", "department")}


@router.get("/compliance")
async def dashboard_page(request: Request, start: str | None = None, end: str | None = None,
                         department: str | None = None, user: User = Depends(current_user)):
    hq = hq_of(request)
    flt, form = await run_in_threadpool(filter_for, request, user, start, end, department)
    board = await run_in_threadpool(compliance.dashboard, hq, flt)
    await run_in_threadpool(audit_event, hq, user, "view", "compliance", _detail(form))
    query = "&".join(f"{k}={v}" for k, v in _detail(form).items() if v)
    return render(request, "compliance_dashboard.html", user=user, board=board, form=form, query=query,
                  officer_only=flt.officer is not None)


@router.get("/compliance/download/{name}.csv")
async def download_csv(request: Request, name: str, start: str | None = None, end: str | None = None,
                       department: str | None = None, user: User = Depends(current_user)):
    hq = hq_of(request)
    flt, form = await run_in_threadpool(filter_for, request, user, start, end, department)
    board = await run_in_threadpool(compliance.dashboard, hq, flt)
    if name not in board.tables:
        raise WebError(404, "没有这个统计表。")
    table = board.table(name)
    await run_in_threadpool(audit_event, hq, user, "download", f"compliance/{name}.csv",
                            {**_detail(form), "rows": len(table.rows)})
    filename = f"compliance-{name}-{form['start']}-{form['end']}.csv"
    return Response(compliance.to_csv(table), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})
