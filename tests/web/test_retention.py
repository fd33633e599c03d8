"""Retention (第六十五条、第六十七条): categories from the log, legal hold, approved deletion with a
tombstone — on a real synced HQ (see test_compliance for the data)."""

from __future__ import annotations

import json
import time

import pytest

from tests.web.supervision import audit_actions, first_record

YEAR = 366 * 24 * 3600 * 10**9


def _by_title(units, title):
    return [u for u in units if u.title == title]


def test_categories_are_set_from_the_events(hq, supervised):
    from sync.server.web import retention

    units = retention.units(hq)
    demo = [u for u in units if u.device_id == supervised.demo.device_a]
    inspection, = _by_title(demo, "检查（勘验）笔录")
    assert inspection.category == "两年" and inspection.keep_until is not None
    assert inspection.keep_until.year == time.localtime().tm_year + 2 or inspection.keep_until.year >= 2028
    sealing = [u for u in demo if u.kind == "文书" and "封存" in u.title]
    assert sealing and all(u.category == "长期" and "行政强制措施" in u.reasons[0] for u in sealing)
    rec, = [u for u in demo if u.kind == "录像"]
    assert rec.category == "长期"  # it filmed the sealing and the preservation
    other = [u for u in units if u.device_id == supervised.device_c and u.kind == "文书"]
    assert other and all(u.category == "两年" for u in other)
    # a complaint marked by the legal office makes it long-term
    retention.mark_long_term(hq, inspection.device_id, inspection.record_id, "complaint", "当事人投诉", "legal")
    again = retention.unit(hq, inspection.device_id, inspection.record_id)
    assert again.category == "长期" and "投诉" in again.reasons[0]


def test_nothing_is_deleted_before_its_date_or_under_hold(hq, supervised):
    from sync.server.web import retention

    rid = first_record(hq, supervised.device_c, "2-7")
    with pytest.raises(retention.RetentionError, match="期满前不得删除"):
        retention.request_deletion(hq, supervised.device_c, rid, "到期清理", "admin")
    sealing = next(u for u in retention.units(hq) if u.category == "长期" and u.kind == "文书")
    with pytest.raises(retention.RetentionError, match="长期保存"):
        retention.request_deletion(hq, sealing.device_id, sealing.record_id, "到期清理", "admin",
                                   now_ns=time.time_ns() + 10 * YEAR)
    later = time.time_ns() + 3 * YEAR
    hold = retention.set_hold(hq, supervised.device_c, rid, "行政诉讼（2027）冀0102行初5号", "legal")
    with pytest.raises(retention.RetentionError, match="诉讼保留中"):
        retention.request_deletion(hq, supervised.device_c, rid, "到期清理", "admin", now_ns=later)
    retention.release_hold(hq, hold, "判决生效", "head")
    request = retention.request_deletion(hq, supervised.device_c, rid, "到期清理", "admin", now_ns=later)
    with pytest.raises(retention.RetentionError, match="不能审批自己"):
        retention.decide_deletion(hq, request, True, "admin", now_ns=later)


