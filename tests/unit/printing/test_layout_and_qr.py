"""The layout hints file and the page QR payload format."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from field_app.printing.layout import check_layout_file, layout_for, load_layout_file
from field_app.printing.qr import PagePayload, PayloadError, parse
from forms.loader import default_registry


def test_the_shipped_hints_name_only_real_documents_fields_and_columns():
    assert check_layout_file(default_registry()) == []


def test_hints_with_unknown_keys_or_names_are_refused(tmp_path):
    bad = tmp_path / "print.yaml"
    bad.write_text("defaults: {agency: 某局}\ndocuments:\n  '2-8': {sign_every_page: true}\n",
                   encoding="utf-8")
    with pytest.raises(ValidationError, match="sign_every_page"):
        load_layout_file(bad)
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text("defaults: {agency: 某局}\ndocuments:\n"
                     "  '9-9': {signatures_every_page: true}\n"
                     "  '2-8': {number_field: nope, column_weights: {items: {colour: 2}}}\n",
                     encoding="utf-8")
    assert check_layout_file(default_registry(), load_layout_file(wrong)) == [
        "documents.9-9: no such document", "documents.2-8: no field 'nope'",
        "documents.2-8.column_weights.items: no column 'colour'"]


def test_layout_of_a_document_merges_its_hints_with_the_defaults():
    registry = default_registry()
    two_copies = layout_for(registry.document("3-6"))
    assert two_copies.copy_labels == ("当事人留存", "执法机关留存")
    assert two_copies.case_field is None and two_copies.number_field is None
    notice = layout_for(registry.document("2-8"))
    assert notice.signatures_every_page and notice.number_field == "doc_no"
    assert layout_for(registry.document("2-22")).number_label == "编号"
    assert layout_for(registry.document("2-7")).case_field == "case_no"


def test_a_payload_round_trips_and_anything_else_is_refused_in_chinese():
    p = PagePayload("4c1af010695e4442a4353b8af07f6b3c", 12, 2, 3, 6, "ab" * 16)
    assert p.text() == "FRP1|4c1af010695e4442a4353b8af07f6b3c|12|2|3|6|" + "ab" * 16
    assert parse(p.text()) == p
    assert parse(" " + p.text() + "\n") == p  # a scanner's trailing newline
    cases = {
        "hello": "这不是本程序打印页上的二维码",
        "FRP1|abc|1|1|1": "二维码内容不完整",
        "FRP1|a b|1|1|1|1|" + "0" * 32: "记录编号格式不正确",
        "FRP1|abc|x|1|1|1|" + "0" * 32: "不是数字",
        "FRP1|abc|1|1|7|6|" + "0" * 32: "页码不合理",
        "FRP1|abc|1|1|1|6|" + "0" * 31: "页面哈希格式不正确",
    }
    for text, message in cases.items():
        with pytest.raises(PayloadError, match=message):
            parse(text)
