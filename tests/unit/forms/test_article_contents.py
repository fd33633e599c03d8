"""The documents carry what the governing article lists — checked item by item.

Each test quotes the article of 《行政执法全过程记录实施细则》 (../shared/rules/…) and maps every item
of its list to the field that records it. For each item we check what an officer would notice: the
field exists with the right kind and is required, and leaving it empty is refused with a message that
names it.
"""

import pytest

from forms import schema as fs
from forms.loader import default_registry
from tests.unit.forms.helpers import messages, valid_values


@pytest.fixture(scope="module")
def registry():
    return default_registry()


def assert_required_item(doc, key, kind, **fixed):
    """``key`` exists, has type ``kind``, is required, and an empty value is refused by name."""
    field = doc.field(key)
    assert isinstance(field, kind), f"{doc.id}.{key} is {type(field).__name__}"
    assert field.required, f"{doc.id}.{key} should be required"
    values = valid_values(doc, **fixed)
    values.pop(key, None)
    found = messages(doc, values)
    assert found and (field.label in found[0] or field.required_message == found[0]), found


def signature_slots(doc):
    return {f.role: f for f in doc.fields if isinstance(f, fs.SignatureField)}


# 第二十一条 …制作《检查（勘验）笔录》（2-5），详细记录检查起止时间、检查地点、检查人员姓名和执法证号码、
# 当事人和见证人的基本情况、通知当事人到场情况、出示执法证件情况、告知当事人权利义务情况、当事人陈述申辩
# 情况、检查情况，填写总页数和页码，当事人、见证人、检查人员分别在笔录上逐页签名或者盖章并注明日期。
ARTICLE_21 = [
    ("检查起止时间", "time", fs.TimeSpanField),
    ("检查地点", "place", fs.TextField),
    ("检查人员姓名和执法证号码", "inspectors", fs.OfficersField),
    ("当事人的基本情况", "party", fs.PartyField),
    ("通知当事人到场情况", "party_notified", fs.YesNoField),
    ("出示执法证件情况", "certificates_shown", fs.YesNoField),
    ("告知当事人权利义务情况", "rights_told", fs.YesNoField),
    ("当事人陈述申辩情况", "statement", fs.LongTextField),
    ("检查情况", "findings", fs.LongTextField),
]


@pytest.mark.parametrize("item,key,kind", ARTICLE_21, ids=[i[0] for i in ARTICLE_21])
def test_2_5_records_every_item_of_article_21(registry, item, key, kind):
    assert_required_item(registry.document("2-5"), key, kind)


def test_2_5_witness_pages_and_signatures_of_article_21(registry):
    doc = registry.document("2-5")
    # 见证人的基本情况: recorded when a witness is present (not every inspection has one).
    assert isinstance(doc.field("witness"), fs.WitnessField)
    assert {"name", "id_number", "unit"} <= set(doc.field("witness").require)
    # 通知当事人到场情况 is a situation, not only yes/no: the note is always required.
    assert doc.field("party_notified").note_required_when == "always"
    assert doc.field("inspectors").min_count >= 2
    # 填写总页数和页码
    assert doc.paged
    # 当事人、见证人、检查人员分别在笔录上逐页签名或者盖章并注明日期
    slots = signature_slots(doc)
    for role in ("当事人", "见证人", "检查人员"):
        assert slots[role].per_page and slots[role].dated, role


# 第二十三条 …制作《询问笔录》（2-7），详细记录询问时间、地点、询问（调查）人姓名和执法证件号码、被询问
# （调查）人情况、询问内容，填写总页数和页码，经被询问（调查）人核对无误后，被询问（调查）人、询问（调查）人
# 分别在笔录上逐页签名或者盖章并注明日期。
ARTICLE_23 = [
    ("询问时间", "time", fs.TimeSpanField),
    ("地点", "place", fs.TextField),
    ("询问（调查）人姓名和执法证件号码", "interviewers", fs.OfficersField),
    ("被询问（调查）人情况", "interviewee", fs.PersonField),
    ("询问内容", "transcript", fs.QAField),
    ("经被询问（调查）人核对无误", "checked", fs.YesNoField),
]


@pytest.mark.parametrize("item,key,kind", ARTICLE_23, ids=[i[0] for i in ARTICLE_23])
def test_2_7_records_every_item_of_article_23(registry, item, key, kind):
    assert_required_item(registry.document("2-7"), key, kind)


