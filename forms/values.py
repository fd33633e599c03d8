"""Values of a filled document: normalisation and validation against its definition.

Values are plain JSON (dicts, lists, strings, numbers, booleans) so that a record can be stored,
hashed, synced and re-validated by the HQ server with the same code. Every error is a ``FieldError``
whose message is a Chinese sentence that names the field, e.g. 「当事人的统一社会信用代码校验位不正确」.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Callable
from zoneinfo import ZoneInfo

from forms import schema as s
from forms.checksums import check_resident_id, check_uscc, normalize_code

BEIJING = ZoneInfo("Asia/Shanghai")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")  # media are referenced by the SHA-256 the store gave them


@dataclass(frozen=True)
class FieldError:
    """One problem. ``key`` is the field key, with a sub-path for parts (``party.uscc``,
    ``items[2].quantity``); ``message`` is the Chinese sentence shown to the officer."""

    key: str
    message: str


def applies(field: s.FieldBase, values: dict[str, Any]) -> bool:
    """Whether the field's ``when`` condition holds for these values (True without a condition)."""
    cond = field.when
    if cond is None:
        return True
    current = values.get(cond.field)
    if isinstance(current, dict) and "answer" in current:  # yes/no
        current = current["answer"]
    if isinstance(current, list):  # multiple choice: any selected option matches
        return any(v in cond.expected() for v in current)
    return current in cond.expected()


def is_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, (list, dict)):
        return len(value) == 0
    return False


# ---------------------------------------------------------------------------------------------
# Normalisation


def normalize(document: s.DocumentDef, values: dict[str, Any], *,
              drop_inapplicable: bool = False) -> dict[str, Any]:
    """A cleaned copy of ``values``: strings stripped, dates and datetimes in ISO form (datetimes
    with the +08:00 offset when none was given), credit codes and ID numbers normalised.

    Guarantees: never raises on bad input (what cannot be parsed is kept for ``validate`` to
    report); never invents a value. Raises KeyError for a key the document does not define — a
    programming error, not user input. With ``drop_inapplicable`` (used when finalizing) values of
    fields whose ``when`` does not hold are removed, so a stale 拒收事由 cannot end up in a record of a
    direct service.
    """
    unknown = [k for k in values if k not in {f.key for f in document.fields if f.fillable}]
    if unknown:
        raise KeyError(f"{document.id} v{document.version} has no fillable field {unknown[0]!r}")
    out: dict[str, Any] = {}
    for f in document.fields:
        if f.key not in values:
            continue
        out[f.key] = _normalize_value(f, values[f.key])
    if drop_inapplicable:
        for f in document.fields:
            if f.key in out and not applies(f, out):
                del out[f.key]
    return out


def _normalize_value(f: s.FieldBase, v: Any) -> Any:
    if isinstance(v, str) and not isinstance(f, (s.DateField, s.DateTimeField)):
        v = v.strip()
    if isinstance(f, s.DateField):
        return _iso_date(v)
    if isinstance(f, (s.DateTimeField,)):
        return _iso_datetime(v)
    if isinstance(f, s.TimeSpanField) and isinstance(v, dict):
        return {k: _iso_datetime(x) for k, x in v.items()}
    if isinstance(f, s.ApprovalField) and isinstance(v, dict):
        return {k: (_iso_datetime(x) if k == "at" else _strip(x)) for k, x in v.items()}
    if isinstance(f, (s.PersonField, s.WitnessField, s.OrganisationField, s.PartyField)) \
            and isinstance(v, dict):
        out = {k: _strip(x) for k, x in v.items()}
        for key in ("uscc", "legal_rep_id_number"):
            if isinstance(out.get(key), str):
                out[key] = normalize_code(out[key])
        if isinstance(out.get("id_number"), str) and out.get("id_type", "居民身份证") == "居民身份证":
            out["id_number"] = normalize_code(out["id_number"])
        return out
    if isinstance(v, list):
        return [{k: _strip(x) for k, x in item.items()} if isinstance(item, dict) else _strip(item)
                for item in v]
    if isinstance(v, dict):
        return {k: _strip(x) for k, x in v.items()}
    return v


def _strip(v: Any) -> Any:
    return v.strip() if isinstance(v, str) else v


def _iso_date(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.date().isoformat()
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, str):
        try:
            return date.fromisoformat(v.strip()).isoformat()
        except ValueError:
            return v.strip()
    return v


