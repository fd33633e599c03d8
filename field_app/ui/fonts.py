"""Choosing a UI font that really draws Chinese (no empty boxes), bundled fonts first."""

from __future__ import annotations

from PySide6.QtGui import QFont, QFontDatabase

from field_app.paths import resources_dir

PREFERRED_FAMILIES = (
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "Microsoft YaHei",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "SimHei",
)
# Officers work with gloves and in sunlight: large base size.
BASE_POINT_SIZE = 13


def load_bundled_fonts() -> None:
    fonts = resources_dir() / "fonts"
    for path in sorted(fonts.glob("*")):
        if path.suffix.lower() in {".ttf", ".ttc", ".otf"}:
            QFontDatabase.addApplicationFont(str(path))


def choose_cjk_family() -> str | None:
    """The preferred installed family that supports Simplified Chinese, or None if there is none."""
    chinese = set(QFontDatabase.families(QFontDatabase.WritingSystem.SimplifiedChinese))
    for family in PREFERRED_FAMILIES:
        if family in chinese:
            return family
    return sorted(chinese)[0] if chinese else None


def app_font() -> QFont | None:
    family = choose_cjk_family()
    if family is None:
        return None
    font = QFont(family)
    font.setPointSize(BASE_POINT_SIZE)
    return font
