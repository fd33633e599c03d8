"""CJK font files shipped with the app or found on the system, for PDFs and video watermarks.

Bundled fonts under resources/fonts come first so output looks the same on every laptop. Only
TrueType files are listed: reportlab cannot embed CFF (Noto CJK), and the same file then serves
Pillow for the watermark.
"""

from __future__ import annotations

from pathlib import Path

from field_app.paths import resources_dir

SYSTEM_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "C:/Windows/Fonts/simsun.ttc",
    "C:/Windows/Fonts/simhei.ttf",
    "C:/Windows/Fonts/simfang.ttf",
    "C:/Windows/Fonts/msyh.ttc",
)


def cjk_font_candidates() -> list[Path]:
    """Existing candidate font files, bundled ones first (not checked for coverage here)."""
    bundled = sorted(
        p for p in (resources_dir() / "fonts").glob("*") if p.suffix.lower() in {".ttf", ".ttc"}
    )
    return [p for p in bundled + [Path(p) for p in SYSTEM_CANDIDATES] if p.is_file()]
