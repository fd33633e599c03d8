"""The CJK TrueType font that PDFs embed.

reportlab embeds only TrueType outlines: Noto CJK (CFF/OpenType) is rejected, WenQuanYi Zen Hei
(TrueType collection) works. Bundled fonts under resources/fonts win over system fonts so a PDF
looks the same on every laptop.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from field_app.fontfiles import cjk_font_candidates

# Characters every official document needs; a font missing one of them would print empty boxes.
PROBE_TEXT = "执法全过程记录第页共检查询问笔录签名日期封存送达回证"


class FontUnavailable(RuntimeError):
    """No embeddable CJK font; ``str(exc)`` is Chinese."""


@dataclass(frozen=True)
class PdfFont:
    name: str
    path: Path
    subfont_index: int


def _candidates() -> list[Path]:
    return cjk_font_candidates()


def find_pdf_font() -> PdfFont:
    """The first candidate font that reportlab can embed and that covers PROBE_TEXT.

    Registers it with reportlab under the returned name. Raises FontUnavailable otherwise.
    """
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    problems = []
    for path in _candidates():
        if not path.is_file():
            continue
        name = "FieldCJK-" + path.stem
        try:
            font = TTFont(name, str(path), subfontIndex=0)
        except Exception as exc:  # reportlab raises TTFError (and others) for CFF or broken files
            problems.append(f"{path.name}: {exc}")
            continue
        missing = [ch for ch in PROBE_TEXT if ord(ch) not in font.face.charToGlyph]
        if missing:
            problems.append(f"{path.name}: 缺少字符 {''.join(missing)}")
            continue
        pdfmetrics.registerFont(font)
        return PdfFont(name, path, 0)
    detail = "；".join(problems) if problems else "没有找到候选字体文件"
    raise FontUnavailable(f"没有可嵌入 PDF 的中文 TrueType 字体（{detail}）。请安装 fonts-wqy-zenhei。")
