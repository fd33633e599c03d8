"""The case screen: list and search cases (Chinese, 当事人, 统一社会信用代码, 案号), create a case with
its party, see a case's timeline and its due / overdue deadlines, and start a procedure at a place.

Thin over the store: ``store.search`` / ``store.add_case``; the timeline comes from
field_app.ui.timeline through the ops runner."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QHeaderView,
                               QLabel, QLineEdit, QListWidget, QSplitter, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from field_app.ui.common import TARGET, AppState, big_button, message_label, show_message
from field_app.ui.ops import OpRunner

PROCEDURES = (("inspection", "现场检查"), ("questioning", "调查询问"), ("preservation", "证据登记保存"),
              ("sealing", "查封（封存）"), ("service", "送达"))
STATUS_TEXT = {"overdue": "已逾期", "due": "即将到期", "running": "计时中", "done": "已办结"}


def _edit(parent: QWidget, name: str, placeholder: str = "") -> QLineEdit:
    edit = QLineEdit(parent)
    edit.setObjectName(name)
    edit.setMinimumHeight(TARGET)
    edit.setPlaceholderText(placeholder)
    return edit


class CasesPage(QWidget):
    """Emits ``start_requested(case_row, procedure_id, place, matter)``."""

    start_requested = Signal(object, str, str, str)
    resume_requested = Signal(object, str, str)

    def __init__(self, state: AppState, ops: OpRunner, registry, parent: QWidget | None = None):
        super().__init__(parent)
        self.state, self.ops, self.registry = state, ops, registry
        self.rows: list = []
        self._pending_resume: tuple[str, str] | None = None  # (case_no, session_id) to offer
        outer = QHBoxLayout(self)
        split = QSplitter(Qt.Orientation.Horizontal, self)
        outer.addWidget(split)

        left = QWidget(split)
        lv = QVBoxLayout(left)
        search_row = QHBoxLayout()
        self.search_edit = _edit(left, "caseSearch", "输入案号、当事人名称或统一社会信用代码")
        self.search_edit.returnPressed.connect(self.refresh)
        search_button = big_button("查找", left, name="searchButton")
        search_button.clicked.connect(self.refresh)
        search_row.addWidget(self.search_edit, 1)
        search_row.addWidget(search_button)
        lv.addLayout(search_row)
        self.table = QTableWidget(0, 3, left)
        self.table.setObjectName("caseTable")
        self.table.setHorizontalHeaderLabels(["案号", "当事人", "统一社会信用代码"])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setDefaultSectionSize(TARGET)
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.itemSelectionChanged.connect(self._selected)
        lv.addWidget(self.table, 1)

        create = QGroupBox("新建案件", left)
        form = QFormLayout(create)
        self.assign_combo = QComboBox(create)
        self.assign_combo.setObjectName("assignCombo")
        self.assign_combo.setMinimumHeight(TARGET)
        self.assign_combo.activated.connect(self._fill_from_assignment)
        form.addRow("局端分派", self.assign_combo)
        self.new_fields = {key: _edit(create, f"new_{key}") for key in
                           ("case_no", "party_name", "credit_code", "legal_rep", "address")}
        for key, label in (("case_no", "案号"), ("party_name", "当事人"),
                           ("credit_code", "统一社会信用代码"), ("legal_rep", "法定代表人"),
                           ("address", "地址")):
            form.addRow(label, self.new_fields[key])
        self.create_button = big_button("登记案件", create, name="createCase")
        self.create_button.clicked.connect(self.create_case)
        form.addRow(self.create_button)
        lv.addWidget(create)
        self.message = message_label(left, "caseMessage")
        lv.addWidget(self.message)

        right = QWidget(split)
        rv = QVBoxLayout(right)
        self.case_title = QLabel("请选择案件", right)
        self.case_title.setObjectName("caseTitle")
        self.case_title.setWordWrap(True)
        self.case_title.setStyleSheet("font-size: 15pt; font-weight: bold;")
        rv.addWidget(self.case_title)
        rv.addWidget(QLabel("期限提醒", right))
        self.deadlines = QListWidget(right)
        self.deadlines.setObjectName("deadlineList")
        self.deadlines.setMaximumHeight(110)
        rv.addWidget(self.deadlines)
        rv.addWidget(QLabel("办案记录", right))
        self.timeline = QListWidget(right)
        self.timeline.setObjectName("timeline")
        rv.addWidget(self.timeline, 1)
        resume_row = QHBoxLayout()
        self.open_combo = QComboBox(right)
        self.open_combo.setObjectName("openSessions")
        self.open_combo.setMinimumHeight(TARGET)
        self.resume_button = big_button("继续办理", right, name="resumeButton")
        self.resume_button.clicked.connect(self._resume)
        resume_row.addWidget(QLabel("未完成：", right))
        resume_row.addWidget(self.open_combo, 1)
        resume_row.addWidget(self.resume_button)
        rv.addLayout(resume_row)
        start = QGroupBox("到场执法", right)
        sf = QFormLayout(start)
        self.place_edit = _edit(start, "placeEdit", "例如：长安区建设北大街216号恒泰大厦6层")
        self.matter_edit = _edit(start, "matterEdit", "例如：工资支付情况检查")
        self.procedure_combo = QComboBox(start)
        self.procedure_combo.setObjectName("procedureCombo")
        self.procedure_combo.setMinimumHeight(TARGET)
        for pid, title in PROCEDURES:
            self.procedure_combo.addItem(title, pid)
        sf.addRow("执法地点", self.place_edit)
        sf.addRow("执法事项", self.matter_edit)
        sf.addRow("办理程序", self.procedure_combo)
        self.start_button = big_button("开始办理（开启录像）", start, primary=True, name="startButton")
        self.start_button.setEnabled(False)
        self.start_button.clicked.connect(self._start)
        sf.addRow(self.start_button)
        rv.addWidget(start)
        split.addWidget(left)
        split.addWidget(right)
        split.setSizes([620, 700])

    # -- list ---------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Reload the list: the search result for the text typed, or every case."""
        store = self.state.store
        if store is None or not store.is_unlocked:
            return
        text = self.search_edit.text().strip()
        from field_app.ui.timeline import all_cases

        self._generation = getattr(self, "_generation", 0) + 1
        generation = self._generation

        def show(rows) -> None:
            if generation == self._generation:  # a newer search was started: drop this result
                self._show_rows(rows)

        self.ops.run(lambda: store.search(text) if text else all_cases(store),
                     on_done=show, on_error=lambda m: show_message(self.message, m),
                     label="search cases")
        from field_app.ui.timeline import open_assignments

        self.ops.run(lambda: open_assignments(store), on_done=self._show_assignments,
                     on_error=lambda m: show_message(self.message, m), label="assignments")

    def _show_assignments(self, items: list[dict]) -> None:
        self.assign_combo.clear()
        self.assign_combo.addItem("（无待登记的分派案件）" if not items else f"有 {len(items)} 件待登记，请选择", None)
        for a in items:
            self.assign_combo.addItem(f"{a['case_no']}　{a.get('party_name', '')}", a)
        self.assign_combo.setEnabled(bool(items))

    def _fill_from_assignment(self, index: int) -> None:
        """Copy an HQ assignment into the new-case fields; the officer checks them and taps 登记案件."""
        chosen = self.assign_combo.itemData(index)
        if not chosen:
            return
        for key in ("case_no", "party_name", "credit_code"):
            self.new_fields[key].setText(chosen.get(key, ""))
        note = chosen.get("note", "")
        show_message(self.message, "已填入局端分派的案件信息，请核对后点「登记案件」。" + (f"备注：{note}" if note else ""),
                     ok=True)

    def _show_rows(self, rows: list) -> None:
        self.rows = list(rows)
        self.table.setRowCount(len(self.rows))
        for i, row in enumerate(self.rows):
            for j, text in enumerate((row.case_no, row.party_name, row.credit_code)):
                self.table.setItem(i, j, QTableWidgetItem(text))
        if not self.rows:
            show_message(self.message, "没有找到案件。" if self.search_edit.text().strip()
                         else "还没有案件，请在下面登记。", ok=True)
        else:
            current = self.state.case
            index = next((i for i, r in enumerate(self.rows)
                          if current and r.record_id == current.record_id), 0)
            if self._pending_resume:
                index = next((i for i, r in enumerate(self.rows) if r.case_no == self._pending_resume[0]), index)
            self.table.selectRow(index)

    def offer_resume(self, case_no: str, session_id: str) -> None:
        """After a crash: select the case whose procedure was cut and ask once whether to continue it
        (when its timeline has loaded). Declining leaves it under 未完成 for later."""
        self._pending_resume = (case_no, session_id)
        row = next((i for i, r in enumerate(self.rows) if r.case_no == case_no), None)
        if row is not None:
            if self.state.case is not None and self.state.case.case_no == case_no:
                self.load_timeline()
            else:
                self.table.selectRow(row)

    def _selected(self) -> None:
        index = self.table.currentRow()
        if not 0 <= index < len(self.rows):
            return
        case = self.rows[index]
        self.state.case = case
        self.state.notify()
        self.case_title.setText(f"{case.case_no}　{case.party_name}")
        self.start_button.setEnabled(True)
        if not self.place_edit.text():
            self.place_edit.setText(case.address)
        self.load_timeline()

    def load_timeline(self) -> None:
        case, store, registry = self.state.case, self.state.store, self.registry
        if case is None:
            return
        from field_app.ui.timeline import case_deadlines, case_timeline, open_sessions

        def work():
            items, entries = case_timeline(store, case.case_no)
            return (items, case_deadlines(registry, entries, case.case_no),
                    open_sessions(entries, case.case_no))

        self.ops.run(work, on_done=self._show_timeline,
                     on_error=lambda m: show_message(self.message, m), label="timeline")

    def _show_timeline(self, result) -> None:
        items, deadlines, unfinished = result
        titles = dict(PROCEDURES)
        self.open_combo.clear()
        for o in unfinished:
            self.open_combo.addItem(f"{titles.get(o.title, o.title)}（{o.started}，{o.place}）", o)
        self.resume_button.setEnabled(bool(unfinished))
        self.timeline.clear()
        for item in items:
            self.timeline.addItem(f"{item.at}　{item.label}　{item.detail}".rstrip())
        self.deadlines.clear()
        for d in deadlines:
            self.deadlines.addItem(f"【{STATUS_TEXT.get(d.status, d.status)}】{d.describe()}")
        if not deadlines:
            self.deadlines.addItem("没有正在计算的期限")
        pending, case = self._pending_resume, self.state.case
        if pending and case is not None and case.case_no == pending[0]:
            self._pending_resume = None
            index = next((i for i, o in enumerate(unfinished) if o.session_id == pending[1]), None)
            if index is not None:
                from field_app.ui import common

                self.open_combo.setCurrentIndex(index)
                if common.ASK(self, "继续办理", f"上次在案件 {case.case_no} 办理的{self.open_combo.currentText()}"
                                            "因程序意外退出或断电而中断，录像已恢复并记录了中断。现在从中断处继续办理吗？"):
                    self._resume()

    # -- create -------------------------------------------------------------------------------
    def create_case(self) -> None:
        """Append a ``case`` entry; the store checks the input and refuses a duplicate 案号."""
        store = self.state.store
        values = {k: e.text().strip() for k, e in self.new_fields.items()}
        if not values["case_no"] or not values["party_name"]:
            show_message(self.message, "请填写案号和当事人名称。")
            return
        case_no = values.pop("case_no")
        party = values.pop("party_name")

        def done(entry) -> None:
            for edit in self.new_fields.values():
                edit.clear()
            show_message(self.message, f"已登记案件 {case_no}。", ok=True)
            self.search_edit.setText(case_no)
            self.refresh()

        self.ops.run(lambda: store.add_case(case_no, party, **values), on_done=done,
                     on_error=lambda m: show_message(self.message, m), what="cases",
                     label="add case")

    def _resume(self) -> None:
        chosen = self.open_combo.currentData()
        if chosen is not None:
            self.resume_requested.emit(self.state.case, chosen.session_id, chosen.place)

    def _start(self) -> None:
        case = self.state.case
        place, matter = self.place_edit.text().strip(), self.matter_edit.text().strip()
        if not place or not matter:
            show_message(self.message, "开始办理前请填写执法地点和执法事项。")
            return
        self.start_requested.emit(case, self.procedure_combo.currentData(), place, matter)
