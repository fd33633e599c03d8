"""The renderer without a store: every shipped document prints, line breaking follows the Chinese
rules, pages break in the right places, output is deterministic, and problems are reported."""

from __future__ import annotations

from datetime import datetime

import pytest

from field_app.core.deadlines import BEIJING
from field_app.core.driver import SCENARIO, sample_values
from field_app.printing.blocks import Band
from field_app.printing.fonts import print_fonts
from field_app.printing.render import PrintMeta, paginate, render_document
from field_app.printing.text import NO_LINE_END, NO_LINE_START, Style, wrap
from forms.loader import default_registry
from forms.values import applies
from tests.unit.printing import pdfcheck as pc
from tests.unit.printing import scenarios as sc

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=BEIJING)
META = PrintMeta("0123456789abcdef0123456789abcdef", 42, 1, sc.CASE_HENGTAI, NOW.isoformat())


@pytest.fixture(scope="module")
def registry():
    return default_registry()


@pytest.mark.parametrize("doc_id", [d.id for d in default_registry().latest_documents()])
def test_every_shipped_document_prints_with_its_title_and_page_numbers(registry, doc_id, tmp_path):
    doc = registry.document(doc_id)
    values = sample_values(doc, {}, SCENARIO, NOW)
    rendered = render_document(doc, values, META)
    pdf = tmp_path / "doc.pdf"
    pdf.write_bytes(rendered.pdf)
    pages = [pc.squeeze(t) for t in pc.page_texts(pdf)]
    assert pc.squeeze(doc.title) in pages[0]
    n = rendered.pages_per_copy
    assert all(f"第{(i % n) + 1}页共{n}页" in t for i, t in enumerate(pages))
    assert rendered.missing_glyphs == ""
    elsewhere = {"case_no", "doc_no", "serial", "issued_on", "agency"}  # header, 文号, closing
    for f in doc.fields:  # the label of every field and signature line that applies is printed
        if applies(f, values) and f.key not in elsewhere:
            assert pc.squeeze(f.label) in "".join(pages), f"{doc_id}: {f.label} not printed"


def test_fields_and_signature_lines_that_do_not_apply_are_left_out(registry, tmp_path):
    doc = registry.document("service-receipt")
    values = sample_values(doc, {"mode": "直接送达"}, SCENARIO, NOW)
    pdf = tmp_path / "direct.pdf"
    pdf.write_bytes(render_document(doc, {**values, "mode": "直接送达"}, META).pdf)
    text = pc.squeeze("".join(pc.page_texts(pdf)))
    assert "签收人：" in text and "受送达人签名或者盖章：" in text
    assert "拒收事由" not in text and "见证人签名" not in text and "邮件号码" not in text


def test_output_is_deterministic_and_page_hashes_cover_the_print(registry):
    doc = registry.document("2-7")
    values = {**sc.QUESTIONING, "transcript": sc.qa_turns(), "interviewers": [
        o.as_value() for o in sc.OFFICERS]}
    a = render_document(doc, values, META)
    b = render_document(doc, values, META)
    assert a.pdf == b.pdf and a.pages == b.pages
    later = render_document(doc, values, PrintMeta(META.record_id, META.version_seq, 1,
                                                   META.case_no, "2026-11-21T10:00:00+08:00"))
    assert [p.hash for p in later.pages] != [p.hash for p in a.pages]
    changed = render_document(doc, {**values, "place": "长安区人社局2楼询问室"}, META)
    assert changed.pages[0].hash != a.pages[0].hash
    assert changed.pages[-1].hash == a.pages[-1].hash  # the change is on page 1 only


def test_a_character_no_font_has_is_reported(registry):
    doc = registry.document("2-7")
    values = {**sc.QUESTIONING, "transcript": [{"q": "你的名字怎么写？", "a": "王\U0001F600明"}]}
    assert render_document(doc, values, META).missing_glyphs == "\U0001F600"


def test_a_preview_says_so_and_has_no_qr_code(registry, tmp_path):
    doc = registry.document("2-5")
    values = sample_values(doc, {}, SCENARIO, NOW)
    preview = PrintMeta(META.record_id, META.version_seq, 1, META.case_no, preview=True)
    pdf = tmp_path / "preview.pdf"
    pdf.write_bytes(render_document(doc, values, preview).pdf)
    assert "预览稿：未定稿，不得作为签名件" in pc.squeeze(pc.page_texts(pdf)[0])
    assert pc.decode_qr(pc.png(pdf, 1, 200, tmp_path, crop_mm=(150, 0, 60, 40))) == []


