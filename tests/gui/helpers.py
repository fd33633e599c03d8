"""Driving the main window like an officer: unlock, open a case, start a procedure."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton, QWidget

from tests.harness.qt_typing import type_text
from tests.unit.store.conftest import HENGTAI, LIU, WANG


def button(root: QWidget, name: str) -> QPushButton:
    found = root.findChild(QPushButton, name)
    assert found is not None, f"no button {name}"
    return found


def click(qtbot, root: QWidget, name: str) -> None:
    b = button(root, name)
    assert b.isEnabled(), f"button {name} is disabled"
    qtbot.mouseClick(b, Qt.MouseButton.LeftButton)


def unlock(qtbot, win, officers=(WANG, LIU)) -> None:
    page = win.unlock_page
    for i, officer in enumerate(officers):
        cert, password, _, status = page.slots[i]
        cert.setCurrentText(officer[1])
        qtbot.keyClicks(password, officer[3])
        click(qtbot, page, f"unlockButton{i}")
        qtbot.waitUntil(lambda: officer[0] in status.text(), timeout=10000)


def open_cases(qtbot, win) -> None:
    click(qtbot, win.unlock_page, "proceedButton")
    qtbot.waitUntil(lambda: win.cases_page.table.rowCount() > 0, timeout=10000)


def start(qtbot, win, procedure_id: str, place: str = "恒泰大厦6层项目部",
          matter: str = "工资支付情况检查") -> None:
    page = win.cases_page
    qtbot.waitUntil(lambda: win.state.case is not None and
                    win.state.case.case_no == HENGTAI["case_no"], timeout=10000)
    page.place_edit.clear()
    type_text(page.place_edit, place)
    page.matter_edit.clear()
    type_text(page.matter_edit, matter)
    page.procedure_combo.setCurrentIndex(page.procedure_combo.findData(procedure_id))
    click(qtbot, page, "startButton")


def use_synthetic(win) -> None:
    from tests.gui.conftest import small_settings, synthetic_sources

    win._work_page()
    win.panel.sources = synthetic_sources
    win.panel.settings = small_settings


def confirm_notice(qtbot, win) -> None:
    if not win.panel.session.notice_confirmed:
        click(qtbot, win.panel, "noticeButton")
        qtbot.waitUntil(lambda: win.panel.session.notice_confirmed, timeout=5000)


def new_photo(qtbot, win) -> str:
    """Take a photo with the recording panel; waits for a new preview frame so photos differ."""
    seen = win.panel.frames_shown
    qtbot.waitUntil(lambda: win.panel.frames_shown > seen, timeout=10000)
    before = win.wizard.last_photo
    click(qtbot, win.panel, "photoButton")
    qtbot.waitUntil(lambda: win.wizard.last_photo not in (None, before), timeout=5000)
    return win.wizard.last_photo


def fill_form(qtbot, win, skip: tuple[str, ...] = ()) -> None:
    """Fill every empty applicable field of the current document through its editor, with the
    scenario values of the headless driver (SCENARIOS.md); attachments with real photos taken by
    the recording panel. Fields in ``skip`` stay empty."""
    from datetime import datetime

    from field_app.core.deadlines import BEIJING
    from field_app.core.driver import SCENARIO, sample_values
    from field_app.ui.fields import ListEditor
    from forms import schema as fs

    w = win.wizard
    form = w.session.form()
    for f in form.fields:  # officers' phones are typed into the officers table
        if isinstance(f.definition, fs.OfficersField) and f.key in w.editors and not f.readonly:
            table = w.editors[f.key].table
            for r in range(table.rowCount()):
                if not table.item(r, 2).text():
                    table.item(r, 2).setText(f"0311-860010{31 + r}")
    fixed = {k: v for k, v in form.values.items() if v not in (None, "", [], {})}
    values = sample_values(form.document, fixed, SCENARIO, datetime.now(BEIJING))
    for key, value in values.items():
        editor = w.editors.get(key)
        if editor is None or key in skip or form.field(key).readonly:
            continue
        if isinstance(form.field(key).definition, fs.AttachmentsField):
            for _ in value:
                new_photo(qtbot, win)
                qtbot.mouseClick(editor.add_button, Qt.MouseButton.LeftButton)
            continue
        if isinstance(editor, ListEditor):
            continue
        editor.set_value(value)
        editor.edited.emit()
    assert w.save_now()


def do_step(qtbot, win, step_id: str, *, approvals: str | None = None,
            skip: tuple[str, ...] = ()) -> None:
    """Enter a step through its button, tick its checklist, film its key shots, record the
    approvals of its gate (``approvals``: granted / refused), fill its form, finalize."""
    from PySide6.QtWidgets import QCheckBox, QComboBox, QLineEdit

    w = win.wizard
    click(qtbot, w.body, f"enter_{step_id}")
    assert w.session.current is not None and w.session.current.id == step_id, w.message.text()
    step = w.session.current
    for item in step.checklist:
        w.body.findChild(QCheckBox, f"check_{item.id}").setChecked(True)
    for shot in step.key_shots:
        seen = win.panel.frames_shown
        qtbot.waitUntil(lambda: win.panel.frames_shown > seen, timeout=10000)
        click(qtbot, w.body, f"shot_{shot.id}")
    if step.document:
        fill_form(qtbot, win, skip)
    if step.records_gate and approvals:
        for role in w.session.procedure.gate(step.records_gate).roles:
            name = w.body.findChild(QLineEdit, f"approver_{role.role}")
            if name is None:
                continue
            type_text(name, "赵志强" if "机构" in role.role else "孙丽")
            combo = w.body.findChild(QComboBox, f"decision_{role.role}")
            combo.setCurrentIndex(combo.findData("refused" if approvals == "refused" and
                                                 role.decides else "granted"))
            click(qtbot, w.body, f"approve_{role.role}")
    click(qtbot, w.body, "finalizeButton")


def fill_headless(win) -> None:
    """fill_form without qtbot (for the screenshot script): scenario values, no attachments."""
    from datetime import datetime

    from field_app.core.deadlines import BEIJING
    from field_app.core.driver import SCENARIO, sample_values
    from field_app.ui.fields import ListEditor
    from forms import schema as fs

    w = win.wizard
    form = w.session.form()
    for f in form.fields:
        if isinstance(f.definition, fs.OfficersField) and f.key in w.editors and not f.readonly:
            table = w.editors[f.key].table
            for r in range(table.rowCount()):
                if not table.item(r, 2).text():
                    table.item(r, 2).setText(f"0311-860010{31 + r}")
    fixed = {k: v for k, v in form.values.items() if v not in (None, "", [], {})}
    for key, value in sample_values(form.document, fixed, SCENARIO, datetime.now(BEIJING)).items():
        editor = w.editors.get(key)
        if editor is None or isinstance(editor, ListEditor) or form.field(key).readonly:
            continue
        editor.set_value(value)
        editor.edited.emit()
    w.save_now()
