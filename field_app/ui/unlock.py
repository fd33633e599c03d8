"""First-launch set-up (enrol officers, HQ public key) and the daily unlock by two officers.

Both screens are thin: the store does the work (Store.create / Store.open / unlock, with its own
throttling of wrong passwords) on a worker through the ops runner; the screens show the Chinese
result. Passwords never leave the line edits except into the store call.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QComboBox, QFileDialog, QFormLayout, QGridLayout, QGroupBox,
                               QHBoxLayout, QLabel, QLineEdit, QVBoxLayout, QWidget)

from field_app.ui.common import TARGET, big_button, message_label, show_message
from field_app.ui.ops import OpRunner


def _line(parent: QWidget, name: str, password: bool = False) -> QLineEdit:
    edit = QLineEdit(parent)
    edit.setObjectName(name)
    edit.setMinimumHeight(TARGET)
    if password:
        edit.setEchoMode(QLineEdit.EchoMode.Password)
    return edit


class SetupPage(QWidget):
    """首次使用: enrol two officers and choose the HQ public key file; creates the store.

    Emits ``created(store)`` with the new, unlocked store. ``kdf`` may be set by tests to a cheap
    Argon2id cost; production leaves it None (the store's default cost)."""

    created = Signal(object)

    def __init__(self, data_dir: Path, ops: OpRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.data_dir, self.ops = data_dir, ops
        self.kdf = None
        layout = QVBoxLayout(self)
        title = QLabel("首次使用：登记执法人员并导入局端公钥", self)
        title.setStyleSheet("font-size: 20pt; font-weight: bold;")
        layout.addWidget(title)
        layout.addWidget(QLabel("新建本机证据库。至少登记两名执法人员（程序要求两人同时执法）。"
                                "局端公钥文件由信息技术人员提供，用于找回密码。", self))
        self.officer_rows: list[tuple[QLineEdit, QLineEdit, QLineEdit, QLineEdit]] = []
        grid_box = QGroupBox("执法人员", self)
        grid = QGridLayout(grid_box)
        from field_app.store.keys import MIN_PASSWORD_LENGTH

        for col, text in enumerate(("姓名", "执法证号", "单位", f"密码（至少{MIN_PASSWORD_LENGTH}位）")):
            grid.addWidget(QLabel(text, grid_box), 0, col)
        for i in range(2):
            row = tuple(_line(grid_box, f"{kind}{i}", password=(kind == "password"))
                        for kind in ("name", "cert", "dept", "password"))
            for col, edit in enumerate(row):
                grid.addWidget(edit, i + 1, col)
            self.officer_rows.append(row)  # type: ignore[arg-type]
        layout.addWidget(grid_box)
        key_row = QHBoxLayout()
        self.hq_key_edit = _line(self, "hqKeyPath")
        self.hq_key_edit.setPlaceholderText("局端公钥文件（32字节或64位十六进制）")
        browse = big_button("选择文件…", self)
        browse.clicked.connect(self._browse)
        key_row.addWidget(QLabel("局端公钥：", self))
        key_row.addWidget(self.hq_key_edit, 1)
        key_row.addWidget(browse)
        layout.addLayout(key_row)
        self.message = message_label(self, "setupMessage")
        layout.addWidget(self.message)
        self.create_button = big_button("新建证据库", self, primary=True, name="createStore")
        self.create_button.clicked.connect(self.submit)
        layout.addWidget(self.create_button, alignment=Qt.AlignmentFlag.AlignRight)
        layout.addStretch(1)

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "选择局端公钥文件")
        if path:
            self.hq_key_edit.setText(path)

    def officers(self) -> list[tuple[str, str, str, str]]:
        out = []
        for name, cert, dept, password in self.officer_rows:
            if name.text().strip() or cert.text().strip():
                out.append((name.text().strip(), cert.text().strip(), dept.text().strip(),
                            password.text()))
        return out

    def submit(self) -> None:
        """Validate what can be checked here, then create the store on a worker."""
        officers = self.officers()
        if len(officers) < 2:
            show_message(self.message, "请登记两名执法人员的姓名、执法证号和密码。")
            return
        try:
            hq_key = read_hq_public_key(Path(self.hq_key_edit.text().strip()))
        except ValueError as exc:
            show_message(self.message, str(exc))
            return
        from field_app.store import Store

        data_dir, kdf = self.data_dir, self.kdf
        self.create_button.setEnabled(False)
        show_message(self.message, "正在新建证据库（生成密钥需要几秒钟）…", ok=True)

        def done(store) -> None:
            self.create_button.setEnabled(True)
            for row in self.officer_rows:
                row[3].clear()
            self.created.emit(store)

        def failed(text: str) -> None:
            self.create_button.setEnabled(True)
            show_message(self.message, text)

        self.ops.run(lambda: Store.create(data_dir, officers=officers, hq_public_key=hq_key,
                                          kdf=kdf),
                     on_done=done, on_error=failed, what="store", label="create store")


def read_hq_public_key(path: Path) -> bytes:
    """The HQ X25519 public key from a file: 32 raw bytes or 64 hex characters. ValueError with a
    Chinese message otherwise."""
    if not str(path) or not path.is_file():
        raise ValueError("请选择局端公钥文件（由信息技术人员提供）。")
    data = path.read_bytes()
    if len(data) == 32:
        return data
    text = data.decode("ascii", "replace").strip()
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise ValueError("局端公钥文件格式不正确：应为32字节的公钥或64位十六进制文本。")
    return raw


class UnlockPage(QWidget):
    """两名执法人员解锁: each picks a 执法证号 and types a password. One unlocked officer may browse;
    procedures need two (the engine refuses otherwise). Emits ``unlocked`` after each success and
    ``proceed`` when the officers go on to the case list."""

    unlocked = Signal()
    proceed = Signal()

    def __init__(self, ops: OpRunner, store_getter: Callable[[], object],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ops, self._store = ops, store_getter
        layout = QVBoxLayout(self)
        title = QLabel("解锁证据库", self)
        title.setStyleSheet("font-size: 20pt; font-weight: bold;")
        layout.addWidget(title)
        layout.addWidget(QLabel("两名执法人员分别输入执法证号和密码。一人解锁可以查看案件；"
                                "办理执法程序需要两人。", self))
        self.slots: list[tuple[QComboBox, QLineEdit, object, QLabel]] = []
        for i in range(2):
            box = QGroupBox(f"执法人员{'一二'[i]}", self)
            form = QFormLayout(box)
            cert = QComboBox(box)
            cert.setObjectName(f"unlockCert{i}")
            cert.setEditable(True)
            cert.setMinimumHeight(TARGET)
            password = _line(box, f"unlockPassword{i}", password=True)
            button = big_button("解锁", box, primary=(i == 0), name=f"unlockButton{i}")
            status = QLabel("", box)
            status.setObjectName(f"unlockStatus{i}")
            form.addRow("执法证号", cert)
            form.addRow("密码", password)
            form.addRow(button, status)
            password.returnPressed.connect(button.click)
            button.clicked.connect(lambda _=False, n=i: self.unlock(n))
            self.slots.append((cert, password, button, status))
            layout.addWidget(box)
        self.message = message_label(self, "unlockMessage")
        layout.addWidget(self.message)
        self.proceed_button = big_button("进入案件列表", self, primary=True, name="proceedButton")
        self.proceed_button.setEnabled(False)
        self.proceed_button.clicked.connect(self.proceed.emit)
        layout.addWidget(self.proceed_button, alignment=Qt.AlignmentFlag.AlignRight)
        layout.addStretch(1)

    def refresh(self) -> None:
        """Fill the 执法证号 choices from the store header and show who is unlocked."""
        store = self._store()
        certs = list(store.enrolled_cert_nos) if store is not None else []
        unlocked = {o.cert_no: o for o in (store.unlocked_officers if store else ())}
        for i, (cert, password, button, status) in enumerate(self.slots):
            current = cert.currentText()
            cert.clear()
            cert.addItems(certs)
            if current in certs:
                cert.setCurrentText(current)
            elif i < len(certs):
                cert.setCurrentIndex(i)
            officer = unlocked.get(cert.currentText())
            status.setText(f"已解锁：{officer.name}" if officer else "")
        self.proceed_button.setEnabled(bool(unlocked))

    def unlock(self, index: int) -> None:
        """Unlock with slot ``index`` on a worker; wrong passwords and throttling come from the
        store as Chinese messages."""
        store = self._store()
        cert, password, button, status = self.slots[index]
        cert_no, secret = cert.currentText().strip(), password.text()
        if not cert_no or not secret:
            show_message(self.message, "请输入执法证号和密码。")
            return
        button.setEnabled(False)
        show_message(self.message, "正在验证密码…", ok=True)

        def done(officer) -> None:
            button.setEnabled(True)
            password.clear()
            status.setText(f"已解锁：{officer.name}")
            show_message(self.message, f"{officer.name}已解锁。", ok=True)
            self.proceed_button.setEnabled(True)
            self.unlocked.emit()

        def failed(text: str) -> None:
            button.setEnabled(True)
            password.clear()
            password.setFocus()
            show_message(self.message, text)

        self.ops.run(lambda: store.unlock(cert_no, secret), on_done=done, on_error=failed,
                     what="store", label="unlock")