def test_a_table_row_taller_than_a_page_is_split_and_nothing_leaves_the_page(registry, tmp_path):
    doc = registry.document("3-6")
    huge = "封条编号" + "、".join(f"FC-{i:04d}" for i in range(300))
    rows = sc.sealed_items() + [{"item_no": "4", "name": "散装单据", "unit": "张", "quantity": 300,
                                  "features": huge[:2000]}]
    values = sample_values(doc, {"items": rows}, SCENARIO, NOW) | {"items": rows}
    rendered = render_document(doc, values, META)
    pdf = tmp_path / "huge.pdf"
    pdf.write_bytes(rendered.pdf)
    assert rendered.pages_per_copy >= 3
    features = pc.column_texts(pdf, ["编号", "名称", "规格（型号）", "单位", "数量", "特征或者封条编号", "备注"],
                               ["当事人签名", "执法人员签名"])[5]
    assert pc.squeeze(huge[:2000]) in features.replace("特征或者封条编号", "")  # header repeats
    assert pc.text_below_body(pdf, ["当事人签名", "执法人员签名"]) == []
    for page in range(1, rendered.pages_per_copy + 1):
        assert pc.ink_near_edges(pc.png(pdf, page, 30, tmp_path), 30, 7) == []


# -- line breaking and pagination ----------------------------------------------------------------

@pytest.fixture(scope="module")
def style():
    fonts = print_fonts()
    return Style(fonts.body, fonts.heading, 12, 20)


def test_wrapped_lines_fit_keep_the_text_and_follow_the_line_breaking_rules(style):
    text = sc.LONG_ANSWER + "统一社会信用代码911301025260181593，序列号PF3KX2Q7。“引号”（括号）《书名》。"
    lines = wrap(text, style, 200)
    assert "".join(lines) == text
    assert all(style.width(line) <= 200 for line in lines)
    assert not any(line[0] in NO_LINE_START for line in lines[1:])
    assert not any(line[-1] in NO_LINE_END for line in lines)
    assert any("911301025260181593" in line for line in lines)  # a code is never split
    assert any("PF3KX2Q7" in line for line in lines)


def test_a_word_wider_than_the_line_is_broken_by_characters(style):
    lines = wrap("a" * 100, style, 60)
    assert "".join(lines) == "a" * 100 and len(lines) > 1
    assert all(style.width(line) <= 60 for line in lines)


def test_a_label_never_ends_a_page_and_a_table_header_repeats():
    header = Band(10, text="header")
    label = Band(10, text="label", keep_with_next=True)
    bands = [Band(10, text=f"line{i}") for i in range(8)] + [label, Band(10, text="value")]
    pages = paginate(bands, 90)
    assert [b.text for b in pages[0]][-1] == "line7"
    assert [b.text for b in pages[1]] == ["label", "value"]
    rows = [Band(10, text=f"row{i}", repeat=header) for i in range(12)]
    pages = paginate([header] + rows, 50)
    assert [b.text for b in pages[1]][0] == "header"
    assert all(sum(b.height for b in p) <= 50 for p in pages)
    assert [b.text for p in pages for b in p if b.text.startswith("row")] == [f"row{i}" for i in range(12)]


def test_long_header_texts_shrink_instead_of_running_under_the_qr_code(registry, tmp_path):
    doc = registry.document("3-7")  # the longest title
    long_case = "长人社监〔2026〕第0117号（与长人社监〔2026〕第0142号并案办理，另见专项检查卷宗）"
    meta = PrintMeta("r" * 120, 9, 3, long_case, NOW.isoformat())
    pdf = tmp_path / "long.pdf"
    pdf.write_bytes(render_document(doc, sample_values(doc, {}, SCENARIO, NOW), meta).pdf)
    qr_left = (210 - 20 - 22) * pc.MM
    header = [w for w in pc.words(pdf) if w.y < 30 * pc.MM]
    assert header and all(w.x + w.w <= qr_left for w in header)
    assert pc.squeeze(long_case) in pc.squeeze(pc.page_texts(pdf)[0])
