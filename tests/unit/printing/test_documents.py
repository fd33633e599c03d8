"""The acceptance checks of printing, on the documents of ../shared/SCENARIOS.md, printed from
records finalized through the real engine into a real store: what a checker sees with poppler and a
QR decoder — every filled field, 第X页 共Y页, signature lines on every page, embedded Chinese fonts,
nothing cut off, and a QR on every page that ``verify_page`` accepts."""

from __future__ import annotations

import pytest

from field_app.printing.signoff import print_record, verify_page
from tests.unit.printing import pdfcheck as pc
from tests.unit.printing import scenarios as sc


def _party(p: dict) -> list[str]:
    return [p["name"], p["uscc"], p["legal_rep"], p["legal_rep_id_number"], p["address"], p["phone"]]


def _person(p: dict) -> list[str]:
    return [v for k, v in p.items() if k != "id_type"]


OFFICER_TEXT = ["王建国（执法证号：13010220170031", "刘晓燕（执法证号：13010220190047"]

DOCS = {
    "2-5": dict(make=sc.record_2_5, case=sc.CASE_HENGTAI, title="检查（勘验）笔录",
                slots=["当事人签名", "见证人签名", "检查人员签名"], copies=[""],
                expect=lambda: [
                    "案由：涉嫌拖欠农民工工资", "检查时间：2026年11月18日9时30分至11时20分",
                    "检查地点：" + sc.INSPECTION["place"], "检查人员：", *OFFICER_TEXT,
                    *_party(sc.HENGTAI), "当事人到场人员：马红军", "130104198511207895", "职务：项目经理",
                    "见证人：周桂兰", *_person(sc.ZHOU),
                    "是否通知当事人到场：是；通知及到场情况：" + sc.INSPECTION["party_notified"]["note"],
                    "是否出示执法证件：是", "是否告知当事人全程录音录像：是",
                    "告知内容：" + sc.INSPECTION["rights_told"]["note"],
                    "当事人陈述申辩情况：" + sc.INSPECTION["statement"],
                    *sc.INSPECTION["findings"].split("\n"), "现场照片：共1件", "（以下空白）"]),
    "2-7": dict(make=sc.record_2_7, case=sc.CASE_HENGTAI, title="询问笔录",
                slots=["被询问（调查）人签名", "询问（调查）人签名"], copies=[""],
                expect=lambda: [
                    "询问时间：2026年11月20日9时30分至11时05分", "询问地点：长安区人社局3楼询问室",
                    *OFFICER_TEXT, "记录人：刘晓燕", "被询问（调查）人：陈卫东", *_person(sc.CHEN),
                    "是否出示执法证件、表明身份：是", "核对方式及更正情况：本人阅读；更正第3页一处并按指印",
                    "被询问（调查）人核对意见：以上笔录我已看过，与我说的一致",
                    *[f"问：{t['q']}" for t in sc.qa_turns()], *[f"答：{t['a']}" for t in sc.qa_turns()]]),
    "2-8": dict(make=sc.record_2_8, case=sc.CASE_HENGTAI, title="先行登记保存证据通知书",
                slots=["当事人签名", "办案人员签名", "保管人签名", "见证人签名"], copies=[""],
                columns=["编号", "名称", "规格（型号）或者地址", "单位", "数量或者面积", "保管人"],
                rows=lambda: [[r["item_no"], r["name"], r["spec"], r["unit"], str(r["quantity"]),
                               r["custodian"]] for r in sc.evidence_items(40)],
                expect=lambda: [
                    "长人社监存字〔2026〕第0031号", *_party(sc.HENGTAI),
                    "执法机关负责人批准情况：孙丽同意", "电话",
                    "先行登记保存的理由：现金工资发放登记本等证据可能被转移、销毁，以后难以取得。",
                    "法律依据：《中华人民共和国行政处罚法》第五十六条", "保存地点：长安区人社局证据保管室；文件柜原地封存",
                    "保管人：马红军", "见证人：周桂兰", *OFFICER_TEXT,
                    "石家庄市长安区人力资源和社会保障局（印章）2026年11月20日"]),
    "3-6": dict(make=sc.record_3_6, case=sc.CASE_KANGNING, title="封存资料物品清单",
                slots=["当事人签名", "执法人员签名"], copies=["当事人留存", "执法机关留存"],
                columns=["编号", "名称", "规格（型号）", "单位", "数量", "特征或者封条编号", "备注"],
                rows=lambda: [[r["item_no"], r["name"], r["spec"], r["unit"], str(r["quantity"]),
                               r["features"], r["note"]] for r in sc.sealed_items()],
                expect=lambda: [
                    "《封存决定书》文号：长人社封决字〔2026〕第0007号", *_party(sc.KANGNING),
                    "清点时间：2026年11月20日17时30分", "清点地点：石家庄康宁民营医院财务室", *OFFICER_TEXT,
                    "是否当场交付当事人一份：是", "一式两份，由当事人和行政机关分别保存"]),
}


