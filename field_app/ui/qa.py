"""The 问/答 transcript editor: fast keyboard entry of question/answer turns.

Type the question, Enter, type the answer, Enter: the turn is added and the cursor is back in the
question box. Select a turn to load it back for correction (保存修改) or delete it. Common opening
questions can be inserted with one tap. ``changed`` fires after every change of the turns.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QLabel, QLineEdit, QListWidget, QVBoxLayout, QWidget)

from field_app.ui.common import TARGET, big_button

COMMON_QUESTIONS = (
    "我们是长安区人力资源和社会保障局的执法人员，这是我们的执法证件，你是否看清楚？",
    "你有申请执法人员回避的权利，你是否申请回避？",
    "你应当如实回答询问，并协助调查，不得阻挠，你是否听清楚？",
    "以上笔录是否属实？",
)


class QAEditor(QWidget):
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._turns: list[dict[str, str]] = []
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        self.list = QListWidget(self)
        self.list.setObjectName("qaTurns")
        self.list.setMinimumHeight(TARGET * 5)
        self.list.setWordWrap(True)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.currentRowChanged.connect(self._load)
        box.addWidget(self.list, 1)
        qrow, arow = QHBoxLayout(), QHBoxLayout()
        self.question = QLineEdit(self)
        self.question.setObjectName("qaQuestion")
        self.answer = QLineEdit(self)
        self.answer.setObjectName("qaAnswer")
        for row, label, edit in ((qrow, "问：", self.question), (arow, "答：", self.answer)):
            edit.setMinimumHeight(TARGET)
            tag = QLabel(label, self)
            tag.setStyleSheet("font-weight: bold;")
            row.addWidget(tag)
            row.addWidget(edit, 1)
            box.addLayout(row)
        self.question.setPlaceholderText("输入问题，按回车转到回答")
        self.answer.setPlaceholderText("输入回答，按回车记下这一问一答")
        self.question.returnPressed.connect(self.answer.setFocus)
        self.answer.returnPressed.connect(self.commit)
        buttons = QHBoxLayout()
        self.add_button = big_button("记下这一问一答", self, name="qaAdd")
        self.add_button.clicked.connect(self.commit)
        delete = big_button("删除所选", self, name="qaDelete")
        delete.clicked.connect(self.delete_selected)
        buttons.addWidget(self.add_button)
        buttons.addWidget(delete)
        self.common = QComboBox(self)
        self.common.setObjectName("qaCommon")
        self.common.setMinimumHeight(TARGET)
        self.common.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.common.setMinimumContentsLength(6)
        self.common.addItem("常用问题…", "")
        for text in COMMON_QUESTIONS:
            self.common.addItem(text, text)
        self.common.activated.connect(self._common_chosen)
        buttons.addWidget(self.common, 1)
        box.addLayout(buttons)
        self._editing: int | None = None

    def _common_chosen(self, index: int) -> None:
        text = self.common.itemData(index)
        if text:
            self.question.setText(text)
            self.answer.setFocus()
        self.common.setCurrentIndex(0)

    def turns(self) -> list[dict[str, str]]:
        return [dict(t) for t in self._turns]

    def set_turns(self, turns: list[dict]) -> None:
        new = [{"q": str(t.get("q", "")), "a": str(t.get("a", ""))} for t in turns]
        if new != self._turns:
            self._turns = new
            self._render()

    def commit(self) -> None:
        """Add the typed turn (or save the correction of the selected one)."""
        q, a = self.question.text().strip(), self.answer.text().strip()
        if not q:
            self.question.setFocus()
            return
        turn = {"q": q, "a": a}
        if self._editing is not None and 0 <= self._editing < len(self._turns):
            self._turns[self._editing] = turn
        else:
            self._turns.append(turn)
        self._editing = None
        self.question.clear()
        self.answer.clear()
        self._render()
        self.question.setFocus()
        self.changed.emit()

    def delete_selected(self) -> None:
        row = self.list.currentRow()
        if 0 <= row < len(self._turns):
            del self._turns[row]
            self._editing = None
            self._render()
            self.changed.emit()

    def _load(self, row: int) -> None:
        if 0 <= row < len(self._turns):
            self._editing = row
            self.question.setText(self._turns[row]["q"])
            self.answer.setText(self._turns[row]["a"])
            self.add_button.setText("保存修改")

    def _render(self) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        for i, t in enumerate(self._turns, 1):
            self.list.addItem(f"{i}. 问：{t['q']}\n    答：{t['a']}")
        self.list.blockSignals(False)
        self.add_button.setText("记下这一问一答")
