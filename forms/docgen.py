"""Generate the schema reference section of docs/forms.md from the code.

    python -m forms.docgen           # rewrite the generated section of docs/forms.md
    python -m forms.docgen --check   # exit 1 if docs/forms.md is out of date

The section between the BEGIN/END markers is replaced; everything else in docs/forms.md is written by
hand. The reference comes from the pydantic models (their docstrings and Field descriptions) and the
shipped definitions, so it cannot drift from what the loader accepts.
"""

from __future__ import annotations

import argparse
import sys
import types
import typing
from pathlib import Path

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from forms import procedure_schema as ps
from forms import schema as s
from forms.loader import Registry, _doc_order, load_registry

DOC_PATH = Path(__file__).resolve().parent.parent / "docs" / "forms.md"
BEGIN = "<!-- BEGIN GENERATED REFERENCE: python -m forms.docgen -->"
END = "<!-- END GENERATED REFERENCE -->"

PROCEDURE_MODELS = (ps.ProcedureDef, ps.StepDef, ps.DocRef, ps.Recording, ps.KeyShot,
                    ps.ChecklistItem, ps.StepCondition, ps.GateDef, ps.GateRole, ps.Emergency,
                    ps.DeadlineSpec, ps.DeadlineExtension, ps.ChoiceGroup)
DOCUMENT_HELPERS = (s.Condition, s.Column, s.LegalRef)


def _type_name(tp) -> str:
    """A readable name for a type annotation (Annotated constraints dropped)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Annotated:
        inner = typing.get_args(args[0])
        if set(inner) == set(s.FIELD_TYPES):
            return "field"
        return _type_name(args[0])
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(a) for a in args)
    if origin is typing.Literal:
        return " | ".join(repr(a) for a in args)
    if origin in (list, dict):
        return f"{origin.__name__}[{', '.join(_type_name(a) for a in args)}]"
    if tp is type(None):
        return "None"
    if tp is typing.Any:
        return "any"
    return tp.__name__ if isinstance(tp, type) else str(tp)


def _default(info) -> str:
    if info.is_required():
        return "**required**"
    if info.default_factory is not None:
        return f"`{info.default_factory()!r}`"
    if info.default is PydanticUndefined:
        return ""
    return f"`{info.default!r}`"


def _doc(model: type[BaseModel]) -> str:
    return " ".join((model.__doc__ or "").split())


def _table(model: type[BaseModel], skip: set[str] = frozenset()) -> list[str]:
    rows = ["| key | type | default | meaning |", "|---|---|---|---|"]
    for name, info in model.model_fields.items():
        if name in skip:
            continue
        key = info.alias or name
        if name == "type" and typing.get_origin(info.annotation) is typing.Literal:
            rows.append(f"| `type` | `{typing.get_args(info.annotation)[0]}` | **required** | |")
            continue
        desc = (info.description or "").replace("|", "\\|").replace("\n", " ")
        kind = _type_name(info.annotation).replace("|", "\\|")
        rows.append(f"| `{key}` | `{kind}` | {_default(info)} | {desc} |")
    return rows


def render_reference(registry: Registry) -> str:
    """The generated Markdown (without the markers). Deterministic for a given code and tree."""
    out = ["## Reference (generated)", "",
           "Generated from `forms/schema.py`, `forms/procedure_schema.py` and the shipped "
           "definitions by `python -m forms.docgen`; do not edit by hand.", "",
           "### Document file (`documents/<id>.v<N>.yaml`)", "", _doc(s.DocumentDef), ""]
    out += _table(s.DocumentDef) + ["", "### Attributes of every field", "", _doc(s.FieldBase), ""]
    out += _table(s.FieldBase) + [""]
    base = set(s.FieldBase.model_fields)
    out += ["### Field types", ""]
    for model in s.FIELD_TYPES:
        type_name = typing.get_args(model.model_fields["type"].annotation)[0]
        out += [f"#### `{type_name}`", "", _doc(model), "", f"Value: `{model.value_shape}`", ""]
        own = _table(model, skip=base - {"required"} if model is s.SignatureField else base)
        if len(own) > 2:
            out += own + [""]
    out += ["### Helper objects in documents", ""]
    for model in DOCUMENT_HELPERS:
        out += [f"#### {model.__name__}", "", _doc(model), ""] + _table(model) + [""]
    out += ["### Procedure file (`procedures/<id>.v<N>.yaml`)", ""]
    for model in PROCEDURE_MODELS:
        out += [f"#### {model.__name__}", "", _doc(model), ""] + _table(model) + [""]
    out += ["### Shipped definitions", "", "| document | version | title | articles |",
            "|---|---|---|---|"]
    for (doc_id, version), doc in sorted(registry.documents.items(),
                                         key=lambda kv: (_doc_order(kv[0][0]), kv[0][1])):
        out.append(f"| {doc_id} | {version} | {doc.title} | {'、'.join(doc.articles)} |")
    out += ["", "| procedure | version | title | steps |", "|---|---|---|---|"]
    for (proc_id, version), proc in sorted(registry.procedures.items()):
        steps = "；".join(st.title for st in proc.steps)
        out.append(f"| {proc_id} | {version} | {proc.title} | {steps} |")
    return "\n".join(out) + "\n"


def updated_text(current: str, registry: Registry) -> str:
    """``current`` with the generated section replaced (appended if the markers are missing)."""
    section = f"{BEGIN}\n{render_reference(registry)}{END}"
    if BEGIN in current and END in current:
        head, rest = current.split(BEGIN, 1)
        return head + section + rest.split(END, 1)[1]
    return current.rstrip("\n") + "\n\n" + section + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m forms.docgen", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--path", type=Path, default=DOC_PATH)
    args = parser.parse_args(argv)
    current = args.path.read_text(encoding="utf-8") if args.path.exists() else ""
    wanted = updated_text(current, load_registry())
    if args.check:
        if wanted != current:
            print(f"{args.path} is out of date: run python -m forms.docgen", file=sys.stderr)
            return 1
        return 0
    args.path.write_text(wanted, encoding="utf-8")
    print(f"wrote {args.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
