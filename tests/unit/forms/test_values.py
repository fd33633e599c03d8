"""Validation of filled values: every error is a Chinese sentence naming the field."""

import pytest

from forms.loader import default_registry
from forms.values import normalize
from tests.unit.forms.helpers import messages, valid_values


@pytest.fixture(scope="module")
def registry():
    return default_registry()


def valid(registry, doc_id, **fixed):
    doc = registry.document(doc_id)
    return doc, valid_values(doc, **fixed)


def test_invalid_credit_code_of_the_party_names_the_field(registry):
    doc, values = valid(registry, "2-5")
    values["party"] = dict(values["party"], uscc="911301025260181594")
    assert messages(doc, values) == ["当事人的统一社会信用代码校验位不正确"]


def test_full_width_and_lower_case_credit_code_is_stored_normalised(registry):
    doc, values = valid(registry, "2-5")
    values["party"] = dict(values["party"], uscc="９１１３０１０２５２６０１８１５９３")
    assert messages(doc, values) == []
    assert normalize(doc, values)["party"]["uscc"] == "911301025260181593"


def test_invalid_id_number_of_the_interviewee_names_the_field(registry):
    doc, values = valid(registry, "2-7")
    values["interviewee"] = dict(values["interviewee"], id_number="130102197803127874")
    assert messages(doc, values) == ["被询问（调查）人的身份证号码校验位不正确"]


def test_invalid_id_number_of_the_witness_names_the_field(registry):
    doc, values = valid(registry, "3-3")
    values["witness"] = dict(values["witness"], id_number="13010519920705328Y")
    assert messages(doc, values) == ["见证人的身份证号码只能由数字组成，最后一位可以是X"]


def test_passport_numbers_are_not_checked_as_resident_ids(registry):
    doc, values = valid(registry, "2-7")
    values["interviewee"] = dict(values["interviewee"], id_type="护照", id_number="E12345678")
    assert messages(doc, values) == []


def test_legal_representative_id_is_checked_too(registry):
    doc, values = valid(registry, "3-5")
    values["party"] = dict(values["party"], legal_rep_id_number="130102197803127870")
    assert messages(doc, values) == ["当事人的法定代表人身份证号码校验位不正确"]


def test_missing_required_field_names_it(registry):
    doc, values = valid(registry, "2-5")
    del values["findings"]
    assert messages(doc, values) == ["检查情况未填写"]


def test_end_before_start_is_refused(registry):
    doc, values = valid(registry, "2-5")
    values["time"] = {"start": "2026-11-20T10:00", "end": "2026-11-20T09:30"}
    assert messages(doc, values) == ["检查时间的结束时间早于开始时间"]


def test_one_officer_is_refused_in_the_document(registry):
    doc, values = valid(registry, "2-7")
    values["interviewers"] = values["interviewers"][:1]
    assert messages(doc, values) == ["询问（调查）人不得少于2人，当前为1人"]


def test_same_certificate_twice_is_refused(registry):
    doc, values = valid(registry, "2-5")
    values["inspectors"] = [values["inspectors"][0], dict(values["inspectors"][0], name="王建")]
    assert "检查人员中执法证号13010220170031重复登记" in messages(doc, values)


def test_questioning_notice_needs_officers_phone(registry):
    doc, values = valid(registry, "2-6")
    values["officers"] = [{k: v for k, v in o.items() if k != "phone"} for o in values["officers"]]
    assert messages(doc, values) == ["执法办案人员第1人的联系电话未填写",
                                     "执法办案人员第2人的联系电话未填写"]


def test_item_table_cells_are_checked_by_row_and_column(registry):
    doc, values = valid(registry, "2-8")
    values["items"] = [{"item_no": "1", "name": "现金工资发放登记本", "spec": "蓝色硬皮",
                        "unit": "本", "quantity": "一"},
                       {"item_no": "2", "name": "", "spec": "A4", "unit": "册", "quantity": 1}]
    assert messages(doc, values) == ["先行登记保存的证据物品第1行的数量或者面积应为数字",
                                     "先行登记保存的证据物品第2行的名称未填写"]


def test_transcript_turn_without_answer_is_named(registry):
    doc, values = valid(registry, "2-7")
    values["transcript"] = [{"q": "你单位有多少工人？", "a": "四十六人。"}, {"q": "工资怎么发？", "a": ""}]
    assert messages(doc, values) == ["询问内容第2问的回答未填写"]


def test_yes_no_with_a_lawful_answer_only(registry):
    doc, values = valid(registry, "2-5")
    values["certificates_shown"] = {"answer": False, "note": ""}
    assert messages(doc, values) == ["检查时应当向当事人出示执法证件（第二十一条、第六十二条（二））"]


def test_refusal_to_sign_needs_the_note(registry):
    doc, values = valid(registry, "3-4")
    values["party_refused"] = {"answer": True, "note": ""}
    assert messages(doc, values) == ["当事人是否拒绝签名或者盖章的拒绝情况未填写"]


def test_number_limits_use_the_unit(registry):
    doc, values = valid(registry, "3-5")
    values["term_days"] = 31
    assert messages(doc, values) == ["封存期限不能大于30日"]


def test_fine_only_when_a_fine_is_chosen(registry):
    doc, values = valid(registry, "2-22", penalty_kind=["警告"])
    assert "fine" not in values
    values["penalty_kind"] = ["警告", "罚款"]
    assert messages(doc, values) == ["罚款数额未填写", "罚款缴纳方式和期限未填写"]


def test_invalid_choice_is_named(registry):
    doc, values = valid(registry, "service-receipt")
    values["mode"] = "电子送达"
    assert messages(doc, values) == ["送达方式的选项“电子送达”无效"]


def test_datetimes_without_offset_are_stored_as_beijing_time(registry):
    doc, values = valid(registry, "3-2")
    values["time"] = "2026-11-20T16:40"
    assert normalize(doc, values)["time"] == "2026-11-20T16:40+08:00"


def test_unknown_key_is_a_programming_error(registry):
    doc, values = valid(registry, "3-2")
    with pytest.raises(KeyError):
        normalize(doc, {**values, "no_such_field": 1})
