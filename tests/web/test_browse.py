"""Search, browse, record pages, integrity panels and the department boundary, on a real synced HQ."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from tests.web.conftest import KANGNING_CODE, audit_rows, login, open_hq


def _ids(web_hq, device_id):
    """record id of the latest 2-5 record, recording id, and the PDF sha of a device."""
    with web_hq.db.transaction() as tx:
        record = tx.one("SELECT record_id FROM entries WHERE device_id = ? AND entry_type = 'record' ORDER BY seq DESC",
                        (device_id,))[0]
        recording = tx.one("SELECT record_id FROM entries WHERE device_id = ? AND entry_type = 'recording.start'",
                           (device_id,))[0]
        pdf = json.loads(tx.one("SELECT media FROM entries WHERE device_id = ? AND entry_type = 'print' "
                                "AND record_id = ?", (device_id, "paper:" + record))[0])[0]
    return record, recording, pdf


def test_search_finds_the_demo_case_by_party_name_and_credit_code(client, synced_demo, web_hq):
    login(client, "wang")
    by_name = client.get("/search", params={"q": "恒泰建筑"})
    by_code = client.get("/search", params={"q": synced_demo.credit_code})
    for page in (by_name, by_code):
        assert page.status_code == 200
        assert synced_demo.party in page.text and synced_demo.case_no in page.text
        assert len(re.findall(r'href="/record/' + synced_demo.device_a, page.text)) == 15
    cases = client.get("/search", params={"kind": "cases", "q": synced_demo.credit_code})
    assert f'/case/{synced_demo.device_a}/' in cases.text and f'/case/{synced_demo.device_b}/' not in cases.text
    recordings = client.get("/search", params={"kind": "recordings", "officer": "王建国"})
    assert synced_demo.recording_id in recordings.text
    sealing = client.get("/search", params={"procedure": "sealing", "status": "signed"})
    assert 0 < len(re.findall(r'href="/record/', sealing.text)) < 15
    searches = [e for e in audit_rows(web_hq, "search") if e["username"] == "wang"]
    assert any(e["detail"].get("q") == synced_demo.credit_code for e in searches)


def test_case_and_record_pages_show_the_evidence(client, synced_demo, web_hq):
    login(client, "unit_a")
    record, recording, pdf = _ids(web_hq, synced_demo.device_a)
    cases = client.get("/search", params={"kind": "cases", "q": synced_demo.party})
    case_url = re.search(r'href="(/case/[^"]+)"', cases.text).group(1)
    case = client.get(case_url)
    assert synced_demo.case_no in case.text and "检查（勘验）笔录" in case.text and "工资支付情况检查" in case.text
    inspection = re.search(r'href="(/record/[^"]+)">检查（勘验）笔录', case.text).group(1)
    page = client.get(inspection)
    assert page.status_code == 200
    text = page.text
    for expected in ("检查地点", "当事人", "石家庄恒泰建筑劳务有限公司", "已签名", "打开打印的 PDF", "关键画面",
                     "日志时间线", "文书定稿", "已告知全程录音录像", "哈希链与签名核验通过", "已被局端签名回执覆盖",
                     "分段完整", f'/media/recording/{synced_demo.device_a}/{synced_demo.recording_id}.mp4',
                     "本文书在录像中的时段：第 "):
        assert expected in text, expected
    assert text.count('class="seek"') >= 5  # notice, stills …
    pdf_link = re.search(r'href="(/media/blob/[^"]+)" target="_blank" class="pdf-link"', text).group(1)
    served = client.get(pdf_link)
    assert served.status_code == 200 and served.headers["content-type"] == "application/pdf"
    assert served.content.startswith(b"%PDF") and "inline" in served.headers["content-disposition"]
    assert any(e["target"].startswith("blob:") for e in audit_rows(web_hq, "download") if e["username"] == "unit_a")
    assert any(e["target"] == "record:" + inspection[len("/record/"):] for e in audit_rows(web_hq, "view"))


def test_superseded_version_and_refusal_are_shown(client, synced_demo, web_hq):
    login(client, "unit_b")
    record, _, _ = _ids(web_hq, synced_demo.device_b)
    page = client.get(f"/record/{synced_demo.device_b}/{record}")
    assert page.status_code == 200
    for expected in ("已被更正", "复核人数", "护工 8 人未签劳动合同", "护工 9 人未签劳动合同", "拒绝签名", "对人数有异议",
                     "作废（记录已更正）", "没有找到覆盖这份文书的录像"):
        assert expected in page.text, expected
    superseded = client.get("/search", params={"status": "superseded"})
    assert record in superseded.text and synced_demo.device_a not in superseded.text


def test_officer_of_department_a_cannot_reach_department_b(client, synced_demo, web_hq):
    record, recording, pdf = _ids(web_hq, synced_demo.device_b)
    login(client, "wang")
    listing = client.get("/search")
    assert synced_demo.device_b not in listing.text and "康宁" not in listing.text
    for params in ({"q": KANGNING_CODE}, {"q": "康宁"}, {"kind": "cases", "q": "康宁"}, {"kind": "recordings"}):
        found = client.get("/search", params=params)
        assert synced_demo.device_b not in found.text and "康宁民营医院" not in found.text, params
        assert "共 0 条" in found.text or params == {"kind": "recordings"}
    with web_hq.db.transaction() as tx:
        case_b = tx.one("SELECT record_id FROM entries WHERE device_id = ? AND entry_type = 'case'",
                        (synced_demo.device_b,))[0]
    before = len(audit_rows(web_hq, "denied"))
    attempts = {
        f"/record/{synced_demo.device_b}/{record}": 404,
        f"/recording/{synced_demo.device_b}/{recording}": 404,
        f"/case/{synced_demo.device_b}/{case_b}": 404,
        f"/device/{synced_demo.device_b}": 404,
        f"/media/recording/{synced_demo.device_b}/{recording}.mp4": 404,
        f"/media/blob/{synced_demo.device_b}/{pdf}": 404,
        f"/media/blob/{synced_demo.device_b}/{pdf}?download=1": 404,
        f"/media/blob/{synced_demo.device_a}/{pdf}": 404,  # B's blob asked under A's device
    }
    for url, status in attempts.items():
        answer = client.get(url, headers={"Range": "bytes=0-"} if ".mp4" in url else {})
        assert answer.status_code == status, url
        assert b"%PDF" not in answer.content and b"ftyp" not in answer.content
    denied = [e for e in audit_rows(web_hq, "denied")[: len(audit_rows(web_hq, "denied")) - before]]
    assert len(denied) == len(attempts) and all(e["username"] == "wang" for e in denied)
    assert {e["detail"]["path"] for e in denied} == {u.split("?")[0] for u in attempts}


def test_scope_per_role(client, synced_demo, web_hq):
    record_b, _, _ = _ids(web_hq, synced_demo.device_b)
    record_a, _, _ = _ids(web_hq, synced_demo.device_a)
    for user, sees_a, sees_b in (("head", True, True), ("legal", True, True), ("admin", True, True),
                                 ("unit_a", True, False), ("unit_b", False, True), ("zhang", False, True)):
        client.cookies.clear()
        login(client, user)
        assert (client.get(f"/record/{synced_demo.device_a}/{record_a}").status_code == 200) is sees_a, user
        assert (client.get(f"/record/{synced_demo.device_b}/{record_b}").status_code == 200) is sees_b, user
        devices = client.get("/devices").text
        assert (synced_demo.device_a in devices) is sees_a and (synced_demo.device_b in devices) is sees_b


def test_audit_page_shows_the_verified_chain(client, web_hq):
    login(client, "admin")
    page = client.get("/admin/audit")
    assert page.status_code == 200 and "哈希链核验通过" in page.text and "登录" in page.text
    for method in ("post", "put", "delete"):
        assert getattr(client, method)("/admin/audit").status_code in (404, 405)


@pytest.fixture
def tampered(hq_dir, tmp_path, synced_demo):
    """A copy of the HQ where one synced entry of department A was edited in the database."""
    copy = tmp_path / "hq"
    shutil.copytree(hq_dir, copy)
    hq = open_hq(copy)
    with hq.db.transaction() as tx:
        seq, payload = tx.one("SELECT seq, payload FROM entries WHERE device_id = ? AND entry_type = 'case'",
                              (synced_demo.device_a,))
        tx.execute("UPDATE entries SET payload = ? WHERE device_id = ? AND seq = ?",
                   (payload.replace("恒泰", "恒秦"), synced_demo.device_a, seq))
    yield hq
    hq.db.close()


def test_a_device_whose_log_fails_verification_is_flagged(tampered, synced_demo):
    from starlette.testclient import TestClient

    from sync.server.app import create_app

    with TestClient(create_app(tampered)) as c:
        login(c, "head")
        devices = c.get("/devices").text
        assert "未通过" in devices and "核验未通过" not in devices.split(synced_demo.device_b)[1][:400]
        device = c.get(f"/device/{synced_demo.device_a}").text
        assert "设备日志核验未通过" in device and "内容与哈希不符" in device
        listing = c.get("/search", params={"q": "恒秦"}).text
        assert "设备日志核验未通过" in listing
        record = re.search(r'href="(/record/[^"]+)"', listing).group(1)
        assert "设备日志核验未通过" in c.get(record).text
