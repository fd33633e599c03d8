"""Load, validate and cross-check every document and procedure definition under forms/.

Layout (relative to the forms package)::

    documents/<id>.v<N>.yaml    one DocumentDef per file
    procedures/<id>.v<N>.yaml   one ProcedureDef per file
    published.yaml              path -> sha256 of every published file

A record names (id, version) and must be readable for as long as it exists, so a published file never
changes and is never removed: ``load_registry`` refuses a tree where a published file's hash differs
from the manifest or a published file is missing. A new version is a new file, added to the manifest
with ``python -m forms.publish``.

YAML is read strictly: only ``true``/``false`` are booleans (``no``, ``yes``, ``on`` and ``off`` stay
strings — a column key ``no`` must not become ``False``), and a key repeated in one mapping is an
error instead of silently keeping the last one.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

import yaml
from pydantic import ValidationError

from forms import schema as s
from forms.procedure_schema import DocRef, ProcedureDef
from forms.values import validate_field

FORMS_ROOT = Path(__file__).resolve().parent
MANIFEST = "published.yaml"
KINDS = ("documents", "procedures")
FILE_NAME = re.compile(r"^(?P<id>[a-z0-9][a-z0-9_-]*)\.v(?P<version>[1-9][0-9]*)\.yaml$")


class FormsError(Exception):
    """The definitions under a forms root are inconsistent. ``problems`` lists each one
    (path: what is wrong), for the person editing the YAML files."""

    def __init__(self, problems: list[str]):
        super().__init__("invalid form definitions:\n  " + "\n  ".join(problems))
        self.problems = problems


# ---------------------------------------------------------------------------------------------
# Strict YAML


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans and no duplicate keys."""


