"""Starting the Qt application: fonts, the main window, optional screenshot-and-exit."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from field_app import APP_NAME_ZH
from field_app.ui.fonts import app_font, load_bundled_fonts
from field_app.ui.main_window import MainWindow


def create_app() -> QApplication:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName(APP_NAME_ZH)
    load_bundled_fonts()
    font = app_font()
    if font is not None:
        app.setFont(font)
    return app


def run_gui(data_dir: Path, screenshot: str | None = None) -> int:
    """Run the app until the window closes. With ``screenshot``, save the window as PNG and exit."""
    app = create_app()
    window = MainWindow(data_dir)
    window.resize(1366, 768)
    window.show()
    if app_font() is None:  # non-modal: the window stays usable and a screenshot still happens
        box = QMessageBox(QMessageBox.Icon.Warning, APP_NAME_ZH,
                          "本机没有中文字体，界面文字可能无法显示。请联系信息技术人员。", parent=window)
        box.open()
    if screenshot:
        def grab_and_quit() -> None:
            ok = window.grab().save(screenshot, "PNG")
            app.exit(0 if ok else 1)

        QTimer.singleShot(800, grab_and_quit)
    return app.exec()
