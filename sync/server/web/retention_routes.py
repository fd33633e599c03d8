"""Routes of retention (第六十五条、第六十七条): ``/retention`` (each recording/record with its category,
date and status; pending deletion requests), and the POST actions: long-term mark, legal hold set/
release (head, legal office), deletion request (admin, head, legal) and the head's decision.

There is no route that deletes without an approved request; the approval re-checks every condition
(date, hold, long-term) and the head cannot approve their own request. Audited: ``view``,
``retention_hold`` (marks and holds), ``retention_delete_request``, ``retention_delete_approve``
(approvals and rejections, with the approval number and the removed hashes) and ``denied``.
"""

from __future__ import annotations

import time

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse

from sync.server.web import retention
from sync.server.web.accounts import User
from sync.server.web.audit import audit_event
from sync.server.web.auth import WebError, hq_of, require_roles, verify_csrf
from sync.server.web.catalog import Scope
from sync.server.web.templating import render

router = APIRouter()
VIEWERS = ("admin", "head", "legal")
HOLDERS = ("head", "legal")
APPROVERS = ("head",)


def _refused(exc: retention.RetentionError) -> WebError:
    return WebError(409, str(exc))


@router.get("/retention")
def retention_page(request: Request, department: str = "", category: str = "",
                   user: User = Depends(require_roles(*VIEWERS))):
    hq = hq_of(request)
    scope = Scope.for_user(hq, user)
    deps = None if scope.departments is None else frozenset(scope.departments)
    if department:
        deps = frozenset({department})
    now = time.time_ns()
    rows = [u.row(now) for u in retention.units(hq, deps)]
    if category:
        rows = [r for r in rows if r["category"] == category]
    audit_event(hq, user, "view", "retention", {"department": department, "category": category})
    return render(request, "retention_list.html", user=user, rows=rows, requests=retention.list_requests(hq),
                  department=department, category=category, mark_reasons=retention.MARK_REASONS,
                  can_hold=user.role in HOLDERS, can_approve=user.role in APPROVERS)


@router.post("/retention/mark")
def mark(request: Request, csrf: str = Form(""), device_id: str = Form(""), record_id: str = Form(""),
         reason: str = Form(""), note: str = Form(""), user: User = Depends(require_roles(*HOLDERS))):
    verify_csrf(request, csrf)
    hq = hq_of(request)
    try:
        retention.mark_long_term(hq, device_id, record_id, reason, note, user.username)
    except retention.RetentionError as exc:
        raise _refused(exc) from None
    audit_event(hq, user, "retention_hold", f"{device_id}/{record_id}", {"mark": reason, "note": note[:200]})
    return RedirectResponse("/retention", status_code=303)


@router.post("/retention/hold")
def hold(request: Request, csrf: str = Form(""), device_id: str = Form(""), record_id: str = Form(""),
         reason: str = Form(""), user: User = Depends(require_roles(*HOLDERS))):
    verify_csrf(request, csrf)
    hq = hq_of(request)
    try:
        hold_id = retention.set_hold(hq, device_id, record_id, reason, user.username)
    except retention.RetentionError as exc:
        raise _refused(exc) from None
    audit_event(hq, user, "retention_hold", f"{device_id}/{record_id}", {"hold": hold_id, "reason": reason[:200]})
    return RedirectResponse("/retention", status_code=303)


@router.post("/retention/hold/{hold_id}/release")
def release(request: Request, hold_id: str, csrf: str = Form(""), reason: str = Form(""),
            user: User = Depends(require_roles(*HOLDERS))):
    verify_csrf(request, csrf)
    hq = hq_of(request)
    try:
        retention.release_hold(hq, hold_id, reason, user.username)
    except retention.RetentionError as exc:
        raise _refused(exc) from None
    audit_event(hq, user, "retention_hold", hold_id, {"release": True, "reason": reason[:200]})
    return RedirectResponse("/retention", status_code=303)


@router.post("/retention/delete-request")
def delete_request(request: Request, csrf: str = Form(""), device_id: str = Form(""), record_id: str = Form(""),
                   reason: str = Form(""), user: User = Depends(require_roles(*VIEWERS))):
    verify_csrf(request, csrf)
    hq = hq_of(request)
    try:
        request_id = retention.request_deletion(hq, device_id, record_id, reason, user.username)
    except retention.RetentionError as exc:
        audit_event(hq, user, "denied", f"{device_id}/{record_id}", {"why": "retention", "message": str(exc)})
        raise _refused(exc) from None
    audit_event(hq, user, "retention_delete_request", f"{device_id}/{record_id}",
                {"request": request_id, "reason": reason[:200]})
    return RedirectResponse("/retention", status_code=303)


@router.post("/retention/delete/{request_id}/decide")
def decide(request: Request, request_id: str, csrf: str = Form(""), decision: str = Form(""),
           user: User = Depends(require_roles(*APPROVERS))):
    verify_csrf(request, csrf)
    hq = hq_of(request)
    if decision not in ("approve", "reject"):
        raise WebError(400, "请选择批准或驳回。")
    try:
        out = retention.decide_deletion(hq, request_id, decision == "approve", user.username)
    except retention.RetentionError as exc:
        audit_event(hq, user, "denied", request_id, {"why": "retention", "message": str(exc)})
        raise _refused(exc) from None
    audit_event(hq, user, "retention_delete_approve", f"{out['device_id']}/{out['record_id']}",
                {"request": request_id, "decision": decision, "approval_no": out["approval_no"],
                 "removed": out["removed"], "kept": out["kept"]})
    return RedirectResponse("/retention", status_code=303)
