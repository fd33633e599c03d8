"""Server-side HTML with Jinja2: ``render(request, name, **ctx)``.

Every template extends ``templates/base.html``, which shows the navigation allowed for the user's
role, the user's name and department, and a logout form carrying the CSRF token. The context always has
``user`` (or None), ``csrf`` (the token for hidden ``csrf`` fields), ``nav`` and ``fmt_ns``.

Guaranteed: autoescaping is on for every template, so recorded text (party names, notes) cannot inject
markup; no template loads anything from the internet (CSS/JS come from /static).
Dangerous: ``|safe`` in a template switches that off — do not use it on recorded data.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from sync.server.web.accounts import ROLE_LABELS
from sync.server.web.auth import csrf_token
from sync.server.web.catalog import fmt_ns

TEMPLATES = Path(__file__).resolve().parent / "templates"
ENV = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html", "xml"]),
                  trim_blocks=True, lstrip_blocks=True)
ENV.globals.update(fmt_ns=fmt_ns, role_labels=ROLE_LABELS)

# (path, label, roles that see the link or None for everyone; the routes check roles themselves)
NAV = (
    ("/search", "检索", None),
    ("/devices", "设备与完整性", None),
    ("/compliance", "合规监督", None),  # an officer sees only the matters they took part in
    ("/reviews", "抽查回放", ("admin", "head", "legal", "unit_head")),
    ("/retention", "保存期限", ("admin", "head", "legal")),
    ("/exports", "导出申请", None),
    ("/admin/audit", "审计日志", ("admin",)),
    ("/admin/users", "用户", ("admin",)),
)


def nav_for(request: Request, user) -> list[dict]:
    if user is None:
        return []
    path = request.url.path
    return [{"href": href, "label": label, "active": path.startswith(href)}
            for href, label, roles in NAV if roles is None or user.role in roles]


def render(request: Request, name: str, status_code: int = 200, **ctx) -> HTMLResponse:
    session = getattr(request.state, "web_session", None)
    user = ctx.pop("user", None) or (session.user if session else None)
    context = {"request": request, "user": user, "csrf": csrf_token(request), "nav": nav_for(request, user), **ctx}
    html = ENV.get_template(name).render(**context)
    response = HTMLResponse(html, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = ("default-src 'self'; img-src 'self' data:; media-src 'self'; "
                                                   "style-src 'self'; script-src 'self'; frame-ancestors 'none'; "
                                                   "object-src 'self'")
    response.headers["Referrer-Policy"] = "same-origin"
    return response
