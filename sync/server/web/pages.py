"""The web platform's own pages: login/logout, search and browse, case, record and recording pages with
playback, media (PDFs, photos, the joined MP4 with HTTP Range), device integrity, audit log, users.

Guaranteed:
- every route except /login depends on ``current_user`` (pages redirect to /login, media answers 401);
- every lookup goes through ``catalog.Scope`` — something outside the user's scope answers 404 exactly
  like something that does not exist, and the attempt is written to the audit log (``denied``);
- audited: login, login_failed, logout, search (any query), view (case, record, recording, device pages),
  play (a video request starting at byte 0: the first request of a playback, not every seek), download
  (PDFs, and any media fetched with ``?download=1``). Photos shown inside an audited page are part of that
  view and not audited one by one;
- POST forms are CSRF-checked; the session cookie is HttpOnly, SameSite=Strict (Secure over HTTPS).
Dangerous: nothing here edits evidence or the audit log; keep it that way (no UPDATE/DELETE routes).
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from sync.server.web import accounts, catalog, integrity
from sync.server.web.accounts import LoginRefused, User
from sync.server.web.audit import ACTION_LABELS, audit_event, audit_head, list_events, verify_audit
from sync.server.web.auth import (LOGIN_CSRF_COOKIE, SESSION_COOKIE, WebError, csrf_token, current_user, hq_of,
                                  require_roles, verify_csrf)
from sync.server.web.playback import PlaybackError, joined_mp4
from sync.server.web.templating import render

router = APIRouter(include_in_schema=False)
SHA = re.compile(r"^[0-9a-f]{64}$")
NOT_FOUND = "没有找到该记录，或您无权查看。"
SEARCH_FIELDS = ("q", "officer", "date_from", "date_to", "procedure", "document", "status")


def _denied(request: Request, user: User, what: str, target: str) -> WebError:
    audit_event(hq_of(request), user, "denied", target, {"why": "scope", "what": what, "path": request.url.path})
    return WebError(404, NOT_FOUND)


def _scope(request: Request, user: User) -> catalog.Scope:
    return catalog.Scope.for_user(hq_of(request), user)


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/search"


# --- login / logout -----------------------------------------------------------------------------------

def _login_page(request: Request, next_: str, error: str = "", username: str = "", status: int = 200) -> Response:
    response = render(request, "login.html", status_code=status, next=_safe_next(next_), error=error, username=username)
    response.set_cookie(LOGIN_CSRF_COOKIE, csrf_token(request), httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/login")
    return response


@router.get("/login")
def login_form(request: Request, next: str = "/search"):
    return _login_page(request, next)


@router.post("/login")
def login(request: Request, username: str = Form(""), password: str = Form(""), csrf: str = Form(""),
          next: str = Form("/search")):
    verify_csrf(request, csrf)
    hq = hq_of(request)
    try:
        user = accounts.authenticate(hq.db, username, password)
    except LoginRefused as refused:
        audit_event(hq, None, "login_failed", username[:64], {"username": username[:64], "locked": refused.locked,
                                                             "client": request.client.host if request.client else ""})
        return _login_page(request, next, str(refused), username, status=401)
    token, session = accounts.start_session(hq.db, user)
    request.state.web_session = session
    audit_event(hq, user, "login", user.username, {"client": request.client.host if request.client else ""})
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https",
                        path="/", max_age=accounts.ABSOLUTE_NS // 1_000_000_000)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, csrf: str = Form(""), user: User = Depends(current_user)):
    verify_csrf(request, csrf)
    hq = hq_of(request)
    accounts.end_session(hq.db, request.state.web_session.token_hash)
    audit_event(hq, user, "logout", user.username, {})
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/")
def home(user: User = Depends(current_user)):
    return RedirectResponse("/search", status_code=303)


# --- search -------------------------------------------------------------------------------------------

def _flags(request: Request, device_ids) -> dict[str, integrity.DeviceIntegrity]:
    hq = hq_of(request)
    return {d: integrity.device_integrity(hq, d) for d in set(device_ids)}


@router.get("/search")
def search(request: Request, kind: str = "records", user: User = Depends(current_user)):
    params = {k: request.query_params.get(k, "").strip()[:100] for k in SEARCH_FIELDS}
    kind = kind if kind in ("records", "cases", "recordings") else "records"
    scope = _scope(request, user)
    searched = any(params.values())
    if kind == "cases":
        results = catalog.search_cases(scope, params["q"])
    elif kind == "recordings":
        results = catalog.search_recordings(scope, q=params["q"], officer=params["officer"],
                                            date_from=params["date_from"], date_to=params["date_to"])
    else:
        results = catalog.search_records(scope, **params)
    if searched:
        audit_event(hq_of(request), user, "search", kind, {**{k: v for k, v in params.items() if v},
                                                            "results": len(results)})
    reg = catalog.registry(hq_of(request).forms_root)
    return render(request, "search.html", kind=kind, params=params, results=results, searched=searched,
                  flags=_flags(request, [r.device_id for r in results]), statuses=catalog.STATUS_LABELS,
                  procedures=[(p.id, p.title) for p in reg.latest_procedures()],
                  documents=[(d.id, d.title) for d in reg.latest_documents()])


# --- case / record / recording pages ------------------------------------------------------------------

@router.get("/case/{device_id}/{case_id}")
def case_page(request: Request, device_id: str, case_id: str, user: User = Depends(current_user)):
    view = catalog.case_view(_scope(request, user), device_id, case_id)
    if view is None:
        raise _denied(request, user, "case", f"{device_id}/{case_id}")
    audit_event(hq_of(request), user, "view", f"case:{device_id}/{case_id}", {"case_no": view["case"].payload.get("case_no", "")})
    ids = [r.device_id for r in view["records"]] + [r.device_id for r in view["recordings"]] + [device_id]
    return render(request, "case.html", view=view, flags=_flags(request, ids))


@router.get("/record/{device_id}/{record_id}")
def record_page(request: Request, device_id: str, record_id: str, user: User = Depends(current_user)):
    rec = catalog.record(_scope(request, user), device_id, record_id)
    if rec is None:
        raise _denied(request, user, "record", f"{device_id}/{record_id}")
    hq = hq_of(request)
    audit_event(hq, user, "view", f"record:{device_id}/{record_id}", {"title": rec["title"]})
    return render(request, "record.html", rec=rec, check=integrity.record_integrity(hq, rec),
                  video=_video_url(device_id, rec["recording"].start.record_id) if rec["recording"] else None)


def _video_url(device_id: str, recording_id: str) -> str:
    return f"/media/recording/{device_id}/{recording_id}.mp4"


@router.get("/recording/{device_id}/{recording_id}")
def recording_page(request: Request, device_id: str, recording_id: str, user: User = Depends(current_user)):
    view = catalog.recording(_scope(request, user), device_id, recording_id)
    if view is None:
        raise _denied(request, user, "recording", f"{device_id}/{recording_id}")
    hq = hq_of(request)
    audit_event(hq, user, "view", f"recording:{device_id}/{recording_id}", {})
    return render(request, "recording.html", view=view, check=integrity.recording_integrity(hq, view),
                  device=integrity.device_integrity(hq, device_id), video=_video_url(device_id, recording_id),
                  names=catalog.officer_names(hq))


# --- media --------------------------------------------------------------------------------------------

@router.get("/media/recording/{device_id}/{recording_id}.mp4")
def recording_media(request: Request, device_id: str, recording_id: str, user: User = Depends(current_user)):
    view = catalog.recording(_scope(request, user), device_id, recording_id)
    if view is None:
        raise _denied(request, user, "recording media", f"{device_id}/{recording_id}")
    hq = hq_of(request)
    try:
        path = joined_mp4(hq, device_id, recording_id)
    except PlaybackError as exc:
        raise WebError(404, str(exc)) from None
    wanted = request.headers.get("range", "")
    if not wanted or re.match(r"^bytes=0-", wanted.strip()):
        audit_event(hq, user, "play", f"recording:{device_id}/{recording_id}", {"range": wanted[:40]})
    return FileResponse(path, media_type="video/mp4", headers={"Cache-Control": "private, no-store",
                                                              "X-Content-Type-Options": "nosniff"})


def _media_type(head: bytes) -> str:
    if head.startswith(b"%PDF"):
        return "application/pdf"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG"):
        return "image/png"
    if head[4:8] == b"ftyp":
        return "video/mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/x-matroska"
    return "application/octet-stream"


@router.get("/media/blob/{device_id}/{sha256}")
def blob_media(request: Request, device_id: str, sha256: str, download: int = 0, user: User = Depends(current_user)):
    if not SHA.match(sha256) or not catalog.blob_allowed(_scope(request, user), device_id, sha256):
        raise _denied(request, user, "media", f"{device_id}/{sha256[:64]}")
    hq = hq_of(request)
    path = hq.blobs.path(sha256)
    if not path.is_file():
        raise WebError(404, "该文件尚未同步到局端。")
    with open(path, "rb") as fh:
        kind = _media_type(fh.read(16))
    if kind == "application/pdf" or download:
        audit_event(hq, user, "download", f"blob:{device_id}/{sha256}", {"type": kind})
    ext = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png", "video/mp4": "mp4"}.get(kind, "bin")
    return FileResponse(path, media_type=kind, filename=f"{sha256[:16]}.{ext}",
                        content_disposition_type="attachment" if download else "inline",
                        headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"})


# --- devices and integrity ----------------------------------------------------------------------------

@router.get("/devices")
def devices_page(request: Request, user: User = Depends(current_user)):
    hq = hq_of(request)
    rows = [integrity.device_integrity(hq, d) for d, _dept, _name in _scope(request, user).device_ids()]
    return render(request, "devices.html", devices=[r for r in rows if r is not None])


@router.get("/device/{device_id}")
def device_page(request: Request, device_id: str, user: User = Depends(current_user)):
    scope = _scope(request, user)
    if device_id not in {d for d, _, _ in scope.device_ids()}:
        raise _denied(request, user, "device", device_id)
    hq = hq_of(request)
    audit_event(hq, user, "view", f"device:{device_id}", {})
    recordings = [r for r in catalog.search_recordings(scope) if r.device_id == device_id]
    checks = []
    for r in recordings:
        view = catalog.recording(scope, device_id, r.recording_id)
        if view is not None:
            checks.append((r, integrity.recording_integrity(hq, view)))
    return render(request, "device.html", device=integrity.device_integrity(hq, device_id),
                  receipt=integrity.receipt_body(hq, device_id), recordings=checks)


# --- administration -----------------------------------------------------------------------------------

@router.get("/admin/audit")
def audit_page(request: Request, before: int = 0, action: str = "", username: str = "",
               user: User = Depends(require_roles("admin"))):
    hq = hq_of(request)
    events = list_events(hq.db, limit=200, before=before or None, action=action or None, username=username or None)
    audit_event(hq, user, "view", "audit", {k: v for k, v in (("action", action), ("username", username)) if v})
    problems = verify_audit(hq)
    count, head = audit_head(hq.db)
    older = urlencode({"before": events[-1]["seq"], "action": action, "username": username}) if len(events) == 200 else ""
    return render(request, "audit.html", events=events, problems=problems, count=count, head=head,
                  actions=ACTION_LABELS, action=action, username=username, older=older)


@router.get("/admin/users")
def users_page(request: Request, user: User = Depends(require_roles("admin"))):
    return render(request, "users.html", users=accounts.list_users(hq_of(request).db))
