"""Pull from HQ: the roster, form/procedure definitions (new published versions only) and case
assignments. Each is recorded in the evidence store only when it changed, so a sync with nothing new
appends nothing:

- ``sync.roster`` (record ``sync.roster``): the roster as HQ sent it, when its ``version`` changed.
- ``sync.definitions`` (record ``sync.definitions``): the new files (path, sha256, content) and the
  map of everything pulled so far; the files are also written under ``<data dir>/hq-forms`` as a
  complete forms root (packaged definitions + pulled ones + merged ``published.yaml``) that
  ``forms.loader.load_registry(root)`` loads; the app gets it through ``registry_for(store, data_dir)``.
- ``sync.assignment`` (record ``sync.assignment:<id>``): one entry per new case assignment.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from pathlib import Path

from sync.client.storeapi import SyncStore
from sync.client.transport import Transport

ROSTER_RECORD = "sync.roster"
DEFINITIONS_RECORD = "sync.definitions"
ASSIGNMENT_PREFIX = "sync.assignment:"
HQ_FORMS_DIR = "hq-forms"

log = logging.getLogger(__name__)


def record_roster(store: SyncStore, roster: dict) -> bool:
    """Append a ``sync.roster`` entry if this roster differs from the last recorded one."""
    versions = store.record_versions(ROSTER_RECORD)
    if versions and versions[-1].payload.get("version") == roster.get("version"):
        return False
    store.append("sync.roster", {k: roster[k] for k in ("department", "departments", "officers", "version")},
                 record_id=ROSTER_RECORD, supersedes=versions[-1].seq if versions else None)
    return True


def pulled_definitions(store: SyncStore) -> dict[str, str]:
    versions = store.record_versions(DEFINITIONS_RECORD)
    return dict(versions[-1].payload.get("all", {})) if versions else {}


def pull(store: SyncStore, transport: Transport, data_dir: Path) -> dict:
    """Fetch and record what changed. Returns counts {roster, definitions, assignments}."""
    from forms.loader import FORMS_ROOT, read_manifest

    changed = {"roster": 0, "definitions": 0, "assignments": 0}
    changed["roster"] = int(record_roster(store, transport.request("GET", "/v1/roster")))
    packaged = read_manifest(FORMS_ROOT)
    pulled = pulled_definitions(store)
    answer = transport.request("POST", "/v1/definitions",
                               json.dumps({"v": 1, "have": {**packaged, **pulled}}).encode("utf-8"))
    files = [f for f in answer.get("files", []) if _genuine(f)]
    if files:
        pulled.update({f["path"]: f["sha256"] for f in files})
        versions = store.record_versions(DEFINITIONS_RECORD)
        store.append("sync.definitions", {"files": files, "all": pulled, "conflicts": answer.get("conflicts", [])},
                     record_id=DEFINITIONS_RECORD, supersedes=versions[-1].seq if versions else None)
        materialize(store, Path(data_dir) / HQ_FORMS_DIR)
        changed["definitions"] = len(files)
    for item in transport.request("GET", "/v1/assignments").get("assignments", []):
        record = ASSIGNMENT_PREFIX + str(item["id"])
        if not store.record_versions(record):
            store.append("sync.assignment", item, record_id=record)
            changed["assignments"] += 1
    return changed


def _genuine(item: dict) -> bool:
    """A definition file is kept only if its content hashes to its published digest and its path is a
    plain ``documents/`` or ``procedures/`` file name (no directory tricks)."""
    from forms.loader import FILE_NAME, KINDS

    try:
        kind, name = item["path"].split("/")
        return (kind in KINDS and bool(FILE_NAME.match(name))
                and hashlib.sha256(item["content"].encode("utf-8")).hexdigest() == item["sha256"])
    except (KeyError, ValueError, AttributeError):
        return False


def materialize(store: SyncStore, root: Path) -> Path:
    """Write a complete forms root at ``root``: packaged definitions plus every pulled one, with a
    merged manifest. Rebuilt in a temporary directory and swapped in, so a reader never sees half."""
    import yaml

    from forms.loader import FORMS_ROOT, KINDS, MANIFEST, read_manifest

    tmp = root.with_name(root.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    for kind in KINDS:
        shutil.copytree(FORMS_ROOT / kind, tmp / kind)
    manifest = dict(read_manifest(FORMS_ROOT))
    for version in store.record_versions(DEFINITIONS_RECORD):
        for item in version.payload.get("files", []):
            if _genuine(item):
                (tmp / item["path"]).write_text(item["content"], encoding="utf-8", newline="\n")
                manifest[item["path"]] = item["sha256"]
    (tmp / MANIFEST).write_text(yaml.safe_dump(dict(sorted(manifest.items())), allow_unicode=True), encoding="utf-8")
    old = root.with_name(root.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if root.exists():
        root.rename(old)
    tmp.rename(root)
    shutil.rmtree(old, ignore_errors=True)
    return root


def registry_for(store: SyncStore, data_dir: Path):
    """The definitions the app should use: the packaged ones plus every version pulled from HQ.

    Rebuilt from the ``sync.definitions`` entries of the (unlocked) store every time, never trusted
    from the files on disk, so an edited ``hq-forms`` directory cannot change a form. If the pulled set
    does not load (e.g. an HQ file needs a newer app), the packaged registry is returned and the reason
    logged: the officer can always work with what was shipped. Returns ``(registry, warning or "")``.
    """
    from forms.loader import FormsError, default_registry, load_registry

    if not store.record_versions(DEFINITIONS_RECORD):
        return default_registry(), ""
    try:
        return load_registry(materialize(store, Path(data_dir) / HQ_FORMS_DIR)), ""
    except (FormsError, OSError) as exc:
        log.warning("definitions pulled from HQ do not load, using the packaged ones: %s", exc)
        return default_registry(), "局端下发的文书定义无法加载，暂用本机自带的版本（详情见日志）。"