def test_2_7_pages_confirmation_and_signatures_of_article_23(registry):
    doc = registry.document("2-7")
    assert doc.paged  # 填写总页数和页码
    assert {"name", "id_number"} <= set(doc.field("interviewee").require)
    values = valid_values(doc)
    values["checked"] = {"answer": False, "note": "未核对"}  # 核对无误后 才能签名
    assert messages(doc, values) == ["询问笔录应当经被询问（调查）人核对无误（第二十三条）"]
    slots = signature_slots(doc)
    for role in ("被询问（调查）人", "询问（调查）人"):
        assert slots[role].per_page and slots[role].dated, role


# 第二十四条 …报行政执法机关负责人批准后，制作《先行登记保存证据通知书》（2-8）。对现行登记保存的证据物品
# 应当详细记录编号、名称、规格（型号）或者地址、单位、数量或者面积，当事人、办案人员、保管人、见证分别签名
# 或者盖章并注明日期。
ARTICLE_24_COLUMNS = ["编号", "名称", "规格（型号）或者地址", "单位", "数量或者面积"]


def test_2_8_item_table_has_the_columns_of_article_24(registry):
    doc = registry.document("2-8")
    items = doc.field("items")
    assert isinstance(items, fs.ItemsField) and items.required and items.min_rows >= 1
    required_columns = [c.label for c in items.columns if c.required]
    assert required_columns == ARTICLE_24_COLUMNS
    quantity = next(c for c in items.columns if c.label == "数量或者面积")
    assert quantity.type in ("number", "integer")


@pytest.mark.parametrize("column", ARTICLE_24_COLUMNS)
def test_2_8_each_column_of_article_24_is_required_in_every_row(registry, column):
    doc = registry.document("2-8")
    key = next(c.key for c in doc.field("items").columns if c.label == column)
    values = valid_values(doc)
    values["items"][1][key] = ""
    assert messages(doc, values) == [f"先行登记保存的证据物品第2行的{column}未填写"]


def test_2_8_approval_custodian_witness_and_signatures_of_article_24(registry):
    doc = registry.document("2-8")
    approval = doc.field("approved_by")
    assert isinstance(approval, fs.ApprovalField) and approval.role == "执法机关负责人"
    assert_required_item(doc, "custodian", fs.PersonField)
    assert_required_item(doc, "witness", fs.WitnessField)
    assert_required_item(doc, "officers", fs.OfficersField)
    slots = signature_slots(doc)
    for role in ("当事人", "办案人员", "保管人", "见证人"):
        assert slots[role].dated, role


# 第三十九条 执行执法人员应当制作《封存决定书》（3-5），载明当事人的姓名（名称）、理由、依据和期限、封存
# 物品名称、数量、救济渠道和行政机关名称、印章和日期。…《封存决定书》《封存资料物品清单》应当当场交付当事人。
ARTICLE_39_DECISION = [
    ("当事人的姓名（名称）", "party", fs.PartyField),
    ("理由", "reason", fs.LongTextField),
    ("依据", "legal_basis", fs.LegalBasisField),
    ("期限", "term_days", fs.NumberField),
    ("封存物品名称、数量", "items", fs.ItemsField),
    ("救济渠道", "remedies", fs.LongTextField),
    ("行政机关名称", "agency", fs.TextField),
    ("日期", "issued_on", fs.DateField),
    ("当场交付当事人", "delivered", fs.YesNoField),
]


@pytest.mark.parametrize("item,key,kind", ARTICLE_39_DECISION, ids=[i[0] for i in ARTICLE_39_DECISION])
def test_3_5_carries_every_item_of_article_39(registry, item, key, kind):
    assert_required_item(registry.document("3-5"), key, kind)


def test_3_5_seal_term_and_items(registry):
    doc = registry.document("3-5")
    assert doc.seal  # 印章
    # 期限: 《行政强制法》第二十五条 — not more than 30 days.
    values = valid_values(doc, term_days=30)
    values["term_days"] = 31
    assert messages(doc, values) == ["封存期限不能大于30日"]
    columns = {c.label for c in doc.field("items").columns if c.required}
    assert {"名称", "数量"} <= columns
    values = valid_values(doc)
    values["delivered"] = {"answer": False, "note": ""}
    assert messages(doc, values) == ["《封存决定书》应当当场交付当事人（第三十九条）"]


