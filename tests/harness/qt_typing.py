"""Typing Chinese into Qt widgets in tests.

qtbot.keyClicks sends key events per character and aborts the process on non-Latin-1 text; a real
Chinese input method delivers a QInputMethodEvent with a commit string, so that is what we send.
"""

from __future__ import annotations

from PySide6.QtGui import QInputMethodEvent
from PySide6.QtWidgets import QApplication, QWidget


def type_text(widget: QWidget, text: str) -> None:
    """Commit ``text`` into ``widget`` as an input method would (works for any script)."""
    widget.setFocus()
    event = QInputMethodEvent("", [])
    event.setCommitString(text)
    QApplication.sendEvent(widget, event)
