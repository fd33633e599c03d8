"""The sign-off page: after a print, page by page (and copy by copy), signed or refused — with who
refused, why and the witness — and a photo of the signed page from the recording camera.

Thin over field_app.printing.signoff (``history``, ``sign``, ``refuse``, ``attach_photo``): each
click is one appended entry; the page list is re-read from the log after every action.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QGridLayout, QGroupBox, QLabel, QLineEdit, QVBoxLayout, QWidget)

from field_app.ui.common import TARGET, big_button, message_label, show_message

log = logging.getLogger(__name__)


class SignoffWidget(QGroupBox):
    """Sign-off of the current print of ``record_id``. ``take_photo`` returns the SHA-256 of a
    photo just taken (the recording panel) or None. Emits ``changed`` after every outcome."""

    changed = Signal()

    def __init__(self, store, record_id: str, take_photo=None, parent: QWidget | None = None):
        super().__init__("签名确认（逐页）", parent)
        self.store, self.record_id, self.take_photo = store, record_id, take_photo
        self.setObjectName("signoff")
        self.box = QVBoxLayout(self)
        self.summary = QLabel("", self)
        self.summary.setObjectName("signoffSummary")
        self.summary.setWordWrap(True)
        self.box.addWidget(self.summary)
        refusal = QGridLayout()
        for i, text in enumerate(("拒绝签名人", "拒绝理由", "在场见证人")):
            refusal.addWidget(QLabel(f"{text}（拒绝签名时填写）" if i == 0 else text, self), 0, i)
        self.who = self._line("拒绝签名人姓名", "refuseWho")
        self.reason = self._line("拒绝理由", "refuseReason")
        self.witness = self._line("在场见证人", "refuseWitness")
        for i, w in enumerate((self.who, self.reason, self.witness)):
            refusal.addWidget(w, 1, i)
        self.box.addLayout(refusal)
        self.grid = QGridLayout()
        self.box.addLayout(self.grid)
        self.message = message_label(self, "signoffMessage")
        self.box.addWidget(self.message)
        self.refresh()

    def _line(self, placeholder: str, name: str) -> QLineEdit:
        edit = QLineEdit(self)
        edit.setObjectName(name)
        edit.setMinimumHeight(TARGET)
        edit.setPlaceholderText(placeholder)
        return edit

    def history(self):
        from field_app.printing.signoff import history

        return history(self.store, self.record_id)

    def refresh(self) -> None:
        while self.grid.count():
            item = self.grid.takeAt(0)
            if item.widget():
                item.widget().hide()  # at once: deleteLater waits for the event loop
                item.widget().deleteLater()
        past = self.history()
        self.summary.setText(past.summary())
        current = past.current
        if current is None:
            return
        for row, (copy, page) in enumerate(current.all_pages()):
            outcome = current.outcomes.get((copy, page))
            label = QLabel(f"{current.copy_label(copy)} 第{page}页：" +
                           (outcome.describe() if outcome else "未记录"), self)
            label.setWordWrap(True)
            self.grid.addWidget(label, row, 0)
            for col, (text, kind) in enumerate((("已签名", "sign"), ("拒绝签名", "refuse"),
                                                 ("拍照存档", "photo")), 1):
                button = big_button(text, self, name=f"{kind}_{copy}_{page}")
                button.clicked.connect(lambda _=False, k=kind, c=copy, p=page:
                                       self.act(k, c, p))
                self.grid.addWidget(button, row, col)

    def act(self, kind: str, copy: int, page: int) -> None:
        from field_app.printing import signoff
        from field_app.ui.ops import user_message

        current = self.history().current
        try:
            if kind == "sign":
                signoff.sign(self.store, current.seq, page, copy=copy)
                text = f"第{page}页已记录为已签名。"
            elif kind == "refuse":
                signoff.refuse(self.store, current.seq, page, copy=copy, who=self.who.text(),
                               reason=self.reason.text(), witness=self.witness.text())
                text = f"第{page}页已记录为拒绝签名。"
            else:
                sha = self.take_photo() if self.take_photo else None
                if not sha:
                    show_message(self.message, "没有拍到照片：请先开启录像。")
                    return
                with self.store.open_media(sha) as stream:
                    signoff.attach_photo(self.store, current.seq, page, stream.read(), copy=copy)
                text = f"第{page}页的照片已存档。"
        except Exception as exc:  # noqa: BLE001 - PrintError carries Chinese; others are logged
            if not user_message(exc) == str(exc).strip():
                log.exception("sign-off failed")
            show_message(self.message, user_message(exc))
            return
        self.refresh()
        show_message(self.message, text, ok=True)
        self.changed.emit()
