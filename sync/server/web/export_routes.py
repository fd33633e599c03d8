"""Pages of the export flow (第六十九条): request form (申请导出), the head's approval queue (批准/驳回),
the requester's list with status and download link, and the download.

    GET  /exports                      my requests; for heads also the queue and decided requests
    GET  /exports/new?scope=&device=&target=   the request form (record/case/recording pages link here)
    POST /exports                      file a request (csrf, scope, device, target, reason)
    GET  /exports/{id}                 one request
    POST /exports/{id}/approve         head: approve (csrf) — the approval number is generated
    POST /exports/{id}/reject          head: reject (csrf, reason)
    GET  /exports/{id}/download        the ZIP (built on first download; audited "export_download")

Guaranteed: every route depends on ``current_user`` (no session → redirect to login, or 401 for the
download and for POSTs); every POST checks the CSRF token first; the rules themselves (who may approve,
no package without approval, scope) live in ``exports`` — a refusal there becomes a Chinese error page
with its status (403/404/409) and an audit event "denied".
Dangerous: the first download re-encodes the video in the request's worker thread (these handlers are
plain ``def``, so FastAPI runs them in the thread pool, not on the event loop).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import FileResponse, RedirectResponse

from sync.server.web import exports
from sync.server.web.accounts import User
from sync.server.web.auth import WebError, current_user, hq_of, verify_csrf
from sync.server.web.templating import render

router = APIRouter(include_in_schema=False)


def _refused(exc: exports.ExportRefused) -> WebError:
    return WebError(exc.status, exc.message)


def _visible(request: Request, user: User, req: exports.ExportRequest | None) -> exports.ExportRequest:
    """The request if ``user`` filed it or is a head covering it; 404 (like a missing one) otherwise."""
    if req is None or not (req.requester == user.username or (
            user.role == "head" and all(exports.covers(user.department, d) for d in req.department_list))):
        from sync.server.web.audit import audit_event

        audit_event(hq_of(request), user, "denied", f"export:{req.id if req else '?'}", {"why": "not visible"})
        raise WebError(404, "没有这个导出申请，或您无权查看。")
    return req


@router.get("/exports")
def export_list(request: Request, user: User = Depends(current_user)):
    hq = hq_of(request)
    pending, decided = exports.list_for_head(hq, user)
    return render(request, "export_list.html", mine=exports.list_mine(hq, user), pending=pending, decided=decided,
                  is_head=user.role == "head")


@router.get("/exports/new")
def export_form(request: Request, scope: str = "record", device: str = "", target: str = "",
                user: User = Depends(current_user)):
    hq = hq_of(request)
    try:
        src = exports.visible_sources(hq, user, scope, target, device or None)
    except exports.ExportRefused as exc:
        raise _refused(exc) from None
    return render(request, "export_new.html", scope=scope, scope_label=exports.pkg.SCOPES.get(scope, scope),
                  device=device, target=target, src=src, error="", reason="")


@router.post("/exports")
def export_create(request: Request, csrf: str = Form(""), scope: str = Form(""), device: str = Form(""),
                  target: str = Form(""), reason: str = Form(""), user: User = Depends(current_user)):
    verify_csrf(request, csrf)
    hq = hq_of(request)
    try:
        req = exports.request_export(hq, user, scope, target, reason, device or None)
    except exports.ExportRefused as exc:
        if exc.status != 400:
            raise _refused(exc) from None
        try:
            src = exports.visible_sources(hq, user, scope, target, device or None)
        except exports.ExportRefused:
            raise _refused(exc) from None
        return render(request, "export_new.html", status_code=400, scope=scope, device=device, target=target,
                      scope_label=exports.pkg.SCOPES.get(scope, scope), src=src, error=exc.message, reason=reason)
    return RedirectResponse(f"/exports/{req.id}", status_code=303)


@router.get("/exports/{request_id}")
def export_detail(request: Request, request_id: str, user: User = Depends(current_user)):
    req = _visible(request, user, exports.get_request(hq_of(request), request_id))
    return render(request, "export_detail.html", req=req, may_decide=exports.may_decide(user, req) and
                  req.status == "pending", may_download=req.usable)


@router.post("/exports/{request_id}/approve")
def export_approve(request: Request, request_id: str, csrf: str = Form(""), user: User = Depends(current_user)):
    verify_csrf(request, csrf)
    try:
        exports.approve(hq_of(request), user, request_id)
    except exports.ExportRefused as exc:
        raise _refused(exc) from None
    return RedirectResponse(f"/exports/{request_id}", status_code=303)


@router.post("/exports/{request_id}/reject")
def export_reject(request: Request, request_id: str, csrf: str = Form(""), reason: str = Form(""),
                  user: User = Depends(current_user)):
    verify_csrf(request, csrf)
    try:
        exports.reject(hq_of(request), user, request_id, reason)
    except exports.ExportRefused as exc:
        raise _refused(exc) from None
    return RedirectResponse(f"/exports/{request_id}", status_code=303)


@router.get("/exports/{request_id}/download")
def export_download(request: Request, request_id: str, user: User = Depends(current_user)):
    try:
        req, path = exports.download(hq_of(request), user, request_id)
    except exports.ExportRefused as exc:
        raise _refused(exc) from None
    return FileResponse(path, media_type="application/zip", filename=path.name,
                        headers={"Cache-Control": "no-store", "X-Package-SHA256": req.package_sha256 or ""})