@pytest.fixture(params=sorted(DOCS))
def printed(request, store, tmp_path):
    spec = DOCS[request.param]
    record = spec["make"](store)
    job = print_record(store, record.record_id)
    pdf = tmp_path / f"{request.param}.pdf"
    pdf.write_bytes(job.rendered.pdf)
    return spec, job, pdf


def test_the_text_has_every_filled_field_page_numbers_and_signature_lines(printed):
    spec, job, pdf = printed
    body = pc.body_text(pdf, spec["slots"] + ["日期"])
    missing = [s for s in spec["expect"]() if pc.squeeze(s) not in body]
    assert not missing, f"not printed: {missing[:5]}"
    if "columns" in spec:
        cols = pc.column_texts(pdf, spec["columns"], spec["slots"])
        for row in spec["rows"]():
            for i, cell in enumerate(row):
                assert pc.squeeze(cell) in cols[i], f"cell {cell!r} not in column {spec['columns'][i]}"
    assert pc.text_below_body(pdf, spec["slots"]) == []  # nothing runs into the signature rows
    pages = [pc.squeeze(t) for t in pc.page_texts(pdf)]
    n = job.rendered.pages_per_copy
    assert len(pages) == n * len(spec["copies"])
    for i, text in enumerate(pages):
        copy, number = divmod(i, n)
        assert f"第{number + 1}页共{n}页" in text
        assert spec["copies"][copy] in text  # 当事人留存 / 执法机关留存 on every page of its copy
        assert f"{spec['title']}案号：{spec['case']}" in text  # the header
        for slot in spec["slots"]:
            assert f"{slot}：" in text, f"page {i + 1} has no line for {slot}"
        assert text.count("日期：") >= len(spec["slots"])
    assert job.rendered.missing_glyphs == ""


def test_the_pdf_embeds_subset_truetype_chinese_fonts(printed):
    _, _, pdf = printed
    rows = pc.fonts(pdf)
    assert rows and all("TrueType" in r["type"] and r["emb"] == "yes" and r["sub"] == "yes"
                        and r["uni"] == "yes" for r in rows), rows
    faces = {r["name"].split("+", 1)[1] for r in rows}  # subset tag + PostScript name
    assert faces == {"BousungEG-Light-GB", "WenQuanYiZenHei-0"}  # AR PL SungtiL GB (Song), Zen Hei


def test_pages_show_chinese_nothing_is_cut_off_and_every_qr_verifies(printed, store, tmp_path):
    spec, job, pdf = printed
    title = pc.png(pdf, 1, 100, tmp_path, crop_mm=(28, 52, 162, 14))  # the centred title
    glyphs = pc.glyph_segments(title)
    # Real glyphs differ from each other (a character may split into several pieces at blank pixel
    # columns); missing-glyph boxes would all be the same box.
    assert len(set(glyphs)) >= len(set(spec["title"]))
    for info in job.rendered.pages:
        number = info.page + (info.copy - 1) * job.rendered.pages_per_copy
        whole = pc.png(pdf, number, 30, tmp_path)
        assert pc.ink_near_edges(whole, 30, 7) == [], f"page {number} drawn within 7 mm of the edge"
        corner = pc.png(pdf, number, 100, tmp_path, crop_mm=(150, 0, 60, 40))  # ~2 px a module
        texts = pc.decode_qr(corner)
        assert texts == [info.payload]
        check = verify_page(store, texts[0])
        assert check.status == "current" and check.ok, check.message
        assert f"第{info.page}页 共{info.pages}页" in check.message