def _iso_datetime(v: Any) -> Any:
    if isinstance(v, str):
        try:
            v = datetime.fromisoformat(v.strip())
        except ValueError:
            return v.strip()
    if isinstance(v, datetime):
        if v.tzinfo is None:
            v = v.replace(tzinfo=BEIJING)
        return v.isoformat(timespec="minutes" if v.second == 0 and not v.microsecond
                           else "seconds")
    return v


def parse_datetime(v: Any) -> datetime | None:
    """An aware datetime from a normalised value, or None."""
    if not isinstance(v, str):
        return None
    try:
        d = datetime.fromisoformat(v)
    except ValueError:
        return None
    return d if d.tzinfo else d.replace(tzinfo=BEIJING)


# ---------------------------------------------------------------------------------------------
# Validation


def validate(document: s.DocumentDef, values: dict[str, Any], *,
             today: date | None = None) -> list[FieldError]:
    """Every problem of ``values`` (normalised first) against ``document``, in field order.

    Fields whose ``when`` does not hold are skipped; signature slots are never values. An empty
    list means the values may be finalized as far as the document is concerned (the procedure
    engine adds its own guards).
    """
    values = normalize(document, values)
    errors: list[FieldError] = []
    for f in document.fields:
        if not f.fillable or not applies(f, values):
            continue
        v = values.get(f.key)
        if is_empty(v):
            if f.required:
                errors.append(FieldError(f.key, f.required_message or f"{f.label}未填写"))
            continue
        errors.extend(_CHECKS[type(f)](f, v, _Ctx(f.key, today)))
    return errors


def validate_field(field: s.FieldBase, value: Any, *, today: date | None = None
                   ) -> list[FieldError]:
    """Problems of one (normalised) value of ``field``, ignoring its ``when`` condition."""
    if is_empty(value):
        return [FieldError(field.key, field.required_message or f"{field.label}未填写")] \
            if field.required else []
    return _CHECKS[type(field)](field, value, _Ctx(field.key, today))


@dataclass(frozen=True)
class _Ctx:
    key: str
    today: date | None

    def err(self, message: str, sub: str = "") -> FieldError:
        return FieldError(f"{self.key}{sub}", message)


def _shape(f: s.FieldBase, c: _Ctx) -> list[FieldError]:
    return [c.err(f"{f.label}的格式不正确")]


def _check_text(f, v, c):
    if not isinstance(v, str):
        return _shape(f, c)
    if len(v) > f.max_length:
        return [c.err(f"{f.label}不能超过{f.max_length}字，当前为{len(v)}字")]
    return []


def _check_date(f, v, c):
    try:
        date.fromisoformat(v)
    except (TypeError, ValueError):
        return [c.err(f"{f.label}不是有效的日期")]
    return []


def _check_datetime(f, v, c):
    return [] if parse_datetime(v) else [c.err(f"{f.label}不是有效的日期时间")]


def _check_timespan(f, v, c):
    if not isinstance(v, dict):
        return _shape(f, c)
    errors = []
    parsed = {}
    for part, label in (("start", f.start_label), ("end", f.end_label)):
        if is_empty(v.get(part)):
            errors.append(c.err(f"{f.label}的{label}未填写", f".{part}"))
        elif (parsed.setdefault(part, parse_datetime(v[part]))) is None:
            errors.append(c.err(f"{f.label}的{label}不是有效的日期时间", f".{part}"))
    if not errors and parsed["end"] < parsed["start"]:
        errors.append(c.err(f"{f.label}的{f.end_label}早于{f.start_label}", ".end"))
    return errors


def _number(v) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        if isinstance(v, str):
            try:
                v = float(v)
            except ValueError:
                return None
        else:
            return None
    return None if math.isnan(v) or math.isinf(v) else float(v)


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _check_number(f, v, c):
    n = _number(v)
    if n is None:
        return [c.err(f"{f.label}应为数字")]
    if f.integer and not n.is_integer():
        return [c.err(f"{f.label}应为整数")]
    if f.min is not None and n < f.min:
        return [c.err(f"{f.label}不能小于{_fmt(f.min)}{f.unit}")]
    if f.max is not None and n > f.max:
        return [c.err(f"{f.label}不能大于{_fmt(f.max)}{f.unit}")]
    return []


