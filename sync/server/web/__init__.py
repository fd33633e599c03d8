"""The HQ web platform (issue #9): server-rendered Chinese pages on the same FastAPI app as the sync API.

``mount_web(app, hq)`` creates the web tables (schema.create_web_tables), serves ``/static``, installs
the handlers for ``LoginRequired`` (redirect to /login, or 401 for media/download/API URLs) and
``WebError`` (a Chinese error page, or plain text for media), answers unknown pages outside ``/v1`` with
the Chinese error page, and includes every router: ``pages``, the supervision routers
(``compliance_routes``, ``review_routes``, ``retention_routes``) and ``export_routes``.

Guaranteed: the sync API under ``/v1`` is untouched (its own error handlers still answer its errors).
Dangerous: a router added here is reachable by anyone who can reach HQ — each of its routes must depend
on ``auth.current_user`` or ``auth.require_roles``.
"""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

log = logging.getLogger("field-hq.web")
STATIC = Path(__file__).resolve().parent / "static"


def mount_web(app: FastAPI, hq) -> None:
    from starlette.exceptions import HTTPException as StarletteHTTPException

    from sync.server.web import compliance_routes, export_routes, pages, retention_routes, review_routes
    from sync.server.web.auth import LoginRequired, WebError, is_media_request, login_redirect
    from sync.server.web.schema import create_web_tables
    from sync.server.web.templating import render

    create_web_tables(hq.db)
    app.state.hq = hq
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="web-static")

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, _exc: LoginRequired):
        if is_media_request(request):
            return PlainTextResponse("未登录或登录已过期。", status_code=401, headers={"Cache-Control": "no-store"})
        return RedirectResponse(login_redirect(request), status_code=303)

    @app.exception_handler(WebError)
    async def _web_error(request: Request, exc: WebError):
        if is_media_request(request) and request.method == "GET":
            return PlainTextResponse(exc.message, status_code=exc.status, headers={"Cache-Control": "no-store"})
        return render(request, "error.html", status_code=exc.status, message=exc.message, status=exc.status)

    api_http_error = app.exception_handlers.get(StarletteHTTPException)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        if request.url.path.startswith("/v1/") and api_http_error is not None:
            return await api_http_error(request, exc)  # the sync API keeps its coded JSON errors
        message = {404: "没有这个页面。", 405: "不支持这种访问方式。"}.get(exc.status_code, "请求无法处理。")
        if is_media_request(request):
            return PlainTextResponse(message, status_code=exc.status_code)
        return render(request, "error.html", status_code=exc.status_code, message=message, status=exc.status_code)

    for module in (pages, compliance_routes, review_routes, retention_routes, export_routes):
        app.include_router(module.router)
    log.info("web platform mounted")
