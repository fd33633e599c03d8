"""Printing a rendered PDF on paper through Qt's print dialog (QPrinter).

The PDF comes from field_app.printing (the same bytes whose hash the ``print`` entry holds). Qt
cannot draw a PDF by itself here (QtPdf is not part of PySide6-Essentials), so the pages are
rasterised with poppler's ``pdftoppm`` (a system package of the app, see
scripts/system-packages.txt) at 300 dpi into a private temporary directory and painted page by page.

Dangerous: ``rasterize`` is slow (seconds per page) — run it through the ops runner; the painting
itself must happen on the GUI thread.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import QWidget

DPI = 300


class PrintFailed(RuntimeError):
    """Printing could not be done; ``str()`` is Chinese."""


def rasterize(pdf: bytes, dpi: int = DPI) -> list[QImage]:
    """Every page of ``pdf`` as an image (worker thread is fine: QImage is not a widget)."""
    if shutil.which("pdftoppm") is None:
        raise PrintFailed("本机缺少 pdftoppm（poppler-utils），无法直接打印。请先保存PDF，再用其他程序打印。")
    with tempfile.TemporaryDirectory(prefix="field-print-") as tmp:
        src = Path(tmp) / "doc.pdf"
        src.write_bytes(pdf)
        done = subprocess.run(["pdftoppm", "-png", "-r", str(dpi), str(src), str(Path(tmp) / "p")],
                              capture_output=True, timeout=300)
        if done.returncode != 0:
            raise PrintFailed("PDF 无法转换为打印页面，请保存PDF后用其他程序打印。")
        pages = sorted(Path(tmp).glob("p-*.png"), key=lambda p: int(p.stem.split("-")[-1]))
        return [QImage(str(p)) for p in pages]


def choose_printer(parent: QWidget) -> QPrinter | None:
    """Qt's print dialog; None when the officer cancels."""
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    dialog = QPrintDialog(printer, parent)
    dialog.setWindowTitle("打印")
    return printer if dialog.exec() == QPrintDialog.DialogCode.Accepted else None


def paint(printer: QPrinter, pages: list[QImage]) -> None:
    """Print ``pages`` on ``printer``, each scaled to the printable area (aspect kept)."""
    if not pages:
        raise PrintFailed("没有可以打印的页面。")
    painter = QPainter()
    if not painter.begin(printer):
        raise PrintFailed("打印机无法开始打印，请检查打印机是否连接、是否有纸。")
    try:
        for i, image in enumerate(pages):
            if i:
                printer.newPage()
            area = painter.viewport()
            size = image.size().scaled(area.size(), Qt.AspectRatioMode.KeepAspectRatio)
            painter.setViewport(QRect(area.x(), area.y(), size.width(), size.height()))
            painter.setWindow(image.rect())
            painter.drawImage(0, 0, image)
            painter.setViewport(area)
            painter.setWindow(area)
    finally:
        painter.end()
