"""Starting the Qt application: fonts, the main window, optional screenshot-and-exit."""

from __future__ import annotations

import logging
import os
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


def log_file() -> Path:
    """Where the GUI writes its log (tracebacks go here, never onto the screen)."""
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "field-recorder" / "ui.log"


def setup_logging() -> Path:
    """Log to ``log_file()`` (created 0600) and send uncaught exceptions in slots there too."""
    path = log_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    path.chmod(0o600)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)
    logging.getLogger().setLevel(logging.INFO)

    def hook(kind, value, tb) -> None:
        logging.getLogger("field_app.ui").error("uncaught", exc_info=(kind, value, tb))

    sys.excepthook = hook
    return path


def run_gui(data_dir: Path, screenshot: str | None = None) -> int:
    """Run the app until the window closes. With ``screenshot``, save the window as PNG and exit."""
    try:
        setup_logging()
    except OSError:
        pass  # a read-only home must not stop the app; errors then go to stderr
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
