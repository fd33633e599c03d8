"""The CJK TrueType fonts that PDFs embed.

reportlab embeds only TrueType outlines: Noto CJK (CFF/OpenType) is rejected, WenQuanYi Zen Hei
(TrueType collection) works. Bundled fonts under resources/fonts win over system fonts so a PDF
looks the same on every laptop.

Printed documents use two faces (``print_fonts``):

- **body**: a Song (宋体) face for the text of the document — the bundled AR PL SungtiL GB
  (resources/fonts/pdf), which covers GB 2312;
- **heading**: a Hei (黑体) face for the agency name, title and labels — the font
  ``find_pdf_font`` finds (bundled WenQuanYi Zen Hei). It is also the *fallback* for every character
  the body face lacks (rare name characters outside GB 2312, en dashes …).

reportlab always embeds TrueType fonts as subsets (only the glyphs a document uses).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from field_app.fontfiles import cjk_font_candidates
from field_app.paths import resources_dir

# Characters every official document needs; a font missing one of them would print empty boxes.
PROBE_TEXT = "执法全过程记录第页共检查询问笔录签名日期封存送达回证"

SONG_SYSTEM_CANDIDATES = (
    "/usr/share/fonts/truetype/arphic-gbsn00lp/gbsn00lp.ttf",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "C:/Windows/Fonts/simsun.ttc",
)


class FontUnavailable(RuntimeError):
    """No embeddable CJK font; ``str(exc)`` is Chinese."""


@dataclass(frozen=True)
class PdfFont:
    name: str
    path: Path
    subfont_index: int


@dataclass(frozen=True)
class FontFace:
    """A registered reportlab font with what the layout needs: advance widths (per 1000 units of
    the em) and the set of code points it has glyphs for."""

    name: str
    path: Path
    widths: dict[int, float] = field(repr=False, compare=False)
    default_width: float = field(repr=False, compare=False)
    covered: frozenset[int] = field(repr=False, compare=False)
    ascent: float = 880.0  # per 1000 units

    def has(self, ch: str) -> bool:
        return ord(ch) in self.covered


@dataclass(frozen=True)
class PrintFonts:
    body: FontFace
    heading: FontFace  # also the fallback for characters the body face lacks


def _candidates() -> list[Path]:
    return cjk_font_candidates()


def _song_candidates() -> list[Path]:
    bundled = sorted(p for p in (resources_dir() / "fonts" / "pdf").glob("*")
                     if p.suffix.lower() in {".ttf", ".ttc"})
    return [p for p in bundled + [Path(p) for p in SONG_SYSTEM_CANDIDATES] if p.is_file()]


def _load(path: Path, prefix: str, problems: list[str]):
    from reportlab.pdfbase.ttfonts import TTFont

    try:
        font = TTFont(prefix + path.stem, str(path), subfontIndex=0)
    except Exception as exc:  # reportlab raises TTFError (and others) for CFF or broken files
        problems.append(f"{path.name}: {exc}")
        return None
    missing = [ch for ch in PROBE_TEXT if ord(ch) not in font.face.charToGlyph]
    if missing:
        problems.append(f"{path.name}: 缺少字符 {''.join(missing)}")
        return None
    return font


def find_pdf_font() -> PdfFont:
    """The first candidate font that reportlab can embed and that covers PROBE_TEXT.

    Registers it with reportlab under the returned name. Raises FontUnavailable otherwise.
    """
    from reportlab.pdfbase import pdfmetrics

    problems: list[str] = []
    for path in _candidates():
        if not path.is_file():
            continue
        font = _load(path, "FieldCJK-", problems)
        if font is None:
            continue
        pdfmetrics.registerFont(font)
        return PdfFont(font.fontName, path, 0)
    detail = "；".join(problems) if problems else "没有找到候选字体文件"
    raise FontUnavailable(f"没有可嵌入 PDF 的中文 TrueType 字体（{detail}）。请安装 fonts-wqy-zenhei。")


def _face(font, path: Path) -> FontFace:
    face = font.face
    return FontFace(font.fontName, path, dict(face.charWidths), float(face.defaultWidth),
                    frozenset(face.charToGlyph), float(face.ascent))


_lock = threading.Lock()
_cached: PrintFonts | None = None


def print_fonts() -> PrintFonts:
    """The body (Song) and heading/fallback (Hei) faces, registered with reportlab.

    Loaded once per process (parsing a 17 MB TrueType collection takes a fraction of a second);
    thread-safe. Without any Song face the Hei face serves as body too (the PDF is still correct,
    only less like the paper forms). Raises FontUnavailable (Chinese message) without any
    embeddable CJK font.
    """
    global _cached
    with _lock:
        if _cached is None:
            from reportlab.pdfbase import pdfmetrics

            heading_font = find_pdf_font()
            heading = _face(pdfmetrics.getFont(heading_font.name), heading_font.path)
            body = heading
            for path in _song_candidates():
                font = _load(path, "FieldSong-", [])
                if font is not None:
                    pdfmetrics.registerFont(font)
                    body = _face(font, path)
                    break
            _cached = PrintFonts(body, heading)
        return _cached
