"""`field-app _qt-probe`: start Qt's GUI layer once and report it as JSON (run by doctor in a child
process, because Qt aborts the process when its platform plugin cannot load)."""

from __future__ import annotations

import json
import sys

from PySide6 import __version__ as pyside_version
from PySide6.QtGui import QGuiApplication

from field_app.ui.fonts import choose_cjk_family, load_bundled_fonts


def main() -> int:
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    load_bundled_fonts()
    info = {
        "qt_version": pyside_version,
        "platform": app.platformName(),
        "screens": len(app.screens()),
        "cjk_font": choose_cjk_family(),
    }
    print(json.dumps(info, ensure_ascii=False))
    return 0
