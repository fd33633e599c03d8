"""Form values as the web page shows them: one (label, text, photos) row per field of the document
definition (``forms``), in printing order; values of fields the definition does not know are listed at
the end under their key, so nothing recorded is hidden. Pure; no I/O besides the forms registry."""

from __future__ import annotations

import json

PARTS = {"name": "名称/姓名", "uscc": "统一社会信用代码", "legal_rep": "法定代表人", "legal_rep_id_number": "法定代表人身份证号",
         "address": "地址", "id_type": "证件类型", "id_number": "证件号码", "phone": "电话", "unit": "单位",
         "position": "职务", "gender": "性别", "cert_no": "执法证号"}


def _text(value) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dict):
        if set(value) >= {"start", "end"} and len(value) <= 2:
            return f"{value.get('start', '')} 至 {value.get('end', '')}"
        if "answer" in value:
            note = str(value.get("note") or "").strip()
            return ("是" if value.get("answer") else "否") + (f"（{note}）" if note else "")
        if "approver" in value:
            return "；".join(x for x in (str(value.get("decision", "")), str(value.get("approver", "")),
                                         str(value.get("at", "")), str(value.get("how", "")),
                                         str(value.get("opinion", ""))) if x)
        parts = []
        order = {k: i for i, k in enumerate(PARTS)}  # name first, as on the printed form
        for k, v in sorted(value.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])):
            if v in (None, "", [], {}) or k == "kind":  # person/organisation shows in which parts exist
                continue
            parts.append(f"{PARTS.get(k, k)}：{_text(v)}")
        return "；".join(parts)
    if isinstance(value, list):
        return "\n".join(_text(v) for v in value)
    return str(value)


def _officers(value) -> str:
    if not isinstance(value, list):
        return _text(value)
    return "、".join(f"{o.get('name', '')}（执法证号 {o.get('cert_no', '')}）" if isinstance(o, dict) else str(o)
                    for o in value)


def _items(field, value) -> str:
    if not isinstance(value, list):
        return _text(value)
    cols = [(c.key, c.label) for c in getattr(field, "columns", [])]
    lines = []
    for i, row in enumerate(value, 1):
        if isinstance(row, dict):
            lines.append(f"{i}. " + "；".join(f"{label}：{row.get(key, '')}" for key, label in cols if row.get(key) not in (None, "")))
        else:
            lines.append(f"{i}. {_text(row)}")
    return "\n".join(lines)


def _qa(value) -> str:
    if not isinstance(value, list):
        return _text(value)
    return "\n".join(f"问：{x.get('q', x.get('question', ''))}\n答：{x.get('a', x.get('answer', ''))}" if isinstance(x, dict)
                     else _text(x) for x in value)


def form_rows(doc, values: dict) -> list[dict]:
    """[{key, label, text, photos}] for a document definition (or None: keys only) and its values."""
    rows, seen = [], set()
    for f in (doc.fields if doc is not None else []):
        seen.add(f.key)
        if f.type == "signature":
            continue
        value = values.get(f.key)
        photos: list[str] = []
        if f.type == "attachments":
            photos = [v for v in (value or []) if isinstance(v, str)]
            text = f"{len(photos)} 张" if photos else ""
        elif f.type in ("officers",):
            text = _officers(value)
        elif f.type == "items":
            text = _items(f, value)
        elif f.type == "qa":
            text = _qa(value)
        elif f.type == "timespan" and isinstance(value, dict):
            text = f"{value.get('start', '')} 至 {value.get('end', '')}"
        elif f.type == "number" and value is not None:
            text = f"{value:g}{getattr(f, 'unit', '')}" if isinstance(value, (int, float)) else str(value)
        else:
            text = _text(value)
        rows.append({"key": f.key, "label": f.label, "text": text, "photos": photos})
    for key, value in values.items():
        if key not in seen:
            rows.append({"key": key, "label": key, "text": _text(value) if not isinstance(value, (dict, list)) or value
                         else json.dumps(value, ensure_ascii=False), "photos": []})
    return rows


def changed_fields(doc, before: dict, after: dict) -> list[dict]:
    """Fields whose value differs between two versions: [{label, before, after}]."""
    labels = {f.key: f.label for f in (doc.fields if doc is not None else [])}
    out = []
    for key in list(dict.fromkeys([*before, *after])):
        if before.get(key) != after.get(key):
            out.append({"label": labels.get(key, key), "before": _text(before.get(key)), "after": _text(after.get(key))})
    return out
