"""Definitions pulled from HQ reach the app: HQ publishes a new version of a document, the laptop's
sync records it, and ``registry_for`` gives the app the packaged definitions plus the new version —
rebuilt from the encrypted log, never from files an intruder could edit on disk."""

from __future__ import annotations

import shutil

from forms.loader import FORMS_ROOT
from forms.publish import publish
from sync.client import sync_once
from sync.client.pull import DEFINITIONS_RECORD, registry_for
from tests.sync.conftest import enrol_store


def _hq_forms_with_new_2_5(root):
    shutil.copytree(FORMS_ROOT, root, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    text = (root / "documents" / "2-5.v1.yaml").read_text(encoding="utf-8")
    new = text.replace("version: 1\n", "version: 2\n", 1).replace("title: 检查（勘验）笔录", "title: 检查（勘验）笔录（2027版）", 1)
    (root / "documents" / "2-5.v2.yaml").write_text(new, encoding="utf-8", newline="\n")
    assert publish(["documents/2-5.v2.yaml"], root) == ["documents/2-5.v2.yaml"]
    return root


def test_a_new_published_version_is_pulled_once_and_used_by_the_app(store, data_dir, hq_factory, tmp_path):
    forms_dir = _hq_forms_with_new_2_5(tmp_path / "hq-forms-src")
    hq = hq_factory(extra=("--forms-dir", str(forms_dir)))
    enrol_store(store, data_dir, hq)
    packaged, _ = registry_for(store, data_dir)
    assert ("2-5", 2) not in packaged.documents

    assert sync_once(store, data_dir).ok
    pulled = store.record_versions(DEFINITIONS_RECORD)
    assert [f["path"] for f in pulled[-1].payload["files"]] == ["documents/2-5.v2.yaml"]
    registry, warning = registry_for(store, data_dir)
    assert warning == ""
    assert registry.documents[("2-5", 2)].title == "检查（勘验）笔录（2027版）"
    assert registry.documents[("2-5", 1)].title == "检查（勘验）笔录"  # old records keep their version

    assert sync_once(store, data_dir).ok
    assert len(store.record_versions(DEFINITIONS_RECORD)) == 1  # nothing new: nothing recorded again

    # someone edits the materialised copy on disk: the app still gets what the log holds
    on_disk = data_dir / "hq-forms" / "documents" / "2-5.v2.yaml"
    on_disk.write_text(on_disk.read_text(encoding="utf-8").replace("（2027版）", "（被改）"), encoding="utf-8")
    registry, _ = registry_for(store, data_dir)
    assert registry.documents[("2-5", 2)].title == "检查（勘验）笔录（2027版）"
