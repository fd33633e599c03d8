"""The watermark burned into every frame: date and time to the second, device id, the officers'
执法证号 and the case number, drawn in Chinese with a real TrueType font (cv2.putText cannot draw
Chinese).

The text strip is rendered with Pillow once per second and alpha-blended into each frame with
numpy, so the per-frame cost is a small blend, not a text layout.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from field_app.fontfiles import cjk_font_candidates

CHINA_TZ = timezone(timedelta(hours=8))


class WatermarkFontMissing(RuntimeError):
    """No font can draw the watermark's Chinese text; ``str(exc)`` is Chinese."""


def load_cjk_font(size: int) -> ImageFont.FreeTypeFont:
    """A Pillow font that really draws Chinese (its glyph for 执 differs from the missing-glyph box)."""
    for path in cjk_font_candidates():
        try:
            font = ImageFont.truetype(str(path), size, index=0)
        except OSError:
            continue
        if _draws(font, "执法证号案"):
            return font
    raise WatermarkFontMissing("没有能显示中文水印的字体，请安装 fonts-wqy-zenhei。")


def _draws(font: ImageFont.FreeTypeFont, text: str) -> bool:
    missing = font.getmask("\U0010fffd")  # a private-use code point: the font's missing-glyph box
    missing_bytes = bytes(missing)
    return all(bytes(font.getmask(ch)) != missing_bytes for ch in text)


@dataclass(frozen=True)
class WatermarkInfo:
    device_id: str
    officer_cert_numbers: tuple[str, ...]
    case_number: str
    test_source: bool = False  # synthetic source: the watermark says so too


class Watermarker:
    """Burns the watermark into RGB frames of one size. Not thread-safe: one per encoder thread."""

    def __init__(self, info: WatermarkInfo, width: int, height: int) -> None:
        self.info = info
        self.width, self.height = width, height
        self.font = load_cjk_font(max(14, height // 36))
        self.line_height = int(self.font.size * 1.35)
        self._cached_second: int | None = None
        self._rgb: np.ndarray | None = None
        self._alpha: np.ndarray | None = None

    def text_lines(self, wall: datetime) -> list[str]:
        local = wall.astimezone(CHINA_TZ)
        certs = "、".join(self.info.officer_cert_numbers) or "未登记"
        first = f"{local:%Y-%m-%d %H:%M:%S}  设备 {self.info.device_id}"
        if self.info.test_source:
            first += "  【测试信号 非证据】"
        return [first, f"执法证号 {certs}  案号 {self.info.case_number or '未立案'}"]

    def _render(self, wall: datetime) -> None:
        lines = self.text_lines(wall)
        strip_h = self.line_height * len(lines) + 8
        strip = Image.new("RGBA", (self.width, strip_h), (0, 0, 0, 0))
        draw = ImageDraw.Draw(strip)
        text_w = max(draw.textlength(line, font=self.font) for line in lines)
        draw.rectangle((0, 0, min(self.width, int(text_w) + 16), strip_h), fill=(0, 0, 0, 150))
        for i, line in enumerate(lines):
            draw.text((8, 4 + i * self.line_height), line, font=self.font, fill=(255, 255, 255, 255))
        arr = np.asarray(strip, dtype=np.uint16)
        self._alpha = arr[:, :, 3:4]
        self._rgb = arr[:, :, :3] * self._alpha  # premultiplied

    def apply(self, frame: np.ndarray, wall: datetime) -> np.ndarray:
        """Blend the watermark for ``wall`` into the bottom of ``frame`` (H×W×3 uint8, RGB) in place."""
        second = int(wall.timestamp())
        if second != self._cached_second:
            self._render(wall)
            self._cached_second = second
        assert self._rgb is not None and self._alpha is not None
        h = self._rgb.shape[0]
        region = frame[self.height - h:self.height, : self.width]
        blended = (region.astype(np.uint16) * (255 - self._alpha) + self._rgb) // 255
        region[...] = blended.astype(np.uint8)
        return frame

