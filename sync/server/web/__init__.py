"""The HQ web platform (issue #9): server-rendered Chinese pages on the same FastAPI app as the sync API.

``mount_web(app, hq)`` creates the web tables (schema.create_web_tables), serves ``/static``, installs
the handlers for ``LoginRequired`` (redirect to /login, or 401 for media/download/API URLs) and
``WebError`` (a Chinese error page, or plain text for media), and includes every router: ``pages.router``
and, when present, the supervision (``compliance_routes``, ``review_routes``, ``retention_routes``) and
export (``export_routes``) routers — each such module exposes ``router: fastapi.APIRouter``.

Guaranteed: the sync API under ``/v1`` is untouched (its own error handlers still answer its errors).
Dangerous: a router added here is reachable by anyone who can reach HQ — each of its routes must depend
on ``auth.current_user`` or ``auth.require_roles``.
"""

from __future__ import annotations

import importlib
import logging
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

log = logging.getLogger("field-hq.web")
STATIC = Path(__file__).resolve().parent / "static"
OPTIONAL_ROUTERS = ("compliance_routes", "review_routes", "retention_routes", "export_routes")


def mount_web(app: FastAPI, hq) -> None:
    from sync.server.web import pages
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

    app.include_router(pages.router)
    features = {"pages"}
    for name in OPTIONAL_ROUTERS:
        module_name = f"sync.server.web.{name}"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        app.include_router(module.router)
        features.add(name)
    app.state.web_features = features
    log.info("web platform mounted: %s", ", ".join(sorted(features)))
