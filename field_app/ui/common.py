"""Small shared pieces of the screens: large buttons, message helpers, the application context.

Everything the officer reads is Simplified Chinese; sizes follow DESIGN.md (≥ 44 px targets).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QLabel, QMessageBox, QPushButton, QWidget

log = logging.getLogger(__name__)

TARGET = 44  # minimum touch target, in device-independent pixels
ERROR_STYLE = "color: #b00020; font-weight: bold;"
OK_STYLE = "color: #1b5e20; font-weight: bold;"


def big_button(text: str, parent: QWidget | None = None, *, primary: bool = False,
               name: str = "") -> QPushButton:
    """A push button at least TARGET px high (gloves, touch screens)."""
    button = QPushButton(text, parent)
    button.setMinimumHeight(TARGET)
    button.setMinimumWidth(TARGET * 2)
    if primary:
        button.setDefault(True)
        button.setStyleSheet("QPushButton { background: #1f3a5f; color: white; font-weight: bold;"
                             " padding: 6px 14px; } QPushButton:disabled { background: #8a96a6; }")
    if name:
        button.setObjectName(name)
    return button


def message_label(parent: QWidget | None = None, name: str = "message") -> QLabel:
    label = QLabel("", parent)
    label.setObjectName(name)
    label.setWordWrap(True)
    label.setStyleSheet(ERROR_STYLE)
    return label


def show_message(label: QLabel, text: str, ok: bool = False) -> None:
    label.setStyleSheet(OK_STYLE if ok else ERROR_STYLE)
    label.setText(text)


def confirm_once(parent: QWidget, title: str, summary: str) -> bool:
    """Ask once before an irreversible action, with a short summary. Tests replace this function
    on the module (``monkeypatch.setattr(common, "ASK", …)``) rather than clicking a modal box."""
    return ASK(parent, title, summary)


def _ask(parent: QWidget, title: str, summary: str) -> bool:
    box = QMessageBox(QMessageBox.Icon.Question, title, summary, parent=parent)
    yes = box.addButton("确定", QMessageBox.ButtonRole.AcceptRole)
    box.addButton("取消", QMessageBox.ButtonRole.RejectRole)
    box.exec()
    return box.clickedButton() is yes


ASK = _ask


class AppState(QObject):
    """What every screen needs to know and the header shows: the store, who is unlocked, the
    current case, procedure step and recording. Screens change it through methods and listen to
    ``changed``; it holds no widgets."""

    changed = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.store: Any = None
        self.case: Any = None          # field_app.store.CaseRow
        self.step_title: str = ""
        self.procedure_title: str = ""
        self.recording: Any = None     # field_app.capture.session.RecordingSession
        self.recording_paused = False

    def officers_text(self) -> str:
        store = self.store
        if store is None or not store.is_unlocked:
            return "未解锁"
        names = [f"{o.name}（{o.cert_no}）" for o in store.unlocked_officers]
        return "已解锁：" + "、".join(names)

    def notify(self) -> None:
        self.changed.emit()


@dataclass
class Place:
    """A site visit: one place, one matter, one continuous recording."""

    case_no: str
    place: str
    matter: str
    sessions: list[str] = field(default_factory=list)