def _check_choice(f, v, c):
    chosen = v if isinstance(v, list) else [v]
    if isinstance(v, list) and not f.multiple:
        return [c.err(f"{f.label}只能选择一项")]
    bad = [x for x in chosen if x not in f.options]
    if bad:
        return [c.err(f"{f.label}的选项“{bad[0]}”无效")]
    return []


def _check_yesno(f, v, c):
    if not isinstance(v, dict) or not isinstance(v.get("answer"), bool):
        return [c.err(f"{f.label}未选择“是”或“否”")]
    answer = v["answer"]
    errors = []
    if f.expect is not None and answer != f.expect:
        errors.append(c.err(f.expect_message or f"{f.label}应为“{'是' if f.expect else '否'}”"))
    need_note = {"always": True, "never": False, "yes": answer, "no": not answer}
    if need_note[f.note_required_when] and is_empty(v.get("note")):
        errors.append(c.err(f"{f.label}的{f.note_label}未填写", ".note"))
    return errors


def _check_person_parts(label: str, v: dict, require, c: _Ctx, prefix: str = "") -> list:
    errors = []
    id_type = v.get("id_type") or "居民身份证"
    for part in require:
        if is_empty(v.get(part)):
            name = "证件号码" if part == "id_number" and id_type != "居民身份证" else \
                s.PART_LABELS[part]
            errors.append(c.err(f"{label}的{name}未填写", f"{prefix}.{part}"))
    if not is_empty(v.get("id_type")) and v["id_type"] not in s.ID_TYPES:
        errors.append(c.err(f"{label}的证件类型“{v['id_type']}”无效", f"{prefix}.id_type"))
    if id_type == "居民身份证" and isinstance(v.get("id_number"), str) and v["id_number"]:
        _, problem = check_resident_id(v["id_number"], today=c.today)
        if problem:
            errors.append(c.err(f"{label}的身份证号码{problem}", f"{prefix}.id_number"))
    return errors


def _check_org_parts(label: str, v: dict, require, c: _Ctx) -> list:
    errors = [c.err(f"{label}的{s.ORG_PART_LABELS[p]}未填写", f".{p}")
              for p in require if is_empty(v.get(p))]
    if isinstance(v.get("uscc"), str) and v["uscc"]:
        _, problem = check_uscc(v["uscc"])
        if problem:
            errors.append(c.err(f"{label}的统一社会信用代码{problem}", ".uscc"))
    if isinstance(v.get("legal_rep_id_number"), str) and v["legal_rep_id_number"]:
        _, problem = check_resident_id(v["legal_rep_id_number"], today=c.today)
        if problem:
            errors.append(c.err(f"{label}的法定代表人身份证号码{problem}", ".legal_rep_id_number"))
    return errors


def _check_person(f, v, c):
    if not isinstance(v, dict):
        return _shape(f, c)
    return _check_person_parts(f.label, v, f.require, c)


def _check_org(f, v, c):
    if not isinstance(v, dict):
        return _shape(f, c)
    return _check_org_parts(f.label, v, f.require, c)


def _check_party(f, v, c):
    if not isinstance(v, dict):
        return _shape(f, c)
    kind = v.get("kind")
    if kind not in f.kinds:
        return [c.err(f"{f.label}未选择是单位还是个人", ".kind")]
    if kind == "organisation":
        return _check_org_parts(f.label, v, f.organisation_require, c)
    return _check_person_parts(f.label, v, f.person_require, c)


def _check_officers(f, v, c):
    if not isinstance(v, list) or not all(isinstance(o, dict) for o in v):
        return _shape(f, c)
    errors = []
    if len(v) < f.min_count:
        errors.append(c.err(f"{f.label}不得少于{f.min_count}人，当前为{len(v)}人"))
    seen: set[str] = set()
    for i, o in enumerate(v, 1):
        parts = [("name", "姓名"), ("cert_no", "执法证号")] + (
            [("phone", "联系电话")] if f.require_phone else [])
        for part, name in parts:
            if is_empty(o.get(part)):
                errors.append(c.err(f"{f.label}第{i}人的{name}未填写", f"[{i}].{part}"))
        cert = o.get("cert_no")
        if isinstance(cert, str) and cert:
            if cert in seen:
                errors.append(c.err(f"{f.label}中执法证号{cert}重复登记", f"[{i}].cert_no"))
            seen.add(cert)
    return errors


