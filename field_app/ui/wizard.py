"""The generic procedure wizard: the step list on the left (done / current / required, the legal
reason as tooltip) and the engine's current step on the right, rendered from the form definitions.

The page is a thin shell over ``ProcedureSession``: enter a step, tick its checklist, film its key
shots (photos from the recording panel), fill its document (autosaved as drafts, debounced), record
approvals or take the emergency path, finalize, finish. Every refusal is the engine's Chinese text.

Adding a page for a new field type: write an editor in fields.py and register it in ``EDITORS``;
the wizard needs no change. Engine calls are quick appends and stay on the GUI thread (the engine
is not thread-safe); printing goes through the ops runner.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel,
                               QLineEdit, QListWidget, QListWidgetItem, QScrollArea, QVBoxLayout,
                               QWidget)

from field_app.ui import common
from field_app.ui.common import TARGET, AppState, big_button, message_label, show_message
from field_app.ui.fields import Editor, ListEditor, editor_for
from forms import schema as fs

log = logging.getLogger(__name__)
AUTOSAVE_MS = 600
STATE_MARKS = {"done": "✔", "current": "▶", "available": "○", "blocked": "✖", "void": "—"}
STATE_COLOURS = {"done": "#1b5e20", "current": "#0d47a1", "available": "#000000",
                 "blocked": "#8a8a8a", "void": "#8a8a8a"}


class WizardPage(QWidget):
    """One procedure session. Emits ``changed`` after every engine action (header refresh),
    ``finished`` when the procedure ends, ``key_shot_requested(label)`` to ask the recording panel
    for a photo (the main window answers with ``photo_for_key_shot``)."""

    changed = Signal()
    finished = Signal()
    request_pdf = Signal(str)    # record id: save a PDF
    request_print = Signal(str)  # record id: print on paper

    def __init__(self, state: AppState, recording_panel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.panel = recording_panel
        self.session = None
        self.editors: dict[str, Editor] = {}
        self.rows: dict[str, tuple[QLabel, QWidget, QLabel]] = {}
        self.touched: set[str] = set()
        self.last_photo: str | None = None
        self.last_record = None
        self.printed: str | None = None
        self.signoff = None
        self._autosave = QTimer(self)
        self._autosave.setSingleShot(True)
        self._autosave.setInterval(AUTOSAVE_MS)
        self._autosave.timeout.connect(self.save_now)
        self.panel.photo_taken.connect(self._photo_taken)

        outer = QHBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self.steps = QListWidget(self)
        self.steps.setObjectName("stepList")
        self.steps.setFixedWidth(270)
        self.steps.setWordWrap(True)
        self.steps.itemActivated.connect(self._step_activated)
        outer.addWidget(self.steps)
        self.scroll = QScrollArea(self)
        self.scroll.setWidgetResizable(True)
        outer.addWidget(self.scroll, 1)
        self.body: QWidget | None = None
        self.message = message_label(None, "wizardMessage")

    # -- building -----------------------------------------------------------------------------
    def attach(self, session) -> None:
        self.session = session
        self.state.procedure_title = session.procedure.title
        self.rebuild()

    def refresh_steps(self) -> None:
        self.steps.clear()
        for view in self.session.steps():
            need = "必办" if view.required else "可选"
            text = f"{STATE_MARKS[view.state]} {view.title}\n    {view.state_label} · {need}"
            if view.gate_status:
                text += f" · {view.gate_status}"
            item = QListWidgetItem(text)
            item.setToolTip(view.tooltip)
            item.setData(Qt.ItemDataRole.UserRole, view.id)
            item.setForeground(QColor(STATE_COLOURS[view.state]))
            self.steps.addItem(item)
            if view.state == "current":
                self.steps.setCurrentItem(item)

    def rebuild(self) -> None:
        """Re-render everything from the engine's state (after each action)."""
        self._autosave.stop()
        self.refresh_steps()
        self.editors, self.rows, self.touched = {}, {}, set()
        body = QWidget()
        box = QVBoxLayout(body)
        self.message = message_label(body, "wizardMessage")
        current = self.session.current
        self.state.step_title = current.title if current else ("已结束" if self.session.finished
                                                               else "选择下一步")
        if self.session.finished:
            self._finished_view(box)
        elif current is None:
            self._choose_view(box)
        else:
            self._step_view(box, current)
        box.addWidget(self.message)
        box.addStretch(1)
        old = self.scroll.takeWidget()
        if old is not None:
            old.deleteLater()
        self.scroll.setWidget(body)
        self.body = body
        self.changed.emit()

    def _title(self, box: QVBoxLayout, text: str, sub: str = "") -> None:
        title = QLabel(text)
        title.setObjectName("stepTitle")
        title.setWordWrap(True)
        title.setStyleSheet("font-size: 17pt; font-weight: bold;")
        box.addWidget(title)
        if sub:
            basis = QLabel(sub)
            basis.setWordWrap(True)
            basis.setStyleSheet("color: #333333;")
            box.addWidget(basis)

    def _finished_view(self, box: QVBoxLayout) -> None:
        self._title(box, f"{self.session.procedure.title}已经结束")
        for d in self.session.deadlines():
            box.addWidget(QLabel(f"期限：{d.describe()}"))
        if self.last_record is not None:
            self._print_row(box)

    def _choose_view(self, box: QVBoxLayout) -> None:
        proc = self.session.procedure
        self._title(box, f"{proc.title}：请选择下一步", proc.summary)
        for view in self.session.steps():
            if view.state != "available":
                continue
            button = big_button(f"办理：{view.title}", name=f"enter_{view.id}",
                                primary=view.required)
            button.setToolTip(view.tooltip)
            button.clicked.connect(lambda _=False, sid=view.id: self.enter(sid))
            box.addWidget(button)
        for gate in proc.gates:
            g = self.session.gate(gate.id)
            if gate.emergency and g.status in ("undecided", "pending"):
                group = QGroupBox(f"{gate.emergency.label}（{gate.emergency.basis}）")
                row = QHBoxLayout(group)
                reason = QLineEdit()
                reason.setObjectName(f"emergencyReason_{gate.id}")
                reason.setMinimumHeight(TARGET)
                reason.setPlaceholderText("情况紧急、需要当场实施的理由")
                button = big_button("选择紧急程序", name=f"emergency_{gate.id}")
                button.clicked.connect(lambda _=False, gid=gate.id, r=reason:
                                       self.choose_emergency(gid, r.text()))
                row.addWidget(reason, 1)
                row.addWidget(button)
                box.addWidget(group)
        missing = self.session.missing()
        if missing:
            box.addWidget(QLabel("结束本程序前还需要：\n" + "\n".join(f"· {m}" for m in missing)))
        finish = big_button("结束本程序", name="finishButton", primary=not missing)
        finish.clicked.connect(self.finish)
        box.addWidget(finish)
        if self.last_record is not None:
            self._print_row(box)
        for d in self.session.due():
            box.addWidget(QLabel(f"期限提醒：{d.describe()}"))

    def _step_view(self, box: QVBoxLayout, step) -> None:
        sub = step.basis + (f"；须全程音像记录（{step.recording.basis}）"
                            if step.recording.mandatory else "")
        self._title(box, step.title, sub)
        for warning in self.session.warnings():
            label = QLabel(warning)
            label.setObjectName("stepWarning")
            label.setWordWrap(True)
            label.setStyleSheet(common.ERROR_STYLE)
            box.addWidget(label)
        run = self.session.state.current
        if step.checklist:
            group = QGroupBox("须确认的事项")
            gv = QVBoxLayout(group)
            for item in step.checklist:
                check = QCheckBox(item.label)
                check.setObjectName(f"check_{item.id}")
                check.setMinimumHeight(TARGET)
                check.setToolTip(item.basis)
                check.setChecked(item.id in run.confirmed)
                check.toggled.connect(lambda on, iid=item.id: self.confirm(iid, on))
                gv.addWidget(check)
            box.addWidget(group)
        shots = self.session.key_shots()
        if shots:
            group = QGroupBox("关键画面（第六十一条）")
            gv = QVBoxLayout(group)
            for shot, done in shots:
                row = QHBoxLayout()
                label = QLabel(("✔ " if done else "○ ") + shot.label)
                label.setWordWrap(True)
                label.setToolTip(shot.basis)
                button = big_button("拍摄", name=f"shot_{shot.id}")
                button.clicked.connect(lambda _=False, s=shot: self.film_key_shot(s.id, s.label))
                row.addWidget(label, 1)
                row.addWidget(button)
                gv.addLayout(row)
            box.addWidget(group)
        if step.records_gate:
            self._approval_group(box, step.records_gate)
        if step.document:
            self._form(box)
        row = QHBoxLayout()
        finalize = big_button("定稿" if step.document else "完成本步骤", primary=True,
                              name="finalizeButton")
        finalize.clicked.connect(self.finalize)
        abandon_reason = QLineEdit()
        abandon_reason.setObjectName("abandonReason")
        abandon_reason.setMinimumHeight(TARGET)
        abandon_reason.setPlaceholderText("放弃本步骤的原因")
        abandon = big_button("放弃本步骤", name="abandonButton")
        abandon.clicked.connect(lambda: self.abandon(abandon_reason.text()))
        row.addWidget(finalize)
        row.addStretch(1)
        row.addWidget(abandon_reason)
        row.addWidget(abandon)
        box.addLayout(row)

    def _approval_group(self, box: QVBoxLayout, gate_id: str) -> None:
        gate = self.session.gate(gate_id)
        group = QGroupBox(f"{gate.title}（{gate.basis}）：{gate.status_label}")
        form = QFormLayout(group)
        decided = {a.role: a for a in gate.decisions}
        for role in self.session.procedure.gate(gate_id).roles:
            a = decided.get(role.role)
            if a is not None and a.decision != "pending":
                form.addRow(role.role, QLabel(f"{a.approver}：{a.decision}（{a.how}）"))
                continue
            row = QHBoxLayout()
            name = QLineEdit()
            name.setObjectName(f"approver_{role.role}")
            name.setMinimumHeight(TARGET)
            name.setPlaceholderText("审批人姓名")
            decision = QComboBox()
            decision.setObjectName(f"decision_{role.role}")
            decision.setMinimumHeight(TARGET)
            for value, text in (("granted", "同意"), ("refused", "不同意"), ("pending", "待批")):
                decision.addItem(text, value)
            how = QComboBox()
            how.setMinimumHeight(TARGET)
            how.addItems(list(fs.APPROVAL_METHODS))
            button = big_button("记录审批", name=f"approve_{role.role}")
            button.clicked.connect(lambda _=False, r=role.role, n=name, d=decision, h=how:
                                   self.record_approval(gate_id, r, n.text(), d.currentData(),
                                                        h.currentText()))
            for w in (name, decision, how, button):
                row.addWidget(w)
            form.addRow(role.role, row)
        box.addWidget(group)

    def _form(self, box: QVBoxLayout) -> None:
        form_view = self.session.form()
        group = QGroupBox(form_view.document.title)
        layout = QFormLayout(group)
        layout.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        layout.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        for fv in form_view.fields:
            editor = editor_for(fv.definition)
            if editor is None:
                continue
            editor.setObjectName(f"field_{fv.key}")
            editor.set_value(fv.value)
            editor.set_readonly(fv.readonly)
            editor.edited.connect(lambda k=fv.key: self._edited(k))
            if isinstance(editor, ListEditor) and hasattr(editor, "add_button"):
                editor.add_button.clicked.connect(lambda _=False, e=editor: self._attach_photo(e))
            label = QLabel(fv.label + ("＊" if fv.required else ""))
            label.setToolTip(fv.definition.basis)
            label.setWordWrap(True)
            label.setMaximumWidth(170)
            cell = QWidget()
            cv = QVBoxLayout(cell)
            cv.setContentsMargins(0, 0, 0, 0)
            cv.addWidget(editor)
            if fv.help:
                hint = QLabel(fv.help)
                hint.setWordWrap(True)
                hint.setStyleSheet("color: #444444;")
                cv.addWidget(hint)
            error = QLabel("")
            error.setObjectName(f"error_{fv.key}")
            error.setWordWrap(True)
            error.setStyleSheet(common.ERROR_STYLE)
            cv.addWidget(error)
            layout.addRow(label, cell)
            self.editors[fv.key] = editor
            self.rows[fv.key] = (label, cell, error)
        box.addWidget(group)
        self._show_form(form_view, all_errors=False)

    def _show_form(self, form_view, all_errors: bool) -> None:
        for fv in form_view.fields:
            if fv.key not in self.rows:
                continue
            label, cell, error = self.rows[fv.key]
            label.setVisible(fv.applies)
            cell.setVisible(fv.applies)
            shown = fv.errors if (all_errors or fv.key in self.touched) else ()
            error.setText("；".join(shown))

    # -- actions ------------------------------------------------------------------------------
    def _run(self, fn, ok_text: str = "", rebuild: bool = True) -> Any:
        """Call the engine; show its refusal in Chinese (never a traceback). Returns the result or
        None when refused."""
        from field_app.core.engine import Refused
        from field_app.ui.ops import user_message

        if rebuild and self._autosave.isActive():
            self.save_now()  # never lose typing that the debounce has not saved yet
        try:
            result = fn()
        except Refused as exc:
            show_message(self.message, "\n".join(exc.messages))
            return None
        except Exception as exc:  # noqa: BLE001 - store errors and the like: logged, told plainly
            log.exception("engine action failed")
            show_message(self.message, user_message(exc))
            return None
        if rebuild:
            self.rebuild()
        if ok_text:
            show_message(self.message, ok_text, ok=True)
        self.state.notify()
        return result if result is not None else True

    def _step_activated(self, item: QListWidgetItem) -> None:
        sid = item.data(Qt.ItemDataRole.UserRole)
        if self.session.current is None and sid in self.session.available():
            self.enter(sid)

    def enter(self, step_id: str) -> None:
        self._run(lambda: self.session.enter(step_id))

    def confirm(self, item_id: str, on: bool) -> None:
        self._run(lambda: self.session.confirm(item_id, on), rebuild=False)
        self.refresh_steps()

    def film_key_shot(self, shot_id: str, label: str) -> None:
        sha = self.panel.take_photo(note=label)
        if not sha:
            show_message(self.message, "没有拍到画面：请先开启录像。")
            return
        self._run(lambda: self.session.record_key_shot(shot_id, [sha]), f"已拍摄：{label}")

    def _photo_taken(self, sha: str) -> None:
        self.last_photo = sha

    def _attach_photo(self, editor: ListEditor) -> None:
        if not self.last_photo:
            show_message(self.message, "还没有拍照：请先在右侧录像区点“拍照”。")
            return
        if self.last_photo in (editor.value() or []):
            show_message(self.message, "这张照片已经附上了。")
            return
        editor.append(self.last_photo)

    def _edited(self, key: str) -> None:
        self.touched.add(key)
        if self.state.store is not None:
            self.state.store.touch()
        self._autosave.start()

    def values(self) -> dict[str, Any]:
        form_view = self.session.form()
        return {k: e.value() for k, e in self.editors.items()
                if not form_view.field(k).readonly}

    def save_now(self, all_errors: bool = False) -> bool:
        """Save the draft now (autosave calls this after typing stops). True if saved."""
        self._autosave.stop()
        if self.session is None or self.session.current is None or not self.editors:
            return True
        values = {k: v for k, v in self.values().items() if v is not None}
        if self._run(lambda: self.session.save_draft(values), rebuild=False) is None:
            return False
        self._show_form(self.session.form(), all_errors)
        return True

    def finalize(self) -> None:
        """Save, then finalize the current step after one confirmation with a summary."""
        step = self.session.current
        if step is None or not self.save_now(all_errors=True):
            return
        refusals = self.session.check_finalize()
        if refusals:
            show_message(self.message, "还不能定稿：\n" + "\n".join(r.message for r in refusals))
            self._show_form(self.session.form(), True) if step.document else None
            return
        what = f"“{step.title}”" + ("定稿后不能修改（只能另行更正）。" if step.document else "将记为已完成。")
        if not common.confirm_once(self, "确认定稿", what):
            return
        def finalize():
            entry = self.session.finalize()
            if step.document:
                self.last_record = entry  # before the rebuild, so the print buttons show
            return entry

        self._run(finalize, f"“{step.title}”已定稿并存入证据库。")

    def abandon(self, reason: str) -> None:
        self._run(lambda: self.session.abandon(reason), "已放弃本步骤。")

    def record_approval(self, gate_id: str, role: str, approver: str, decision: str,
                        how: str) -> None:
        self.save_now()
        self._run(lambda: self.session.record_approval(gate_id, role, approver, decision, how=how),
                  f"已记录{role}的审批意见。")

    def choose_emergency(self, gate_id: str, reason: str) -> None:
        gate = self.session.procedure.gate(gate_id)
        if not reason.strip():
            show_message(self.message, "请说明情况紧急、需要当场实施的理由。")
            return
        deadline = self.session.procedure.deadline(gate.emergency.deadline)
        if not common.confirm_once(self, "选择紧急程序", f"{gate.emergency.label}：选择后不能撤回。\n"
                                   f"须在{deadline.amount}{'小时' if deadline.unit == 'hours' else '日'}"
                                   f"内报告并补办批准手续（{gate.emergency.basis}）。"):
            return
        self._run(lambda: self.session.choose_emergency(gate_id, reason), "已选择紧急程序，期限开始计算。")

    def finish(self) -> None:
        if self._run(self.session.finish, "本程序已结束。") is not None:
            self.finished.emit()

    # -- printing -----------------------------------------------------------------------------
    def _print_row(self, box: QVBoxLayout) -> None:
        row = QHBoxLayout()
        paper = big_button("打印…（最近定稿的文书）", name="paperButton", primary=True)
        paper.clicked.connect(lambda: self.request_print.emit(self.last_record.record_id))
        button = big_button("保存PDF…", name="printButton")
        button.clicked.connect(lambda: self.request_pdf.emit(self.last_record.record_id))
        row.addWidget(paper)
        row.addWidget(button)
        box.addLayout(row)
        if self.printed == self.last_record.record_id:
            from field_app.ui.signoff import SignoffWidget

            self.signoff = SignoffWidget(self.state.store, self.printed,
                                         take_photo=lambda: self.panel.take_photo("签名页"))
            box.addWidget(self.signoff)

    def show_signoff(self, record_id: str) -> None:
        """After a print: show the page-by-page sign-off for it."""
        self.printed = record_id
        self.rebuild()

