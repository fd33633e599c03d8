"""The main window shell: a fixed header (who is unlocked, recording state, data directory) and the
work area that later issues fill with unlock, cases and procedure wizards."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QMainWindow, QVBoxLayout, QWidget

from field_app import APP_NAME_ZH, __version__

MIN_WIDTH, MIN_HEIGHT = 1024, 640  # fits the officers' 1366×768 screens with room for the taskbar


class MainWindow(QMainWindow):
    def __init__(self, data_dir: Path) -> None:
        super().__init__()
        self.data_dir = data_dir
        self.setWindowTitle(APP_NAME_ZH)
        self.setMinimumSize(MIN_WIDTH, MIN_HEIGHT)

        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.addWidget(self._header())

        self.title_label = QLabel(APP_NAME_ZH, central)
        self.title_label.setObjectName("titleLabel")
        title_font = self.title_label.font()
        title_font.setPointSize(title_font.pointSize() * 2)
        title_font.setBold(True)
        self.title_label.setFont(title_font)
        self.title_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.title_label, stretch=1)

        self.data_dir_label = QLabel(f"数据目录：{data_dir}", central)
        self.data_dir_label.setObjectName("dataDirLabel")
        self.data_dir_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.data_dir_label)
        version = QLabel(f"版本 {__version__}", central)
        version.setAlignment(Qt.AlignmentFlag.AlignRight)
        layout.addWidget(version)
        self.setCentralWidget(central)

    def _header(self) -> QFrame:
        header = QFrame(self)
        header.setObjectName("header")
        header.setStyleSheet("#header { background: #1f3a5f; } QLabel { color: white; padding: 6px; }")
        row = QHBoxLayout(header)
        self.officers_label = QLabel("未解锁", header)
        self.officers_label.setObjectName("officersLabel")
        self.recording_label = QLabel("● 未录制", header)
        self.recording_label.setObjectName("recordingLabel")
        self.recording_label.setStyleSheet("color: #ffcc00; font-weight: bold;")
        row.addWidget(self.officers_label)
        row.addStretch(1)
        row.addWidget(self.recording_label)
        return header
