"""Every definition loads and validates; broken, changed or unpublished definitions are refused."""

import re
import shutil

import pytest

from forms import publish as publish_mod
from forms.loader import FORMS_ROOT, FormsError, default_registry, load_registry, load_yaml
from forms.schema import SignatureField

GLOSSARY_DOCUMENTS = ["2-2", "2-5", "2-6", "2-7", "2-8", "2-9", "2-19", "2-22"] + \
    [f"3-{i}" for i in range(1, 13)] + ["service-receipt"]
PROCEDURES = ["inspection", "questioning", "preservation", "sealing", "service"]
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def tree(tmp_path):
    """A private copy of the shipped definitions, manifest included."""
    for kind in ("documents", "procedures"):
        shutil.copytree(FORMS_ROOT / kind, tmp_path / kind)
    shutil.copy(FORMS_ROOT / "published.yaml", tmp_path / "published.yaml")
    return tmp_path


def test_every_glossary_document_and_procedure_loads_published():
    registry = load_registry()
    assert registry.unpublished == ()
    assert sorted({i for i, _ in registry.documents}) == sorted(GLOSSARY_DOCUMENTS)
    assert sorted({i for i, _ in registry.procedures}) == sorted(PROCEDURES)  # some in several versions


def test_every_document_is_produced_by_some_procedure_step():
    registry = default_registry()
    produced = {(s.document.id, s.document.version) for p in registry.procedures.values()
                for s in p.steps if s.document}
    assert produced == set(registry.documents)


def test_everything_an_officer_reads_is_chinese():
    registry = default_registry()
    texts = []
    for doc in registry.documents.values():
        texts.append(doc.title)
        texts += [f.label for f in doc.fields]
        texts += [f.role for f in doc.fields if isinstance(f, SignatureField)]
    for proc in registry.procedures.values():
        texts += [proc.title] + [s.title for s in proc.steps] + [d.label for d in proc.deadlines]
        texts += [i.label for s in proc.steps for i in s.checklist + s.key_shots]
        texts += [g.title for g in proc.gates]
    assert [t for t in texts if not CJK.search(t)] == []


def test_yaml_is_strict_about_booleans_and_duplicate_keys(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("a: no\nb: yes\nc: true\nd: off\n", encoding="utf-8")
    assert load_yaml(path) == {"a": "no", "b": "yes", "c": True, "d": "off"}
    path.write_text("a: 1\na: 2\n", encoding="utf-8")
    with pytest.raises(Exception, match="duplicate key 'a'"):
        load_yaml(path)


def test_a_changed_published_definition_is_refused(tree):
    path = tree / "documents/2-8.v1.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("label: 数量或者面积", "label: 数量"),
                    encoding="utf-8")
    with pytest.raises(FormsError) as exc:
        load_registry(tree)
    assert exc.value.problems == [
        "documents/2-8.v1.yaml: published definition was changed; a published version never "
        "changes — restore it and put the change in a new version file"]


def test_crlf_line_endings_do_not_count_as_a_change(tree):
    path = tree / "documents/2-5.v1.yaml"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    assert load_registry(tree).document("2-5").version == 1


def test_a_removed_published_definition_is_refused(tree):
    (tree / "documents/3-12.v1.yaml").unlink()
    with pytest.raises(FormsError) as exc:
        load_registry(tree)
    assert any(p.startswith("documents/3-12.v1.yaml: published definition is missing")
               for p in exc.value.problems)


def test_a_new_version_is_a_new_file_published_beside_the_old(tree):
    old = (tree / "documents/2-19.v1.yaml").read_text(encoding="utf-8")
    new = old.replace("version: 1", "version: 2").replace("label: 违法事实", "label: 违法事实及证据")
    (tree / "documents/2-19.v2.yaml").write_text(new, encoding="utf-8")
    with pytest.raises(FormsError, match="2-19.v2.yaml: not published"):
        load_registry(tree)
    assert publish_mod.publish(["documents/2-19.v2.yaml"], root=tree) == ["documents/2-19.v2.yaml"]
    registry = load_registry(tree)
    assert registry.document("2-19").version == 2
    assert registry.document("2-19").field("facts").label == "违法事实及证据"
    # A record made with v1 still finds its definition.
    assert registry.document_for({"id": "2-19", "version": 1}).field("facts").label == "违法事实"


def test_publish_refuses_to_overwrite_a_published_digest(tree):
    path = tree / "documents/2-6.v1.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    with pytest.raises(FormsError, match="already published with other content"):
        publish_mod.publish(["documents/2-6.v1.yaml"], root=tree)


def test_file_name_must_match_id_and_version(tree):
    src = tree / "documents/2-6.v1.yaml"
    (tree / "documents/2-6.v3.yaml").write_text(src.read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(FormsError, match="which does not match the file name"):
        load_registry(tree, allow_unpublished=True)


def bump(text):
    """The same definition declared as version 2 (document references untouched)."""
    return text.replace("\nversion: 1\n", "\nversion: 2\n", 1)


def _write(tree, rel, text):
    (tree / rel).write_text(text, encoding="utf-8")


def test_a_typo_in_a_key_is_refused_not_ignored(tree):
    _write(tree, "documents/9-1.v1.yaml", """
id: "9-1"
version: 1
title: 测试文书
articles: [第一条]
fields:
  - {key: a, type: text, label: 甲, requird: false}
""")
    with pytest.raises(FormsError, match="requird"):
        load_registry(tree, allow_unpublished=True)


def test_a_condition_must_refer_to_an_earlier_choice(tree):
    _write(tree, "documents/9-1.v1.yaml", """
id: "9-1"
version: 1
title: 测试文书
articles: [第一条]
fields:
  - {key: a, type: text, label: 甲, when: {field: b, equals: 是}}
  - {key: b, type: choice, label: 乙, options: [是, 否]}
""")
    with pytest.raises(FormsError, match="not an earlier field"):
        load_registry(tree, allow_unpublished=True)


def test_procedure_references_are_checked_against_documents(tree):
    proc = (tree / "procedures/service.v1.yaml").read_text(encoding="utf-8")
    _write(tree, "procedures/service.v2.yaml",
           bump(proc).replace("{mode: 公告送达}", "{mode: 电子送达}")
           .replace("{id: service-receipt, version: 1}\n    presets: {mode: 邮寄送达}",
                    "{id: service-receipt, version: 7}\n    presets: {mode: 邮寄送达}"))
    with pytest.raises(FormsError) as exc:
        load_registry(tree, allow_unpublished=True)
    problems = "\n".join(exc.value.problems)
    assert "step postal: no document 'service-receipt' version 7" in problems
    assert "step public_notice: preset 'mode': 送达方式的选项“电子送达”无效" in problems


def test_steps_waiting_for_each_other_are_refused(tree):
    proc = (tree / "procedures/questioning.v1.yaml").read_text(encoding="utf-8")
    _write(tree, "procedures/questioning.v2.yaml",
           bump(proc).replace("    until: [opening]",
                                                              "    after: [transcript]")
           .replace("    recording: {mandatory: true, basis: 第六条、第二十三条}\n  - id: transcript",
                    "    recording: {mandatory: true, basis: 第六条、第二十三条}\n    after: [notice]\n"
                    "  - id: transcript"))
    with pytest.raises(FormsError, match="steps wait for each other"):
        load_registry(tree, allow_unpublished=True)


def test_publish_check_command_reports_success(capsys):
    assert publish_mod.main(["--check"]) == 0
    assert "all definitions are published and unchanged" in capsys.readouterr().out
