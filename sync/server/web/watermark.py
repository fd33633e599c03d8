"""Marks on exported copies (第六十九条: copies only with the head's approval): the requester, the approval
number and the export time, burned into every video frame and stamped on every PDF page.

- ``watermark_video(inputs, output, mark)``: decodes one or more H.264+AAC inputs in order (a joined MP4,
  or a recording's Matroska segments — their timestamps continue the recording's timeline), draws the
  text onto every frame and encodes a new H.264 (yuv420p) + AAC MP4 with ``faststart``. Audio is decoded
  and re-encoded (AAC) on the same timeline, so segment boundaries stay in sync.
- ``stamp_pdf(src, dst, mark)``: overlays the text on every page (pypdf + a reportlab page of the same
  size); the original page content is untouched underneath.

The text is rendered with Pillow / reportlab and the bundled WenQuanYi Zen Hei (``resources/fonts``,
found from this file's location — the server must not import the laptop app), falling back to the
system copy of the same font.

Guarantees: the output video has exactly the decoded input frames (none dropped or duplicated; a
timestamp that would not increase is nudged by one tick), each with the mark. Dangerous: the re-encode
is lossy and costs CPU in proportion to the length of the video — a multi-hour recording takes minutes.
The mark is a deterrent and an attribution, not tamper-proofing: the package's manifest hashes are what
prove integrity.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

CHINA_TZ = timezone(timedelta(hours=8))
FONT_FILE = "wqy-zenhei.ttc"
SYSTEM_FONTS = ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
VIDEO_TIME_BASE = Fraction(1, 90000)
PDF_FONT_NAME = "HQExportCJK"


class WatermarkError(RuntimeError):
    """The copy could not be marked (no font, unreadable input). ``str()`` is Chinese."""


@dataclass(frozen=True)
class Mark:
    """What every copy carries. ``lines()`` is the exact text drawn (also written into the 说明)."""

    requester: str
    department: str
    approval_no: str
    exported_ns: int

    @property
    def exported_at(self) -> str:
        return datetime.fromtimestamp(self.exported_ns / 1e9, CHINA_TZ).strftime("%Y-%m-%d %H:%M")

    def lines(self) -> list[str]:
        return [f"仅供{self.requester}使用 复制件",
                f"批准文号 {self.approval_no}  导出时间 {self.exported_at}"]

    def text(self) -> str:
        return "  ".join(self.lines())


def font_path() -> Path:
    """The CJK TrueType font for marks: the bundled one first, then the system's copy."""
    here = Path(__file__).resolve()
    candidates = [parent / "resources" / "fonts" / FONT_FILE for parent in here.parents[:5]]
    candidates += [Path(p) for p in SYSTEM_FONTS]
    for path in candidates:
        if path.is_file():
            return path
    raise WatermarkError("找不到用于水印的中文字体（resources/fonts/wqy-zenhei.ttc），请安装 fonts-wqy-zenhei。")


@lru_cache(maxsize=8)
def _pil_font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(font_path()), size, index=0)


