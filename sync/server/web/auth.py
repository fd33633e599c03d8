"""FastAPI dependencies for the web platform: who is logged in, which roles may do what, CSRF.

Use in a route::

    @router.get("/x")
    def page(request: Request, user: User = Depends(current_user)): ...
    @router.post("/y")
    def act(request: Request, csrf: str = Form(""), user: User = Depends(require_roles("head"))):
        verify_csrf(request, csrf)

Guaranteed:
- ``current_user`` answers only for a live session (accounts.session_user). Without one it raises
  ``LoginRequired``: a browser page request (GET, path not a media/download/API URL) is redirected to
  ``/login?next=…``; media, download and API URLs (``/media/…``, ``/api/…``, any path containing
  ``/download``, any non-GET) get **401** — a stolen link never renders a login page in place of evidence.
- ``require_roles`` refuses other roles with 403 and writes a ``denied`` audit event.
- ``verify_csrf`` compares in constant time with the session's CSRF token (or, on the login form, with
  the pre-login cookie); a mismatch is a 403 ``WebError``. The session cookie is HttpOnly and
  SameSite=Strict as a second line.
Dangerous: a route without ``Depends(current_user)`` (or ``require_roles``) is public — every route in
the web package must have one except /login and /static.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import quote

from fastapi import Depends, Request

from sync.server.web import accounts
from sync.server.web.accounts import User

SESSION_COOKIE = "hq_session"
LOGIN_CSRF_COOKIE = "hq_login_csrf"


class LoginRequired(Exception):
    """No live session (handled in mount_web: redirect or 401)."""


class WebError(Exception):
    """An error answered with a Chinese page (or plain text for media): ``status`` and ``message``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def hq_of(request: Request):
    return request.app.state.hq


def is_media_request(request: Request) -> bool:
    path = request.url.path
    return (request.method not in ("GET", "HEAD") or path.startswith(("/media/", "/api/")) or "/download" in path)


def current_user(request: Request) -> User:
    session = getattr(request.state, "web_session", None)
    if session is None:
        session = accounts.session_user(hq_of(request).db, request.cookies.get(SESSION_COOKIE))
        if session is None:
            raise LoginRequired()
        request.state.web_session = session
    return session.user


def optional_user(request: Request) -> User | None:
    try:
        return current_user(request)
    except LoginRequired:
        return None


def require_roles(*roles: str):
    """A dependency: the current user if their role is one of ``roles``; 403 (audited) otherwise."""

    def dependency(request: Request, user: User = Depends(current_user)) -> User:
        if user.role not in roles:
            from sync.server.web.audit import audit_event

            audit_event(hq_of(request), user, "denied", request.url.path, {"why": "role", "needs": list(roles)})
            raise WebError(403, "您的角色无权使用此功能。")
        return user

    return dependency


def login_redirect(request: Request) -> str:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return "/login?next=" + quote(target, safe="")


def csrf_token(request: Request) -> str:
    """The token to put in a hidden ``csrf`` field of every POST form."""
    session = getattr(request.state, "web_session", None)
    if session is not None:
        return session.csrf
    token = getattr(request.state, "login_csrf", None) or request.cookies.get(LOGIN_CSRF_COOKIE)
    if not token or len(token) > 100:
        token = secrets.token_urlsafe(32)
    request.state.login_csrf = token  # set as a cookie by the login page
    return token


def verify_csrf(request: Request, token: str | None) -> None:
    session = getattr(request.state, "web_session", None)
    expected = session.csrf if session is not None else request.cookies.get(LOGIN_CSRF_COOKIE)
    if not expected or not token or not hmac.compare_digest(str(expected), str(token)):
        raise WebError(403, "页面已过期或请求来源不可信（CSRF 校验失败），请刷新页面后重试。")