# 第三十九条 执法人员对封存的资料和物品，当场进行清点，制作《封存资料物品清单》（3-6）（一式两份，由当事人和
# 行政机关分别保存）。…应当当场交付当事人。
def test_3_6_counted_on_the_spot_in_two_copies_and_handed_over(registry):
    doc = registry.document("3-6")
    assert_required_item(doc, "counted_at", fs.DateTimeField)  # 当场进行清点: when
    assert_required_item(doc, "place", fs.TextField)           # 当场进行清点: where
    assert_required_item(doc, "items", fs.ItemsField)
    assert_required_item(doc, "delivered", fs.YesNoField)      # 当场交付当事人
    assert doc.copies == 2                                     # 一式两份
    assert "当事人" in doc.copies_note and "行政机关" in doc.copies_note
    columns = {c.label for c in doc.field("items").columns if c.required}
    assert {"编号", "名称", "单位", "数量"} <= columns
    slots = signature_slots(doc)
    assert "当事人" in slots and "执法人员" in slots  # both keepers sign the copies
    values = valid_values(doc)
    values["delivered"] = {"answer": False, "note": ""}
    assert messages(doc, values) == ["《封存资料物品清单》应当当场交付当事人（第三十九条）"]


# 第五十七条 （一）直接送达…由受送达人或者合法的签收人在《送达回证》上注明收到日期，并签名或者盖章。
# （二）…拒绝签收…留置送达…邀请基层自治组织或者受送达人所在单位的代表到场，说明情况，在送达回执上记明拒收
# 事由和日期，由送达人、见证人签字或者盖章，将文书留在受送达人的住所。
# （三）委托…送达 （四）挂号邮寄或者特快专递…保存回执、详单 （五）公告送达…记录已经采用其他方式均无法
# 送达的情况以及公告送达的方式和载体，留存…送达凭证。
SERVICE_MODES = {
    "直接送达": ["received_at", "signer"],
    "留置送达": ["refusal_reason", "refused_at", "witness", "left_at"],
    "委托送达": ["received_at", "signer", "entrusted_agency", "entrusted_on"],
    "邮寄送达": ["postal_kind", "tracking_no", "posted_on"],
    "公告送达": ["failed_ways", "notice_medium", "notice_on", "notice_proof"],
}


@pytest.mark.parametrize("mode", list(SERVICE_MODES))
def test_service_receipt_requires_what_article_57_lists_for_each_mode(registry, mode):
    doc = registry.document("service-receipt")
    assert mode in doc.field("mode").options
    for key in SERVICE_MODES[mode]:
        values = valid_values(doc, mode=mode)
        values.pop(key)
        found = messages(doc, values)
        assert len(found) == 1, (mode, key, found)
    # Deliverers (送达人) are required in every mode.
    values = valid_values(doc, mode=mode)
    values["deliverers"] = []
    assert messages(doc, values) == ["送达人未填写"]


def test_lien_service_without_witness_or_refusal_reason_is_refused(registry):
    doc = registry.document("service-receipt")
    values = valid_values(doc, mode="留置送达")
    without_witness = {k: v for k, v in values.items() if k != "witness"}
    assert messages(doc, without_witness) == [
        "留置送达应当邀请见证人到场并由见证人签字（第五十七条（二））"]
    without_reason = {k: v for k, v in values.items() if k != "refusal_reason"}
    assert messages(doc, without_reason) == [
        "留置送达应当在送达回证上记明拒收事由（第五十七条（二））"]
    without_date = {k: v for k, v in values.items() if k != "refused_at"}
    assert messages(doc, without_date) == [
        "留置送达应当在送达回证上记明拒收日期（第五十七条（二））"]


def test_direct_service_needs_date_and_signer_but_no_witness(registry):
    doc = registry.document("service-receipt")
    values = valid_values(doc, mode="直接送达")
    assert "witness" not in values and "refusal_reason" not in values
    values.pop("received_at")
    assert messages(doc, values) == ["应当由受送达人或者签收人注明收到日期（第五十七条（一）（三））"]


def test_service_receipt_signature_slots_follow_the_mode(registry):
    from forms.values import applies
    doc = registry.document("service-receipt")
    slots = signature_slots(doc)
    lien, direct = {"mode": "留置送达"}, {"mode": "直接送达"}
    assert applies(slots["送达人"], lien) and applies(slots["见证人"], lien)
    assert not applies(slots["受送达人（签收人）"], lien)
    assert applies(slots["受送达人（签收人）"], direct) and not applies(slots["见证人"], direct)
    assert all(s.dated for s in slots.values())
