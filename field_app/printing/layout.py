"""Print layout hints: forms/layout/print.yaml, keyed by document id (docs/printing.md).

Hints say where things go on paper (the 文号 line, the closing with agency and seal, copy labels,
column widths, whether every signer signs every page); what a document contains stays in its
definition. Keyed by document id for every version, so published definitions never change for a
layout tweak.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from forms import schema as fs
from forms.loader import FORMS_ROOT, Registry, load_yaml

LAYOUT_FILE = FORMS_ROOT / "layout" / "print.yaml"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Defaults(_Model):
    agency: str = Field(min_length=1)
    case_fields: list[str] = ["case_no"]
    number_fields: list[str] = ["doc_no", "serial"]
    closing_fields: list[str] = ["agency", "issued_on"]
    copy_labels: list[str] = ["当事人留存", "执法机关留存"]


class DocumentHints(_Model):
    signatures_every_page: bool = False
    number_field: str | None = None
    number_label: str = ""
    case_field: str | None = None
    closing_fields: list[str] | None = None
    copy_labels: list[str] | None = None
    column_weights: dict[str, dict[str, float]] = {}
    agency: str | None = None


class LayoutFile(_Model):
    defaults: Defaults
    documents: dict[str, DocumentHints] = {}


class Layout(_Model):
    """The hints that apply to one document (defaults merged with its own)."""

    agency: str
    case_field: str | None
    number_field: str | None
    number_label: str
    closing_fields: tuple[str, ...]
    copy_labels: tuple[str, ...]
    signatures_every_page: bool
    column_weights: dict[str, dict[str, float]]


@lru_cache(maxsize=4)
def load_layout_file(path: Path = LAYOUT_FILE) -> LayoutFile:
    """Parse and validate the hints file (strict YAML; unknown keys are errors)."""
    return LayoutFile.model_validate(load_yaml(path))


def layout_for(doc: fs.DocumentDef, hints: LayoutFile | None = None) -> Layout:
    """The layout of ``doc``: per-document hints over the defaults; the first default case /
    number field the document actually has."""
    hints = hints or load_layout_file()
    d = hints.defaults
    own = hints.documents.get(doc.id, DocumentHints())
    keys = {f.key for f in doc.fields if isinstance(f, fs.TextField)}
    case_field = own.case_field or next((k for k in d.case_fields if k in keys), None)
    number_field = own.number_field or next((k for k in d.number_fields if k in keys), None)
    copies = own.copy_labels or d.copy_labels
    labels = tuple(copies[:doc.copies]) if doc.copies > 1 else ()
    if doc.copies > 1 and len(labels) < doc.copies:
        labels += tuple(f"第{i}份" for i in range(len(labels) + 1, doc.copies + 1))
    return Layout(agency=own.agency or d.agency, case_field=case_field, number_field=number_field,
                  number_label=own.number_label, closing_fields=tuple(
                      own.closing_fields if own.closing_fields is not None else d.closing_fields),
                  copy_labels=labels, signatures_every_page=own.signatures_every_page,
                  column_weights=own.column_weights)


def check_layout_file(registry: Registry, hints: LayoutFile | None = None) -> list[str]:
    """Problems of the hints file against the shipped definitions (empty: fine): unknown document
    ids, and field or column keys that no version of the document has."""
    hints = hints or load_layout_file()
    problems = []
    by_id: dict[str, list[fs.DocumentDef]] = {}
    for doc in registry.documents.values():
        by_id.setdefault(doc.id, []).append(doc)
    for doc_id, own in hints.documents.items():
        versions = by_id.get(doc_id)
        if not versions:
            problems.append(f"documents.{doc_id}: no such document")
            continue
        fields = {f.key: f for v in versions for f in v.fields}
        named = [k for k in (own.number_field, own.case_field) if k] + list(own.closing_fields or [])
        problems += [f"documents.{doc_id}: no field {k!r}" for k in named if k not in fields]
        for key, weights in own.column_weights.items():
            f = fields.get(key)
            if not isinstance(f, fs.ItemsField):
                problems.append(f"documents.{doc_id}.column_weights: {key!r} is not an item list")
                continue
            cols = {c.key for c in f.columns}
            problems += [f"documents.{doc_id}.column_weights.{key}: no column {c!r}"
                         for c in weights if c not in cols]
            problems += [f"documents.{doc_id}.column_weights.{key}.{c}: weight must be > 0"
                         for c, w in weights.items() if w <= 0]
    return problems