def test_approved_deletion_removes_media_only_and_leaves_a_tombstone(hq, supervised, web):
    from sync.server.verify import verify_hq
    from sync.server.identity import load
    from sync.server.web import retention

    rid = first_record(hq, supervised.device_c, "2-7")
    later = time.time_ns() + 3 * YEAR
    with hq.db.transaction() as tx:
        entries_before = tx.one("SELECT count(*) FROM entries")[0]
        media = {s for (m,) in tx.all("SELECT media FROM entries WHERE device_id = ? AND record_id IN (?, ?)",
                                      (supervised.device_c, rid, "paper:" + rid)) for s in json.loads(m)}
    assert media and all(hq.blobs.path(s).exists() for s in media)
    request = retention.request_deletion(hq, supervised.device_c, rid, "保存期满", "admin", now_ns=later)
    done = retention.decide_deletion(hq, request, True, "head", now_ns=later)
    assert done["status"] == "done" and done["decided_by"] == "head" and done["approval_no"].startswith("保删〔")
    removed = {r["sha256"] for r in done["removed"]}
    assert removed and removed <= media and all(r["size"] for r in done["removed"])
    assert not any(hq.blobs.path(s).exists() for s in removed)
    with hq.db.transaction() as tx:  # the evidence chain is untouched
        assert tx.one("SELECT count(*) FROM entries")[0] == entries_before
    unit = retention.unit(hq, supervised.device_c, rid)
    assert unit.status(later).startswith("媒体文件已按保存期限删除（审批号保删〔")
    # integrity: the verifier's "missing" becomes "deleted under retention (approval no.)"
    report = verify_hq(hq.db, hq.blobs, load(hq.data_dir))
    assert not [p for p in report.problems if any(sha[:12] in p for sha in removed)]
    assert len(report.notices) == len(removed)
    assert all("已按保存期限删除（审批号" + done["approval_no"] in n for n in report.notices)
    assert "已按保存期限经批准删除" in report.summary()
    # the record page says so too, instead of flagging missing media
    legal, _ = web.as_("legal")
    page = legal.get(f"/record/{supervised.device_c}/{rid}")
    assert page.status_code == 200
    assert "已按保存期限删除（审批号" + done["approval_no"] in page.text
    assert "不在局端" not in page.text
    assert retention.missing_note(next(iter(removed)), retention.removed_media(hq.db)).startswith("已按保存期限删除")
    with pytest.raises(retention.RetentionError, match="已经删除"):
        retention.request_deletion(hq, supervised.device_c, rid, "再删", "admin", now_ns=later)


def test_rejected_request_removes_nothing(hq, supervised):
    from sync.server.web import retention

    rid = first_record(hq, supervised.device_c, "2-7")
    later = time.time_ns() + 3 * YEAR
    request = retention.request_deletion(hq, supervised.device_c, rid, "保存期满", "admin", now_ns=later)
    out = retention.decide_deletion(hq, request, False, "head", now_ns=later)
    assert out["status"] == "rejected" and not out["removed"]
    assert not retention.removed_media(hq.db)


def test_retention_page_and_refusals_over_http(web, hq, supervised):
    from sync.server.web import retention

    legal, csrf = web.as_("legal")
    page = legal.get("/retention")
    assert page.status_code == 200 and "长期" in page.text and "两年" in page.text
    rid = first_record(hq, supervised.device_c, "2-7")
    # before its date: the request is refused (and audited), nothing is pending
    refused = legal.post("/retention/delete-request",
                         data={"csrf": csrf, "device_id": supervised.device_c, "record_id": rid, "reason": "清理"})
    assert refused.status_code == 409 and "期满前不得删除" in refused.text
    assert ("denied", f"{supervised.device_c}/{rid}") in audit_actions(hq, "legal")
    # a request past the date (made directly: the clock cannot be moved for the server)
    request = retention.request_deletion(hq, supervised.device_c, rid, "保存期满", "legal",
                                         now_ns=time.time_ns() + 3 * YEAR)
    # only the head approves: the legal office is refused, nothing removed
    assert legal.post(f"/retention/delete/{request}/decide", data={"csrf": csrf, "decision": "approve"}).status_code == 403
    officer, csrf_o = web.as_("wang")
    assert officer.get("/retention").status_code == 403
    head, csrf_h = web.as_("head")
    # the head's approval re-checks the date with the real clock: still refused today
    early = head.post(f"/retention/delete/{request}/decide", data={"csrf": csrf_h, "decision": "approve"})
    assert early.status_code == 409 and "期满前不得删除" in early.text
    assert not retention.removed_media(hq.db)
    # legal hold over HTTP
    assert legal.post("/retention/hold", data={"csrf": csrf, "device_id": supervised.device_c, "record_id": rid,
                                               "reason": "行政复议"}).status_code == 303
    assert retention.unit(hq, supervised.device_c, rid).hold["reason"] == "行政复议"
    assert ("retention_hold", f"{supervised.device_c}/{rid}") in audit_actions(hq, "legal")
    assert head.post(f"/retention/delete/{request}/decide", data={"csrf": csrf_h, "decision": "reject"}).status_code == 303
    assert [a for a, _ in audit_actions(hq, "head")].count("retention_delete_approve") == 1
