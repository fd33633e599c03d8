"""One editor widget per form field type (forms/schema.py), used by the generic wizard page.

Every editor has ``value()`` (the value in the shape the schema documents, or None when empty),
``set_value(v)`` and the ``edited`` signal. Editors never validate: the engine's ``form()`` does and
the page shows its Chinese errors under each field. ``editor_for(field_def)`` picks the editor.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QButtonGroup, QCheckBox, QComboBox, QFormLayout, QGridLayout,
                               QHBoxLayout, QHeaderView, QLabel, QLineEdit, QPlainTextEdit,
                               QRadioButton, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from field_app.core.deadlines import BEIJING
from field_app.ui.common import TARGET, big_button
from field_app.ui.qa import QAEditor
from forms import schema as fs


def _line(parent: QWidget, placeholder: str = "") -> QLineEdit:
    edit = QLineEdit(parent)
    edit.setMinimumHeight(TARGET)
    edit.setPlaceholderText(placeholder)
    return edit


def _now_text() -> str:
    return datetime.now(BEIJING).strftime("%Y-%m-%d %H:%M")


class Editor(QWidget):
    edited = Signal()

    def __init__(self, definition: fs.FieldBase, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.definition = definition

    def value(self) -> Any:
        raise NotImplementedError

    def set_value(self, value: Any) -> None:
        raise NotImplementedError

    def set_readonly(self, readonly: bool) -> None:
        self.setEnabled(not readonly)


class TextEditor(Editor):
    def __init__(self, definition, parent=None):
        super().__init__(definition, parent)
        box = QHBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        self.edit = _line(self, self._placeholder())
        self.edit.textEdited.connect(lambda _: self.edited.emit())
        box.addWidget(self.edit, 1)
        if isinstance(definition, (fs.DateTimeField, fs.DateField)):
            now = big_button("现在", self)
            now.clicked.connect(self._now)
            box.addWidget(now)

    def _placeholder(self) -> str:
        if isinstance(self.definition, fs.DateField):
            return "年-月-日，例如 2026-11-20"
        if isinstance(self.definition, fs.DateTimeField):
            return "年-月-日 时:分"
        if isinstance(self.definition, fs.NumberField):
            return f"数字{('（' + self.definition.unit + '）') if self.definition.unit else ''}"
        return ""

    def _now(self) -> None:
        text = _now_text()
        self.edit.setText(text[:10] if isinstance(self.definition, fs.DateField) else text)
        self.edited.emit()

    def value(self):
        text = self.edit.text().strip()
        if isinstance(self.definition, fs.NumberField) and text:
            try:
                number = float(text)
                return int(number) if number.is_integer() else number
            except ValueError:
                return text  # the engine reports it
        return text or None

    def set_value(self, value):
        if isinstance(value, str) and isinstance(self.definition, fs.DateTimeField):
            value = value[:16].replace("T", " ")
        self.edit.setText("" if value is None else str(value))


class LongTextEditor(Editor):
    def __init__(self, definition, parent=None):
        super().__init__(definition, parent)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        self.edit = QPlainTextEdit(self)
        self.edit.setTabChangesFocus(True)
        self.edit.setMinimumHeight(TARGET * 2)
        self.edit.textChanged.connect(self.edited.emit)
        box.addWidget(self.edit)

    def value(self):
        return self.edit.toPlainText().strip() or None

    def set_value(self, value):
        if (value or "") != self.edit.toPlainText():
            self.edit.blockSignals(True)
            self.edit.setPlainText(value or "")
            self.edit.blockSignals(False)


class TimeSpanEditor(Editor):
    def __init__(self, definition, parent=None):
        super().__init__(definition, parent)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        self.start, self.end = _line(self, "年-月-日 时:分"), _line(self, "年-月-日 时:分")
        for row, (label, edit) in enumerate(((definition.start_label, self.start),
                                             (definition.end_label, self.end))):
            now = big_button("现在", self)
            now.clicked.connect(lambda _=False, e=edit: (e.setText(_now_text()), self.edited.emit()))
            edit.textEdited.connect(lambda _: self.edited.emit())
            grid.addWidget(QLabel(label, self), row, 0)
            grid.addWidget(edit, row, 1)
            grid.addWidget(now, row, 2)

    def value(self):
        start, end = self.start.text().strip(), self.end.text().strip()
        return {"start": start, "end": end} if start or end else None

    def set_value(self, value):
        value = value or {}
        for key, edit in (("start", self.start), ("end", self.end)):
            edit.setText(str(value.get(key) or "")[:16].replace("T", " "))


class ChoiceEditor(Editor):
    def __init__(self, definition, parent=None):
        super().__init__(definition, parent)
        box = QHBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        self.checks: list[QCheckBox] = []
        self.combo: QComboBox | None = None
        if definition.multiple:
            for option in definition.options:
                check = QCheckBox(option, self)
                check.setMinimumHeight(TARGET)
                check.toggled.connect(lambda _: self.edited.emit())
                self.checks.append(check)
                box.addWidget(check)
        else:
            self.combo = QComboBox(self)
            self.combo.setMinimumHeight(TARGET)
            self.combo.addItem("（请选择）", None)
            for option in definition.options:
                self.combo.addItem(option, option)
            self.combo.activated.connect(lambda _: self.edited.emit())
            box.addWidget(self.combo, 1)

    def value(self):
        if self.combo is not None:
            return self.combo.currentData()
        return [c.text() for c in self.checks if c.isChecked()] or None

    def set_value(self, value):
        if self.combo is not None:
            index = self.combo.findData(value) if value else 0
            self.combo.setCurrentIndex(max(index, 0))
        else:
            for c in self.checks:
                c.setChecked(c.text() in (value or []))


class YesNoEditor(Editor):
    def __init__(self, definition, parent=None):
        super().__init__(definition, parent)
        box = QHBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        self.yes, self.no = QRadioButton("是", self), QRadioButton("否", self)
        self.group = QButtonGroup(self)
        for button in (self.yes, self.no):
            button.setMinimumHeight(TARGET)
            self.group.addButton(button)
            button.toggled.connect(lambda _: self.edited.emit())
            box.addWidget(button)
        self.note = _line(self, definition.note_label)
        self.note.textEdited.connect(lambda _: self.edited.emit())
        box.addWidget(self.note, 1)

    def value(self):
        if not (self.yes.isChecked() or self.no.isChecked()):
            return None
        return {"answer": self.yes.isChecked(), "note": self.note.text().strip()}

    def set_value(self, value):
        value = value or {}
        answer = value.get("answer")
        self.group.setExclusive(answer is not None)
        self.yes.setChecked(answer is True)
        self.no.setChecked(answer is False)
        self.group.setExclusive(True)
        self.note.setText(str(value.get("note") or ""))


class PartsEditor(Editor):
    """Person, witness, organisation and party: one line per part."""

    def __init__(self, definition, parent=None):
        super().__init__(definition, parent)
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.kind: QComboBox | None = None
        if isinstance(definition, fs.PartyField):
            self.kind = QComboBox(self)
            self.kind.setMinimumHeight(TARGET)
            for kind in definition.kinds:
                self.kind.addItem({"organisation": "单位", "person": "个人"}[kind], kind)
            self.kind.activated.connect(lambda _: (self._show_parts(), self.edited.emit()))
            form.addRow("当事人类别", self.kind)
            parts = list(dict.fromkeys(fs.ORGANISATION_PARTS + fs.PERSON_PARTS))
        else:
            parts = list(definition.parts)
        self.edits: dict[str, QLineEdit] = {}
        self.rows: dict[str, QLabel] = {}
        org = isinstance(definition, fs.OrganisationField)
        for part in parts:
            label = (fs.ORG_PART_LABELS if org else fs.PART_LABELS).get(part, part)
            edit = _line(self)
            edit.setObjectName(f"{definition.key}.{part}")
            edit.textEdited.connect(lambda _: self.edited.emit())
            self.edits[part] = edit
            self.rows[part] = QLabel(label, self)
            form.addRow(self.rows[part], edit)
        self._show_parts()

    def _kind_parts(self) -> tuple[str, ...]:
        kind = self.kind.currentData() if self.kind else None
        if kind == "organisation":
            return fs.ORGANISATION_PARTS
        if kind == "person":
            return fs.PERSON_PARTS
        return tuple(self.edits)

    def _show_parts(self) -> None:
        shown = self._kind_parts()
        org = self.kind is not None and self.kind.currentData() == "organisation"
        for part, edit in self.edits.items():
            edit.setVisible(part in shown)
            self.rows[part].setVisible(part in shown)
            labels = fs.ORG_PART_LABELS if org else fs.PART_LABELS
            self.rows[part].setText(labels.get(part, part))

    def value(self):
        out = {p: e.text().strip() for p, e in self.edits.items()
               if p in self._kind_parts() and e.text().strip()}
        if not out:
            return None
        if self.kind is not None:
            out["kind"] = self.kind.currentData()
        return out

    def set_value(self, value):
        value = value or {}
        if self.kind is not None and value.get("kind"):
            self.kind.setCurrentIndex(max(self.kind.findData(value["kind"]), 0))
        for part, edit in self.edits.items():
            edit.setText(str(value.get(part) or ""))
        self._show_parts()


class TableEditor(Editor):
    """Item tables, and legal basis (columns 法律 / 条款) with one-tap suggestions."""

    def __init__(self, definition, parent=None):
        super().__init__(definition, parent)
        if isinstance(definition, fs.LegalBasisField):
            self.columns = [("law", "法律法规", "text"), ("article", "条款", "text")]
        elif isinstance(definition, fs.OfficersField):
            self.columns = [("name", "姓名", "text"), ("cert_no", "执法证号", "text"),
                            ("phone", "联系电话", "text")]
        else:
            self.columns = [(c.key, c.label, c.type) for c in definition.columns]
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        self.table = QTableWidget(0, len(self.columns), self)
        self.table.setHorizontalHeaderLabels([c[1] for c in self.columns])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setDefaultSectionSize(TARGET)
        self.table.setMinimumHeight(TARGET * 3)
        self.table.itemChanged.connect(lambda _: self.edited.emit())
        box.addWidget(self.table)
        row = QHBoxLayout()
        add, remove = big_button("添加一行", self), big_button("删除所选行", self)
        add.clicked.connect(lambda: self.add_row({}))
        remove.clicked.connect(self._remove)
        row.addWidget(add)
        row.addWidget(remove)
        for ref in getattr(definition, "suggestions", []) or []:
            suggest = big_button(f"{ref.law}{ref.article}", self)
            suggest.clicked.connect(lambda _=False, r=ref: self.add_row(r.model_dump()))
            row.addWidget(suggest)
        row.addStretch(1)
        box.addLayout(row)

    def add_row(self, values: dict) -> None:
        self.table.blockSignals(True)
        r = self.table.rowCount()
        self.table.insertRow(r)
        for c, (key, _, _) in enumerate(self.columns):
            self.table.setItem(r, c, QTableWidgetItem(str(values.get(key, ""))))
        self.table.blockSignals(False)
        self.edited.emit()

    def _remove(self) -> None:
        if self.table.currentRow() >= 0:
            self.table.removeRow(self.table.currentRow())
            self.edited.emit()

    def value(self):
        rows = []
        for r in range(self.table.rowCount()):
            row = {}
            for c, (key, _, kind) in enumerate(self.columns):
                item = self.table.item(r, c)
                text = item.text().strip() if item else ""
                if kind in ("number", "integer") and text:
                    try:
                        number = float(text)
                        text = int(number) if kind == "integer" or number.is_integer() else number
                    except ValueError:
                        pass
                if text != "":
                    row[key] = text
            if row:
                rows.append(row)
        return rows or None

    def set_value(self, value):
        self.table.blockSignals(True)
        self.table.setRowCount(0)
        self.table.blockSignals(False)
        for row in value or []:
            self.add_row(row)


class QAFieldEditor(Editor):
    def __init__(self, definition, parent=None):
        super().__init__(definition, parent)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        self.qa = QAEditor(self)
        self.qa.changed.connect(self.edited.emit)
        box.addWidget(self.qa)

    def value(self):
        return self.qa.turns() or None

    def set_value(self, value):
        self.qa.set_turns(value or [])


class ListEditor(Editor):
    """Officers (prefilled from the unlocked pair), attachments (photos taken with the recorder)
    and approvals (filled by the engine): shown, not typed."""

    def __init__(self, definition, parent=None):
        super().__init__(definition, parent)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel("", self)
        self.label.setWordWrap(True)
        box.addWidget(self.label)
        self._value: Any = None
        if isinstance(definition, fs.AttachmentsField):
            self.add_button = big_button("加入最近拍摄的照片", self)
            box.addWidget(self.add_button)

    def value(self):
        return self._value

    def set_value(self, value):
        self._value = value
        d = self.definition
        if isinstance(d, fs.OfficersField):
            text = "、".join(f"{o.get('name')}（执法证号{o.get('cert_no')}）" for o in value or [])
        elif isinstance(d, fs.AttachmentsField):
            text = f"已附{len(value or [])}张" + ("" if not value else
                                                  "：" + "，".join(v[:8] for v in value))
        elif isinstance(d, fs.ApprovalField):
            text = (f"{value.get('approver')}：{value.get('decision')}（{value.get('how')}，"
                    f"{str(value.get('at'))[:16].replace('T', ' ')}）") if value else "尚未审批"
        else:
            text = str(value or "")
        self.label.setText(text or "（无）")

    def append(self, item: str) -> None:
        self.set_value(list(self._value or []) + [item])
        self.edited.emit()

    def set_readonly(self, readonly: bool) -> None:
        if hasattr(self, "add_button"):
            self.add_button.setEnabled(not readonly)


EDITORS: dict[type, type[Editor]] = {
    fs.TextField: TextEditor, fs.NumberField: TextEditor, fs.DateField: TextEditor,
    fs.DateTimeField: TextEditor, fs.LongTextField: LongTextEditor,
    fs.TimeSpanField: TimeSpanEditor, fs.ChoiceField: ChoiceEditor, fs.YesNoField: YesNoEditor,
    fs.PersonField: PartsEditor, fs.WitnessField: PartsEditor, fs.OrganisationField: PartsEditor,
    fs.PartyField: PartsEditor, fs.ItemsField: TableEditor, fs.LegalBasisField: TableEditor,
    fs.QAField: QAFieldEditor, fs.OfficersField: TableEditor, fs.AttachmentsField: ListEditor,
    fs.ApprovalField: ListEditor,
}


def editor_for(definition: fs.FieldBase, parent: QWidget | None = None) -> Editor | None:
    """The editor for a fillable field, or None (signature slots are not part of the form)."""
    cls = EDITORS.get(type(definition))
    return cls(definition, parent) if cls else None