def _check_items(f, v, c):
    if not isinstance(v, list) or not all(isinstance(r, dict) for r in v):
        return _shape(f, c)
    errors = []
    if len(v) < f.min_rows:
        errors.append(c.err(f"{f.label}至少应有{f.min_rows}项"))
    for i, row in enumerate(v, 1):
        for col in f.columns:
            cell = row.get(col.key)
            if is_empty(cell):
                if col.required:
                    errors.append(c.err(f"{f.label}第{i}行的{col.label}未填写", f"[{i}].{col.key}"))
                continue
            if col.type != "text":
                n = _number(cell)
                if n is None or (col.type == "integer" and not n.is_integer()):
                    kind = "整数" if col.type == "integer" else "数字"
                    errors.append(c.err(f"{f.label}第{i}行的{col.label}应为{kind}",
                                        f"[{i}].{col.key}"))
        extra = set(row) - {col.key for col in f.columns}
        if extra:
            errors.append(c.err(f"{f.label}第{i}行有未定义的栏目“{sorted(extra)[0]}”", f"[{i}]"))
    return errors


def _check_qa(f, v, c):
    if not isinstance(v, list) or not all(isinstance(t, dict) for t in v):
        return _shape(f, c)
    errors = []
    if len(v) < f.min_turns:
        errors.append(c.err(f"{f.label}至少应有{f.min_turns}问"))
    for i, turn in enumerate(v, 1):
        if is_empty(turn.get("q")):
            errors.append(c.err(f"{f.label}第{i}问的问话未填写", f"[{i}].q"))
        if is_empty(turn.get("a")):
            errors.append(c.err(f"{f.label}第{i}问的回答未填写", f"[{i}].a"))
    return errors


def _check_legal(f, v, c):
    if not isinstance(v, list) or not all(isinstance(r, dict) for r in v):
        return _shape(f, c)
    errors = []
    if len(v) < f.min_count:
        errors.append(c.err(f"{f.label}至少应列明{f.min_count}项"))
    for i, ref in enumerate(v, 1):
        if is_empty(ref.get("law")):
            errors.append(c.err(f"{f.label}第{i}项的法律法规名称未填写", f"[{i}].law"))
        if is_empty(ref.get("article")):
            errors.append(c.err(f"{f.label}第{i}项的条款未填写", f"[{i}].article"))
    return errors


def _check_attachments(f, v, c):
    if not isinstance(v, list) or not all(isinstance(m, str) and _SHA256.match(m) for m in v):
        return [c.err(f"{f.label}中有无法识别的文件，请重新选择")]
    if f.required and len(v) < f.min_count:
        what = "张照片" if f.kind == "photo" else "个文件"
        return [c.err(f"{f.label}至少应有{f.min_count}{what}")]
    return []


def _check_approval(f, v, c):
    if not isinstance(v, dict):
        return _shape(f, c)
    errors = []
    for part, name in (("approver", "审批人"), ("decision", "审批意见"), ("at", "审批时间"),
                       ("how", "审批方式")):
        if is_empty(v.get(part)):
            errors.append(c.err(f"{f.label}的{name}未填写", f".{part}"))
    if not is_empty(v.get("decision")) and v["decision"] not in s.APPROVAL_DECISIONS:
        errors.append(c.err(f"{f.label}的审批意见“{v['decision']}”无效", ".decision"))
    if not is_empty(v.get("at")) and parse_datetime(v["at"]) is None:
        errors.append(c.err(f"{f.label}的审批时间不是有效的日期时间", ".at"))
    return errors


_CHECKS: dict[type, Callable[[Any, Any, _Ctx], list[FieldError]]] = {
    s.TextField: _check_text, s.LongTextField: _check_text, s.DateField: _check_date,
    s.DateTimeField: _check_datetime, s.TimeSpanField: _check_timespan, s.NumberField: _check_number,
    s.ChoiceField: _check_choice, s.YesNoField: _check_yesno, s.PersonField: _check_person,
    s.WitnessField: _check_person, s.OrganisationField: _check_org, s.PartyField: _check_party,
    s.OfficersField: _check_officers, s.ItemsField: _check_items, s.QAField: _check_qa,
    s.LegalBasisField: _check_legal, s.AttachmentsField: _check_attachments,
    s.ApprovalField: _check_approval,
}
assert set(_CHECKS) == {t for t in s.FIELD_TYPES if t.fillable}, "every fillable type is checked"
