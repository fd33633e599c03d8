"""The schema of document definitions: field types, conditions, documents.

A document definition (``forms/documents/<id>.v<N>.yaml``) is a ``DocumentDef``; procedure definitions
are in ``forms.procedure_schema``. Every model forbids unknown keys, so a typo in a YAML file fails at
load time instead of silently dropping a legal requirement.

The docstrings and ``Field(description=...)`` texts below are the source of the schema reference in
docs/forms.md (``python -m forms.docgen``): write them for the bureau staff who edit the YAML files.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, Union, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

Key = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", description="machine key, snake_case")]
Label = Annotated[str, Field(min_length=1, description="Chinese label an officer sees")]

PERSON_PARTS = ("name", "id_type", "id_number", "phone", "address", "unit", "position")
ORGANISATION_PARTS = ("name", "uscc", "legal_rep", "legal_rep_id_number", "address", "phone")
PART_LABELS = {
    "name": "姓名", "id_type": "证件类型", "id_number": "身份证号码", "phone": "联系电话",
    "address": "住址", "unit": "工作单位", "position": "职务", "uscc": "统一社会信用代码",
    "legal_rep": "法定代表人", "legal_rep_id_number": "法定代表人身份证号码",
}
ORG_PART_LABELS = dict(PART_LABELS, name="名称", address="地址")
ID_TYPES = ("居民身份证", "护照", "港澳居民来往内地通行证", "台湾居民来往大陆通行证", "外国人永久居留身份证", "其他")
PARTY_KINDS = ("organisation", "person")
APPROVAL_DECISIONS = ("同意", "不同意", "待批")
APPROVAL_METHODS = ("当面", "电话", "书面", "电子政务系统", "短信或即时通讯")

PersonPart = Literal["name", "id_type", "id_number", "phone", "address", "unit", "position"]
OrganisationPart = Literal["name", "uscc", "legal_rep", "legal_rep_id_number", "address", "phone"]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Condition(Model):
    """When another field of the same document has a given value. Exactly one of `equals` / `in`."""

    field: Key = Field(description="key of an earlier field of the same document")
    equals: str | bool | int | float | None = Field(
        None, description="the value (for yes/no fields: true or false, compared with the answer)")
    in_: list[str] | None = Field(None, alias="in", description="any of these values")

    @model_validator(mode="after")
    def _one_test(self):
        if (self.equals is None) == (self.in_ is None):
            raise ValueError("a condition needs exactly one of 'equals' or 'in'")
        return self

    def expected(self) -> list[Any]:
        return list(self.in_) if self.in_ is not None else [self.equals]


class FieldBase(Model):
    """Attributes every field type has."""

    value_shape: ClassVar[str] = ""
    fillable: ClassVar[bool] = True

    key: Key
    label: Label
    required: bool = Field(True, description="must be filled before the document can be finalized")
    help: str = Field("", description="help text shown under the field")
    basis: str = Field("", description="the article (and its item) that asks for this field")
    when: Condition | None = Field(
        None, description="the field applies only when this holds; otherwise it is hidden, not "
                          "required and not stored")
    required_message: str = Field(
        "", description="Chinese sentence shown instead of 「<label>未填写」 when missing")


class TextField(FieldBase):
    """One line of text."""

    value_shape: ClassVar[str] = "string"
    type: Literal["text"]
    max_length: int = Field(200, ge=1, description="longest accepted value, in characters")
    default: str | None = Field(None, description="value filled in when a form is opened")


class LongTextField(FieldBase):
    """Several paragraphs (findings, statements, reasons). Flows across printed pages."""

    value_shape: ClassVar[str] = "string"
    type: Literal["longtext"]
    max_length: int = Field(20000, ge=1, description="longest accepted value, in characters")
    default: str | None = Field(None, description="value filled in when a form is opened")


class DateField(FieldBase):
    """A calendar date."""

    value_shape: ClassVar[str] = '"YYYY-MM-DD"'
    type: Literal["date"]


class DateTimeField(FieldBase):
    """A date and a time of day (Beijing time unless an offset is given)."""

    value_shape: ClassVar[str] = '"YYYY-MM-DDTHH:MM[:SS]+08:00" (stored with offset)'
    type: Literal["datetime"]


class TimeSpanField(FieldBase):
    """A start and an end (e.g. 检查起止时间); the end may not be before the start."""

    value_shape: ClassVar[str] = '{"start": datetime, "end": datetime}'
    type: Literal["timespan"]
    start_label: str = Field("开始时间", description="label of the start")
    end_label: str = Field("结束时间", description="label of the end")


class NumberField(FieldBase):
    """A number with a fixed unit (元, 日, 页…)."""

    value_shape: ClassVar[str] = "number"
    type: Literal["number"]
    unit: str = Field("", description="unit printed after the number, e.g. 元 or 日")
    integer: bool = Field(False, description="only whole numbers")
    min: float | None = Field(None, description="smallest accepted value")
    max: float | None = Field(None, description="largest accepted value (e.g. 30 日 for 封存期限)")
    default: float | None = Field(None, description="value filled in when a form is opened")


class ChoiceField(FieldBase):
    """One (or, with `multiple`, several) of fixed options."""

    value_shape: ClassVar[str] = "string (one option), or list of strings when multiple"
    type: Literal["choice"]
    options: list[str] = Field(min_length=1, description="the Chinese options, stored as shown")
    multiple: bool = Field(False, description="several options may be chosen")
    default: str | None = Field(None, description="option chosen when a form is opened")


class YesNoField(FieldBase):
    """是/否 with a note (e.g. 是否出示执法证件, 当事人拒绝签名的注明)."""

    value_shape: ClassVar[str] = '{"answer": true|false, "note": string}'
    type: Literal["yesno"]
    note_label: str = Field("说明", description="label of the note")
    note_required_when: Literal["yes", "no", "always", "never"] = Field(
        "never", description="when the note must be filled (quote \"yes\"/\"no\" in YAML)")
    expect: bool | None = Field(
        None, description="the only lawful answer; any other answer is refused with expect_message")
    expect_message: str = Field("", description="Chinese sentence naming the rule")


class PersonField(FieldBase):
    """A natural person: name, ID type and number (居民身份证 checked by GB 11643), phone, address,
    unit, position."""

    value_shape: ClassVar[str] = ('{"name", "id_type", "id_number", "phone", "address", "unit", '
                                  '"position"} (strings; only the parts asked for)')
    type: Literal["person"]
    parts: list[PersonPart] = Field(default_factory=lambda: list(PERSON_PARTS),
                                    description="parts shown on the form")
    require: list[PersonPart] = Field(default_factory=lambda: ["name"],
                                      description="parts that must be filled")

    @model_validator(mode="after")
    def _required_parts_shown(self):
        _check_subset(self.require, self.parts)
        return self


class OrganisationField(FieldBase):
    """An organisation (用人单位): name, 统一社会信用代码 (checked by GB 32100), 法定代表人, address,
    phone."""

    value_shape: ClassVar[str] = ('{"name", "uscc", "legal_rep", "legal_rep_id_number", "address", '
                                  '"phone"} (strings)')
    type: Literal["organisation"]
    parts: list[OrganisationPart] = Field(default_factory=lambda: list(ORGANISATION_PARTS),
                                          description="parts shown on the form")
    require: list[OrganisationPart] = Field(default_factory=lambda: ["name", "uscc"],
                                            description="parts that must be filled")

    @model_validator(mode="after")
    def _required_parts_shown(self):
        _check_subset(self.require, self.parts)
        return self


class PartyField(FieldBase):
    """当事人: an organisation or a natural person; the officer picks which (`kind`)."""

    value_shape: ClassVar[str] = ('{"kind": "organisation"|"person", ...the parts of that kind}')
    type: Literal["party"]
    kinds: list[Literal["organisation", "person"]] = Field(
        default_factory=lambda: list(PARTY_KINDS), description="which kinds may be chosen")
    organisation_require: list[OrganisationPart] = Field(
        default_factory=lambda: ["name", "uscc", "legal_rep", "address"],
        description="parts required when the party is an organisation")
    person_require: list[PersonPart] = Field(
        default_factory=lambda: ["name", "id_type", "id_number", "address"],
        description="parts required when the party is a natural person")


class OfficersField(FieldBase):
    """执法人员: at least `min_count` officers, each with name and 执法证号 (and phone if asked)."""

    value_shape: ClassVar[str] = '[{"name": string, "cert_no": string, "phone": string}]'
    type: Literal["officers"]
    min_count: int = Field(2, ge=1, description="at least two officers act together (第十二条)")
    require_phone: bool = Field(False, description="each officer's phone is required (2-6)")


class WitnessField(FieldBase):
    """见证人: a person present as witness, with ID and unit (e.g. 社区干部, 街道办事处)."""

    value_shape: ClassVar[str] = PersonField.value_shape
    type: Literal["witness"]
    parts: list[PersonPart] = Field(default_factory=lambda: list(PERSON_PARTS),
                                    description="parts shown on the form")
    require: list[PersonPart] = Field(default_factory=lambda: ["name", "id_type", "id_number", "unit"],
                                      description="parts that must be filled")

    @model_validator(mode="after")
    def _required_parts_shown(self):
        _check_subset(self.require, self.parts)
        return self


class Column(Model):
    """One column of an item table."""

    key: Key
    label: Label
    type: Literal["text", "number", "integer"] = Field("text", description="what a cell holds")
    required: bool = Field(True, description="every row must fill this column")
    basis: str = Field("", description="the article that asks for this column")


class ItemsField(FieldBase):
    """A table of items (evidence, sealed materials); columns are defined per document."""

    value_shape: ClassVar[str] = "list of rows, each {column key: string or number}"
    type: Literal["items"]
    columns: list[Column] = Field(min_length=1, description="the table's columns, in order")
    min_rows: int = Field(1, ge=0, description="when required, at least this many rows")

    @model_validator(mode="after")
    def _unique_columns(self):
        keys = [c.key for c in self.columns]
        if len(keys) != len(set(keys)):
            raise ValueError(f"duplicate column key in {self.key}")
        return self


class QAField(FieldBase):
    """问/答 transcript: turns of a question and its answer."""

    value_shape: ClassVar[str] = '[{"q": string, "a": string}]'
    type: Literal["qa"]
    min_turns: int = Field(1, ge=0, description="when required, at least this many turns")


class LegalRef(Model):
    law: str = Field(min_length=1, description="e.g. 《中华人民共和国行政强制法》")
    article: str = Field(min_length=1, description="e.g. 第二十五条")


class LegalBasisField(FieldBase):
    """Legal basis: a list of article references, with suggestions the officer can pick."""

    value_shape: ClassVar[str] = '[{"law": string, "article": string}]'
    type: Literal["legal_basis"]
    min_count: int = Field(1, ge=0, description="when required, at least this many references")
    suggestions: list[LegalRef] = Field(default_factory=list,
                                        description="references offered for one-tap entry")


class AttachmentsField(FieldBase):
    """Photos or files already stored in the evidence store, referenced by their SHA-256."""

    value_shape: ClassVar[str] = "[SHA-256 of the media file, 64 lower-case hex digits]"
    type: Literal["attachments"]
    kind: Literal["photo", "file"] = Field("photo", description="photos or other files")
    min_count: int = Field(1, ge=0, description="when required, at least this many")


class ApprovalField(FieldBase):
    """An approver's opinion: who, decision, when, how. Filled by the procedure engine from the
    approvals recorded for `role`, not typed by the officer."""

    value_shape: ClassVar[str] = ('{"approver": string, "decision": "同意"|"不同意"|"待批", '
                                  '"at": datetime, "how": string, "opinion": string}')
    type: Literal["approval"]
    role: str = Field(min_length=1, description="role of a gate in the procedure, e.g. 执法机关负责人")


class SignatureField(FieldBase):
    """A signature slot on the printed document (not filled on the form; signatures and refusals
    are recorded after printing)."""

    value_shape: ClassVar[str] = "(none: not part of the form values)"
    fillable: ClassVar[bool] = False
    type: Literal["signature"]
    required: bool = False
    role: str = Field(min_length=1, description="who signs, e.g. 当事人, 见证人, 检查人员")
    per_page: bool = Field(False, description="signed on every page (逐页签名) or once at the end")
    dated: bool = Field(True, description="the signer writes the date")
    refusal_allowed: bool = Field(False, description="a refusal to sign may be noted instead")


FieldDef = Annotated[
    Union[TextField, LongTextField, DateField, DateTimeField, TimeSpanField, NumberField, ChoiceField,
          YesNoField, PersonField, OrganisationField, PartyField, OfficersField, WitnessField,
          ItemsField, QAField, LegalBasisField, AttachmentsField, ApprovalField, SignatureField],
    Field(discriminator="type"),
]
FIELD_TYPES: tuple[type[FieldBase], ...] = get_args(get_args(FieldDef)[0])


class DocumentDef(Model):
    """One field document (文书), e.g. 2-5 检查（勘验）笔录. File: documents/<id>.v<version>.yaml."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", description="template number, e.g. 2-5")
    version: int = Field(ge=1, description="1, 2, …; must match the file name")
    title: Label
    articles: list[str] = Field(min_length=1, description="articles of the rules that govern it")
    paged: bool = Field(False, description="printed with 「第X页 共Y页」")
    copies: int = Field(1, ge=1, description="copies printed")
    copies_note: str = Field("", description="who keeps which copy")
    serial: bool = Field(False, description="pre-numbered form (编有号码)")
    seal: bool = Field(False, description="carries the agency's seal (印章)")
    note: str = Field("", description="text printed under the title")
    fields: list[FieldDef] = Field(min_length=1, description="fields in printing order")

    @model_validator(mode="after")
    def _consistent(self):
        seen: dict[str, FieldBase] = {}
        for f in self.fields:
            if f.key in seen:
                raise ValueError(f"duplicate field key {f.key!r}")
            if f.when is not None:
                target = seen.get(f.when.field)
                if target is None:
                    raise ValueError(f"field {f.key!r}: condition refers to {f.when.field!r}, "
                                     "which is not an earlier field")
                _check_condition_values(f.key, f.when, target)
            seen[f.key] = f
        return self

    @property
    def ref(self) -> dict[str, Any]:
        """What a record stores to name this definition: {"id", "version"}."""
        return {"id": self.id, "version": self.version}

    def field(self, key: str) -> FieldBase:
        for f in self.fields:
            if f.key == key:
                return f
        raise KeyError(f"{self.id} v{self.version} has no field {key!r}")


def _check_subset(required, parts) -> None:
    missing = [p for p in required if p not in parts]
    if missing:
        raise ValueError(f"required parts {missing} are not among the shown parts")


def _check_condition_values(key: str, cond: Condition, target: FieldBase) -> None:
    if isinstance(target, ChoiceField):
        bad = [v for v in cond.expected() if v not in target.options]
        if bad:
            raise ValueError(f"field {key!r}: condition value {bad[0]!r} is not an option of "
                             f"{target.key!r}")
    elif isinstance(target, YesNoField):
        if any(not isinstance(v, bool) for v in cond.expected()):
            raise ValueError(f"field {key!r}: a condition on yes/no field {target.key!r} needs "
                             "true or false")
    else:
        raise ValueError(f"field {key!r}: conditions may only test choice or yes/no fields")
