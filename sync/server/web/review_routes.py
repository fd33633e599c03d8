"""Routes of the supervision reviews (第七十二条（三）): ``/reviews`` (list, draw), ``/reviews/<id>`` (items,
assignment, results), ``/reviews/<id>/redraw`` (check the draw from its seed).

Who: admin, head and legal office for every department; a unit head only for samples of their own
department (drawing one for another department is refused with 403, audited). Reviewers must be users
with the legal-office or unit-head role; only the assigned reviewer records a result. Audited:
``review_sample`` (draw), ``view`` (pages), ``review_result`` (assignments and results).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from sync.server.web import reviews
from sync.server.web.accounts import User, get_user, list_users
from sync.server.web.audit import audit_event
from sync.server.web.auth import WebError, hq_of, require_roles, verify_csrf
from sync.server.web.compliance_routes import filter_for
from sync.server.web.templating import render

router = APIRouter()
SUPERVISORS = ("admin", "head", "legal", "unit_head")
REVIEWER_ROLES = ("legal", "unit_head")


def _sample_for(request: Request, user: User, sample_id: str) -> reviews.Sample:
    sample = reviews.get_sample(hq_of(request), sample_id)
    if sample is None:
        raise WebError(404, "没有这个抽查样本。")
    if not user.sees_all_departments and sample.params.get("departments") != [user.department]:
        audit_event(hq_of(request), user, "denied", request.url.path, {"why": "department", "sample": sample_id})
        raise WebError(403, "您无权查看其他单位的抽查样本。")
    return sample


@router.get("/reviews")
def reviews_page(request: Request, user: User = Depends(require_roles(*SUPERVISORS))):
    hq = hq_of(request)
    _, form = filter_for(request, user, None, None, None)
    samples = reviews.list_samples(hq)
    if not user.sees_all_departments:
        own = {s.id for s in (reviews.get_sample(hq, x["id"]) for x in samples)
               if s and s.params.get("departments") == [user.department]}
        samples = [x for x in samples if x["id"] in own]
    audit_event(hq, user, "view", "reviews", {})
    return render(request, "review_list.html", user=user, samples=samples, form=form)


@router.post("/reviews")
def draw_sample(request: Request, csrf: str = Form(""), start: str = Form(""), end: str = Form(""),
                department: str = Form(""), size: int = Form(10), seed: str = Form(""), title: str = Form(""),
                user: User = Depends(require_roles(*SUPERVISORS))):
    verify_csrf(request, csrf)
    hq = hq_of(request)
    if not user.sees_all_departments:
        department = department or user.department
    flt, _ = filter_for(request, user, start or None, end or None, department or None)
    try:
        sample = reviews.create_sample(hq, user.username, flt, size, title=title, seed=seed.strip() or None)
    except reviews.ReviewError as exc:
        raise WebError(400, str(exc)) from None
    audit_event(hq, user, "review_sample", sample.id,
                {"seed": sample.seed, "params": sample.params, "population": sample.population,
                 "drawn": [[i["device_id"], i["record_id"]] for i in sample.items]})
    return RedirectResponse(f"/reviews/{sample.id}", status_code=303)


@router.get("/reviews/{sample_id}")
def sample_page(request: Request, sample_id: str, user: User = Depends(require_roles(*SUPERVISORS))):
    hq = hq_of(request)
    sample = _sample_for(request, user, sample_id)
    reviewers = [u for u in list_users(hq.db) if u.role in REVIEWER_ROLES]
    audit_event(hq, user, "view", f"review/{sample_id}", {})
    return render(request, "review_sample.html", user=user, sample=sample, reviewers=reviewers,
                  checklist=reviews.CHECKLIST, results=reviews.RESULTS)


@router.get("/reviews/{sample_id}/redraw")
def redraw_page(request: Request, sample_id: str, user: User = Depends(require_roles(*SUPERVISORS))):
    hq = hq_of(request)
    sample = _sample_for(request, user, sample_id)
    same_population, same_list, again = reviews.redraw(hq, sample_id)
    audit_event(hq, user, "view", f"review/{sample_id}/redraw", {"same_list": same_list})
    return render(request, "review_redraw.html", user=user, sample=sample, same_population=same_population,
                  same_list=same_list, again=again)


@router.post("/reviews/{sample_id}/assign")
async def assign(request: Request, sample_id: str, user: User = Depends(require_roles(*SUPERVISORS))):
    form = await request.form()
    verify_csrf(request, form.get("csrf"))
    return await run_in_threadpool(_assign, request, sample_id, user, form.getlist("position"),
                                   str(form.get("reviewer", "")))


def _assign(request: Request, sample_id: str, user: User, positions: list, reviewer: str):
    hq = hq_of(request)
    _sample_for(request, user, sample_id)
    target = get_user(hq.db, reviewer)
    if target is None or target.role not in REVIEWER_ROLES:
        raise WebError(400, "复查人员应为法制机构或办案机构负责人。")
    try:
        count = reviews.assign(hq, sample_id, [int(p) for p in positions], reviewer, user.username)
    except (reviews.ReviewError, ValueError) as exc:
        raise WebError(400, str(exc) or "参数错误。") from None
    audit_event(hq, user, "review_result", f"review/{sample_id}",
                {"assign": reviewer, "positions": [int(p) for p in positions], "assigned": count})
    return RedirectResponse(f"/reviews/{sample_id}", status_code=303)


@router.post("/reviews/{sample_id}/result")
async def result(request: Request, sample_id: str, user: User = Depends(require_roles(*SUPERVISORS))):
    form = await request.form()
    verify_csrf(request, form.get("csrf"))
    checklist = {c: form.get(f"check{i}") == "yes" for i, c in enumerate(reviews.CHECKLIST)}
    return await run_in_threadpool(_result, request, sample_id, user, str(form.get("position", "0")),
                                   str(form.get("result", "")), checklist, str(form.get("notes", "")))


def _result(request: Request, sample_id: str, user: User, position: str, verdict: str, checklist: dict, notes: str):
    hq = hq_of(request)
    _sample_for(request, user, sample_id)
    try:
        out = reviews.record_result(hq, sample_id, int(position), user.username, verdict, checklist, notes)
    except (reviews.ReviewError, ValueError) as exc:
        raise WebError(400, str(exc) or "参数错误。") from None
    audit_event(hq, user, "review_result", f"review/{sample_id}/{position}",
                {"result": verdict, "failed": out["failed"], "notes": notes[:200]})
    return RedirectResponse(f"/reviews/{sample_id}", status_code=303)
