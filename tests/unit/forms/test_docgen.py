"""docs/forms.md carries the schema reference generated from the code, and it is up to date."""

from forms import docgen
from forms.loader import default_registry


def test_docs_forms_md_is_up_to_date():
    current = docgen.DOC_PATH.read_text(encoding="utf-8")
    assert docgen.updated_text(current, default_registry()) == current, \
        "docs/forms.md is stale: run .venv/bin/python -m forms.docgen"


def test_reference_lists_every_field_type_and_every_shipped_definition():
    text = docgen.render_reference(default_registry())
    for type_name in ("text", "longtext", "date", "datetime", "timespan", "number", "choice",
                      "yesno", "person", "organisation", "party", "officers", "witness", "items",
                      "qa", "legal_basis", "attachments", "approval", "signature"):
        assert f"#### `{type_name}`" in text
    assert "| 2-8 | 1 | 先行登记保存证据通知书 | 第二十四条 |" in text
    assert "| sealing | 1 | 封存 |" in text


def test_check_mode_catches_a_stale_page(tmp_path, capsys):
    page = tmp_path / "forms.md"
    page.write_text("# Forms\n\nhand-written part\n", encoding="utf-8")
    assert docgen.main(["--check", "--path", str(page)]) == 1
    assert docgen.main(["--path", str(page)]) == 0
    assert docgen.main(["--check", "--path", str(page)]) == 0
    text = page.read_text(encoding="utf-8")
    assert text.startswith("# Forms\n\nhand-written part\n") and docgen.BEGIN in text


def test_the_usage_example_in_docs_forms_md_runs():
    """The engine example of docs/forms.md is real code (documentation as tests)."""
    from datetime import datetime

    from field_app.core.deadlines import BEIJING
    from field_app.core.driver import SCENARIO, ManualRecording
    from field_app.core.ports import MemoryWriter

    text = docgen.DOC_PATH.read_text(encoding="utf-8")
    code = text.split("## How the app uses it", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    shown: list[list[str]] = []
    store = MemoryWriter()
    env = {"store": store, "recorder": ManualRecording(True), "party": SCENARIO.party,
           "now": datetime(2026, 11, 20, 17, 0, tzinfo=BEIJING), "show": shown.append}
    exec(compile(code, "docs/forms.md", "exec"), env)
    session = env["session"]
    assert session.current.id == "notice"
    assert shown and "实施时间未填写" in shown[0]  # the draft was incomplete: finalize refused
    assert [e.entry_type for e in store.entries] == ["procedure.start", "approval",
                                                     "procedure.step", "draft"]