def render_overlay(mark: Mark, width: int, height: int) -> tuple[np.ndarray, np.ndarray, tuple[int, int, int, int]]:
    """The mark as premultiplied RGB and alpha arrays (uint16) for a frame of this size, and the box
    (x0, y0, x1, y1) it covers: a dark band with white text across the top of the picture (the capture
    watermark with time and officers sits at the bottom and stays visible)."""
    size = max(14, height // 24)
    font = _pil_font(size)
    lines = mark.lines()
    line_h = int(size * 1.35)
    band_h = min(height, line_h * len(lines) + 10)
    band = Image.new("RGBA", (width, band_h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(band)
    text_w = max(draw.textlength(line, font=font) for line in lines)
    box_w = min(width, int(text_w) + 20)
    draw.rectangle((0, 0, box_w, band_h), fill=(0, 0, 0, 140))
    for i, line in enumerate(lines):
        draw.text((10, 5 + i * line_h), line, font=font, fill=(255, 255, 255, 255))
    arr = np.asarray(band, dtype=np.uint16)
    alpha = arr[:, :, 3:4]
    return arr[:, :, :3] * alpha, alpha, (0, 0, box_w, band_h)


def _blend(rgb: np.ndarray, over: np.ndarray, alpha: np.ndarray) -> None:
    h = over.shape[0]
    region = rgb[:h]
    region[...] = ((region.astype(np.uint16) * (255 - alpha) + over) // 255).astype(np.uint8)


def watermark_video(inputs: Sequence[Path], output: Path, mark: Mark, *, crf: int = 23,
                    preset: str = "veryfast") -> dict:
    """Re-encode ``inputs`` (played one after another) into ``output`` with ``mark`` on every frame.
    Returns {"frames", "duration", "width", "height", "box"}; WatermarkError (Chinese) if an input
    cannot be read or has no video."""
    import av

    if not inputs:
        raise WatermarkError("没有可导出的视频片段。")
    output = Path(output)
    out = av.open(str(output), "w", format="mp4", options={"movflags": "+faststart"})
    vstream = astream = None
    over = alpha = None
    box = (0, 0, 0, 0)
    frames, origin, last_vpts, last_apts, end_t = 0, None, -1, -1, 0.0
    resampler = None
    try:
        for path in inputs:
            try:
                src = av.open(str(path))
            except av.error.FFmpegError as exc:
                raise WatermarkError(f"无法读取视频 {Path(path).name}（{exc}）。") from exc
            with src:
                if not src.streams.video:
                    raise WatermarkError(f"视频 {Path(path).name} 没有画面。")
                vin = src.streams.video[0]
                ain = src.streams.audio[0] if src.streams.audio else None
                if vstream is None:
                    width, height = vin.codec_context.width, vin.codec_context.height
                    vstream = out.add_stream("libx264", rate=vin.average_rate or 15)
                    vstream.width, vstream.height, vstream.pix_fmt = width, height, "yuv420p"
                    vstream.time_base = VIDEO_TIME_BASE
                    vstream.codec_context.time_base = VIDEO_TIME_BASE
                    vstream.options = {"crf": str(crf), "preset": preset}
                    over, alpha, box = render_overlay(mark, width, height)
                    if ain is not None:
                        rate = ain.codec_context.sample_rate or 48000
                        layout = ain.codec_context.layout.name if ain.codec_context.layout else "mono"
                        astream = out.add_stream("aac", rate=rate)
                        astream.layout = layout
                        astream.bit_rate = 96000
                        resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate)
                streams = [s for s in (vin, ain) if s is not None]
                for packet in src.demux(*streams):
                    try:
                        decoded = packet.decode()
                    except av.error.FFmpegError:
                        continue  # a damaged packet: skip it, keep the rest of the recording
                    for frame in decoded:
                        t = frame.time
                        if t is None:
                            continue
                        if origin is None:
                            origin = t
                        rel = max(0.0, t - origin)
                        if packet.stream.type == "video":
                            rgb = frame.to_ndarray(format="rgb24")
                            if rgb.shape[1] != vstream.width or rgb.shape[0] != vstream.height:
                                rgb = np.asarray(Image.fromarray(rgb).resize((vstream.width, vstream.height)))
                            _blend(rgb, over, alpha)
                            new = av.VideoFrame.from_ndarray(rgb, format="rgb24")
                            pts = max(int(round(rel / VIDEO_TIME_BASE)), last_vpts + 1)
                            new.pts, new.time_base, last_vpts = pts, VIDEO_TIME_BASE, pts
                            for p in vstream.encode(new):
                                out.mux(p)
                            frames += 1
                            end_t = max(end_t, rel)
                        elif astream is not None:
                            frame.pts = None
                            for res in resampler.resample(frame):
                                pts = max(int(round(rel * astream.rate)), last_apts + 1)
                                res.pts, res.time_base = pts, Fraction(1, astream.rate)
                                last_apts = pts + res.samples - 1
                                rel += res.samples / astream.rate
                                for p in astream.encode(res):
                                    out.mux(p)
        if vstream is None or frames == 0:
            raise WatermarkError("视频没有可解码的画面。")
        for p in vstream.encode(None):
            out.mux(p)
        if astream is not None:
            for p in astream.encode(None):
                out.mux(p)
    except BaseException:
        out.close()
        output.unlink(missing_ok=True)
        raise
    out.close()
    return {"frames": frames, "duration": end_t, "width": vstream.width, "height": vstream.height, "box": box}


# --- PDFs ----------------------------------------------------------------------------------------------

def register_pdf_font() -> str:
    """Register the CJK font with reportlab (once) and return its name."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if PDF_FONT_NAME not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(PDF_FONT_NAME, str(font_path()), subfontIndex=0))
    return PDF_FONT_NAME


def _overlay_page(width: float, height: float, mark: Mark) -> "object":
    from pypdf import PdfReader
    from reportlab.lib.colors import Color
    from reportlab.pdfgen import canvas

    font = register_pdf_font()
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(width, height))
    lines = mark.lines()
    c.setFillColor(Color(0.75, 0.05, 0.05, alpha=0.9))
    c.setFont(font, 9)
    c.drawString(24, height - 16, lines[0] + "  " + lines[1])
    c.drawString(24, 10, lines[1])
    c.saveState()
    c.setFillColor(Color(0.8, 0.1, 0.1, alpha=0.18))
    c.translate(width / 2, height / 2)
    c.rotate(35)
    big = max(18.0, min(width, height) / 14)
    c.setFont(font, big)
    c.drawCentredString(0, big * 0.6, lines[0])
    c.setFont(font, big * 0.6)
    c.drawCentredString(0, -big * 0.6, mark.approval_no)
    c.restoreState()
    c.showPage()
    c.save()
    buf.seek(0)
    return PdfReader(buf).pages[0]


def stamp_pdf(src: Path, dst: Path, mark: Mark) -> int:
    """Write ``src`` with ``mark`` stamped on every page to ``dst``; returns the page count.
    WatermarkError (Chinese) if ``src`` is not a readable PDF."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.errors import PdfReadError

    try:
        writer = PdfWriter(clone_from=PdfReader(str(src)))
    except (PdfReadError, OSError, ValueError) as exc:
        raise WatermarkError(f"无法读取 PDF 文书（{exc}）。") from exc
    overlays: dict[tuple[float, float], object] = {}
    pages = list(writer.pages)
    for page in pages:
        box = page.mediabox
        key = (float(box.width), float(box.height))
        if key not in overlays:
            overlays[key] = _overlay_page(key[0], key[1], mark)
        page.merge_page(overlays[key])
    writer.add_metadata({"/Subject": mark.text()})
    with open(dst, "wb") as fh:
        writer.write(fh)
    return len(pages)