_StrictLoader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"))


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict:
    keys = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in keys:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark)
        keys.add(key)
    return loader.construct_mapping(node, deep=True)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_yaml(path: Path) -> Any:
    """Parse one YAML file with the strict rules above."""
    with path.open(encoding="utf-8") as fh:
        return yaml.load(fh, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass


def file_digest(path: Path) -> str:
    """sha256 of the file with CRLF read as LF, so a Windows checkout (autocrlf) does not look
    like a changed published file."""
    return hashlib.sha256(path.read_bytes().replace(b"\r\n", b"\n")).hexdigest()


# ---------------------------------------------------------------------------------------------
# Registry


@dataclass(frozen=True)
class Registry:
    """Every loaded definition, by (id, version). Read-only."""

    documents: dict[tuple[str, int], s.DocumentDef]
    procedures: dict[tuple[str, int], ProcedureDef]
    unpublished: tuple[str, ...] = field(default=())

    def document(self, doc_id: str, version: int | None = None) -> s.DocumentDef:
        """The given version, or the latest when ``version`` is None. KeyError if absent."""
        return self._get(self.documents, "document", doc_id, version)

    def procedure(self, proc_id: str, version: int | None = None) -> ProcedureDef:
        return self._get(self.procedures, "procedure", proc_id, version)

    def document_for(self, ref: DocRef | dict[str, Any]) -> s.DocumentDef:
        """The definition a record or a step names ({"id", "version"} or a DocRef)."""
        if isinstance(ref, DocRef):
            return self.document(ref.id, ref.version)
        return self.document(ref["id"], int(ref["version"]))

    def latest_documents(self) -> list[s.DocumentDef]:
        return [self.document(i) for i in sorted({i for i, _ in self.documents}, key=_doc_order)]

    def latest_procedures(self) -> list[ProcedureDef]:
        return [self.procedure(i) for i in sorted({i for i, _ in self.procedures})]

    @staticmethod
    def _get(pool: dict, kind: str, ident: str, version: int | None):
        if version is None:
            versions = [v for i, v in pool if i == ident]
            if not versions:
                raise KeyError(f"no {kind} {ident!r}")
            version = max(versions)
        try:
            return pool[(ident, version)]
        except KeyError:
            raise KeyError(f"no {kind} {ident!r} version {version}") from None


def _doc_order(doc_id: str) -> tuple:
    parts = doc_id.split("-")
    return (0, *map(int, parts)) if all(p.isdigit() for p in parts) else (1, doc_id)


def load_registry(root: Path | None = None, *, allow_unpublished: bool = False) -> Registry:
    """Load and check every definition under ``root`` (default: the installed forms package).

    Guarantees on success: every file parses and matches the schema; its name matches its id and
    version; every reference between procedures and documents resolves; every published file is
    present and unchanged. With ``allow_unpublished=False`` (the default, used by the app) a file
    missing from the manifest is an error too. Raises FormsError listing every problem found.
    """
    root = Path(root) if root is not None else FORMS_ROOT
    problems: list[str] = []
    loaded: dict[str, dict[tuple[str, int], Any]] = {"documents": {}, "procedures": {}}
    model = {"documents": s.DocumentDef, "procedures": ProcedureDef}
    for kind in KINDS:
        for path in sorted((root / kind).glob("*.yaml")):
            rel = f"{kind}/{path.name}"
            match = FILE_NAME.match(path.name)
            if not match:
                problems.append(f"{rel}: file name must be <id>.v<version>.yaml")
                continue
            try:
                definition = model[kind].model_validate(load_yaml(path))
            except (yaml.YAMLError, ValidationError) as exc:
                problems.append(f"{rel}: {exc}")
                continue
            if (definition.id, definition.version) != (match["id"], int(match["version"])):
                problems.append(f"{rel}: declares id {definition.id!r} version "
                                f"{definition.version}, which does not match the file name")
                continue
            loaded[kind][(definition.id, definition.version)] = definition
    unpublished = _check_manifest(root, problems, allow_unpublished)
    registry = Registry(loaded["documents"], loaded["procedures"], tuple(unpublished))
    for proc in registry.procedures.values():
        problems.extend(f"procedures/{proc.id}.v{proc.version}.yaml: {p}"
                        for p in _check_procedure(proc, registry))
    if problems:
        raise FormsError(problems)
    return registry


@lru_cache(maxsize=1)
def default_registry() -> Registry:
    """The packaged definitions, loaded once per process (they never change while it runs)."""
    return load_registry()


def read_manifest(root: Path) -> dict[str, str]:
    path = root / MANIFEST
    if not path.exists():
        return {}
    data = load_yaml(path) or {}
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise FormsError([f"{MANIFEST}: must map file paths to sha256 digests"])
    return data


def definition_files(root: Path) -> list[str]:
    return [f"{kind}/{p.name}" for kind in KINDS for p in sorted((root / kind).glob("*.yaml"))]


def _check_manifest(root: Path, problems: list[str], allow_unpublished: bool) -> list[str]:
    manifest = read_manifest(root)
    for rel, digest in manifest.items():
        path = root / rel
        if not path.exists():
            problems.append(f"{rel}: published definition is missing; records may refer to it, "
                            "restore it")
        elif file_digest(path) != digest:
            problems.append(f"{rel}: published definition was changed; a published version never "
                            "changes — restore it and put the change in a new version file")
    unpublished = [rel for rel in definition_files(root) if rel not in manifest]
    if unpublished and not allow_unpublished:
        problems.extend(f"{rel}: not published; run `python -m forms.publish {rel}`"
                        for rel in unpublished)
    return unpublished


def _check_procedure(proc: ProcedureDef, registry: Registry) -> Iterable[str]:
    """Cross-checks that need the documents."""
    for step in proc.steps:
        where = f"step {step.id}"
        if step.document is None:
            continue
        try:
            doc = registry.document_for(step.document)
        except KeyError as exc:
            yield f"{where}: {exc.args[0]}"
            continue
        fields = {f.key: f for f in doc.fields if f.fillable}
        for key, value in step.presets.items():
            if key not in fields:
                yield f"{where}: preset {key!r} is not a field of {doc.id}"
                continue
            for err in validate_field(fields[key], value):
                yield f"{where}: preset {key!r}: {err.message}"
        amount_fields = [proc.deadline(d).amount_field for d in step.starts] + \
                        [e.amount_field for e in step.extends]
        for key in filter(None, amount_fields):
            if not isinstance(fields.get(key), s.NumberField):
                yield f"{where}: amount_field {key!r} is not a number field of {doc.id}"
        gate_ids = {step.records_gate, step.requires_gate} - {None}
        roles = {r.role for g in gate_ids for r in proc.gate(g).roles}
        for f in fields.values():
            if isinstance(f, s.ApprovalField) and f.role not in roles:
                yield (f"{where}: approval field {f.key!r} (role {f.role}) is not filled by any "
                       f"gate of this step")
        if step.records_gate:
            shown = {f.role for f in fields.values() if isinstance(f, s.ApprovalField)}
            missing = {r.role for r in proc.gate(step.records_gate).roles} - shown
            if missing:
                yield f"{where}: {doc.id} has no approval field for role {sorted(missing)[0]}"
