"""Supervision reviews (第七十二条（三）): reproducible random samples, reviewer assignment, checklist
results — on a real synced HQ (see test_compliance for the data)."""

from __future__ import annotations

import pytest

from tests.web.conftest import DEPT_A, DEPT_B
from tests.web.supervision import audit_actions


def test_sample_is_stored_and_redraws_identically_from_its_seed(hq):
    from sync.server.web import reviews
    from sync.server.web.compliance import Filter

    flt = Filter(0, 2**62, departments=frozenset({DEPT_A}))
    s = reviews.create_sample(hq, "legal", flt, 5, seed="2026-Q4-长安")
    assert s.seed == "2026-Q4-长安" and s.params["size"] == 5 and s.params["departments"] == [DEPT_A]
    assert len(s.items) == 5 and s.population >= 16
    assert all(i["department"] == DEPT_A for i in s.items)
    same_population, same_list, again = reviews.redraw(hq, s.id)
    assert same_population and same_list
    assert again == [(i["device_id"], i["record_id"]) for i in s.items]
    # a different seed draws a different list from the same population; a random seed is recorded
    other = reviews.create_sample(hq, "legal", flt, 5, seed="another")
    assert [i["record_id"] for i in other.items] != [i["record_id"] for i in s.items]
    auto = reviews.create_sample(hq, "legal", flt, 3)
    assert len(auto.seed) == 16 and reviews.redraw(hq, auto.id)[1]
    assert {x["id"] for x in reviews.list_samples(hq)} == {s.id, other.id, auto.id}


def test_scope_and_refusals(hq):
    from sync.server.web import reviews
    from sync.server.web.compliance import Filter

    only_b = reviews.create_sample(hq, "unit_b", Filter(0, 2**62, departments=frozenset({DEPT_B})), 50)
    assert {i["department"] for i in only_b.items} <= {DEPT_B}
    with pytest.raises(reviews.ReviewError, match="没有文书记录"):
        reviews.create_sample(hq, "legal", Filter(0, 10**9), 5)
    with pytest.raises(reviews.ReviewError, match="抽查数量"):
        reviews.create_sample(hq, "legal", Filter(0, 2**62), 0)


def test_reviewer_records_the_checklist_once(hq):
    from sync.server.web import reviews
    from sync.server.web.compliance import Filter

    s = reviews.create_sample(hq, "legal", Filter(0, 2**62), 3, seed="s1")
    assert reviews.assign(hq, s.id, [1, 2], "unit_a", "legal") == 2
    ok = {c: True for c in reviews.CHECKLIST}
    with pytest.raises(reviews.ReviewError, match="没有分配给您"):
        reviews.record_result(hq, s.id, 1, "legal", "合格", ok)
    with pytest.raises(reviews.ReviewError, match="逐项"):
        reviews.record_result(hq, s.id, 1, "unit_a", "合格", {"告知录音录像": True})
    bad = dict(ok, 连续未中断=False)
    with pytest.raises(reviews.ReviewError, match="不能为“合格”"):
        reviews.record_result(hq, s.id, 1, "unit_a", "合格", bad, "")
    with pytest.raises(reviews.ReviewError, match="写明问题"):
        reviews.record_result(hq, s.id, 1, "unit_a", "不合格", bad, "")
    reviews.record_result(hq, s.id, 1, "unit_a", "不合格", bad, "第8秒至第12秒画面中断")
    reviews.record_result(hq, s.id, 2, "unit_a", "合格", ok)
    with pytest.raises(reviews.ReviewError, match="不能修改"):
        reviews.record_result(hq, s.id, 2, "unit_a", "不合格", bad, "改主意")
    # a reviewed item keeps its reviewer
    assert reviews.assign(hq, s.id, [1, 2, 3], "legal", "legal") == 1
    items = reviews.get_sample(hq, s.id).items
    assert [i["reviewer"] for i in items] == ["unit_a", "unit_a", "legal"]
    first = items[0]["results"][0]
    assert first["result"] == "不合格" and first["checklist"]["连续未中断"] is False
    assert first["notes"] == "第8秒至第12秒画面中断"
    assert reviews.list_samples(hq)[0]["reviewed"] == 2


def test_draw_assign_and_review_over_http(web, hq):
    from sync.server.web import reviews

    legal, csrf = web.as_("legal")
    unit_a, csrf_a = web.as_("unit_a")
    drawn = legal.post("/reviews", data={"csrf": csrf, "start": "2000-01-01", "end": "2100-01-01",
                                         "department": DEPT_A, "size": "3", "seed": "Q4"})
    assert drawn.status_code == 303
    sample_id = drawn.headers["location"].rsplit("/", 1)[1]
    page = legal.get(f"/reviews/{sample_id}")
    assert page.status_code == 200 and "Q4" in page.text and "未分配" in page.text
    assert "一致" in legal.get(f"/reviews/{sample_id}/redraw").text
    assert legal.post(f"/reviews/{sample_id}/assign",
                      data={"csrf": csrf, "position": ["1"], "reviewer": "unit_a"}).status_code == 303
    form = {"csrf": csrf_a, "position": "1", "result": "合格", "notes": ""}
    form.update({f"check{i}": "yes" for i in range(len(reviews.CHECKLIST))})
    assert unit_a.post(f"/reviews/{sample_id}/result", data=form).status_code == 303
    assert "合格" in unit_a.get(f"/reviews/{sample_id}").text
    assert reviews.get_sample(hq, sample_id).items[0]["results"][0]["reviewer"] == "unit_a"
    assert [a for a, _ in audit_actions(hq, "legal")].count("review_sample") == 1
    assert ("review_result", f"review/{sample_id}/1") in audit_actions(hq, "unit_a")
    # without the CSRF token nothing is drawn; an officer cannot draw; unit head B cannot open A's sample
    assert legal.post("/reviews", data={"csrf": "x", "size": "3"}).status_code == 403
    wang, csrf_w = web.as_("wang")
    assert wang.post("/reviews", data={"csrf": csrf_w, "size": "3"}).status_code == 403
    unit_b, _ = web.as_("unit_b")
    assert unit_b.get(f"/reviews/{sample_id}").status_code == 403
    assert ("denied", f"/reviews/{sample_id}") in audit_actions(hq, "unit_b")
