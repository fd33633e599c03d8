"""`xvfb-run field-app` on a real X server: the window appears and Chinese is drawn, not boxes."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from field_app import APP_NAME_ZH
from field_app.paths import resources_dir
from tests.harness.system import require_executable

pytestmark = pytest.mark.needs_display


# What a new laptop shows first (field_app/ui/unlock.py): a bold heading below the header bar.
HEADING = "首次使用：登记执法人员并导入局端公钥"
HEADING_BAND = (45, 110)  # y range of the heading in a 1366×768 window


def _glyph_cells_differ(png: Path, text: str, band: tuple[int, int] | None = None) -> bool:
    """Cut one line of full-width text into one cell per character; empty boxes ("tofu") all look
    alike, real glyphs differ. ``band``: the y range holding the line (default: the middle half)."""
    from PIL import Image

    image = Image.open(png).convert("L")
    w, h = image.size
    top_y, bottom_y = band or (h // 4, 3 * h // 4)
    strip = image.crop((0, top_y, w, bottom_y))
    dark = strip.point(lambda v: 255 if v < 80 else 0)
    box = dark.getbbox()
    assert box, "no dark text in the band"
    left, top, right, bottom = box
    cell = (right - left) / len(text)
    digests = set()
    for i in range(len(text)):
        glyph = dark.crop((int(left + i * cell), top, int(left + (i + 1) * cell), bottom))
        digests.add(hashlib.sha256(glyph.tobytes()).hexdigest())
    return len(digests) == len(text)


def screenshot_under_xvfb(shot: Path, extra_env: dict[str, str] | None = None) -> None:
    require_executable("xvfb-run")
    require_executable("xauth")
    env = {k: v for k, v in os.environ.items() if k not in {"QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"}}
    env.update(extra_env or {})
    env.setdefault("FIELD_APP_DATA", str(shot.parent / "empty-data-dir"))  # a new laptop: the set-up screen
    result = subprocess.run(
        ["xvfb-run", "-a", "-s", "-screen 0 1366x768x24", str(Path(sys.executable).parent / "field-app"),
         "--screenshot", str(shot)],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert result.returncode == 0, result.stderr


def test_window_under_xvfb_renders_chinese(tmp_path):
    shot = tmp_path / "main.png"
    screenshot_under_xvfb(shot)
    from PIL import Image

    assert Image.open(shot).size == (1366, 768)
    assert _glyph_cells_differ(shot, HEADING, HEADING_BAND)


def _title_image(path: Path, font_file: str) -> Path:
    """A window-sized image with APP_NAME_ZH centred, drawn by Pillow with ``font_file``."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", (1366, 768), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(font_file, 48)
    w = draw.textlength(APP_NAME_ZH, font=font)
    draw.text(((1366 - w) / 2, 360), APP_NAME_ZH, font=font, fill="black")
    image.save(path)
    return path


def test_the_glyph_check_catches_empty_boxes(tmp_path):
    # DejaVu has no Chinese: Pillow draws its missing-glyph box for every character ("tofu").
    tofu = _title_image(tmp_path / "tofu.png", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    assert not _glyph_cells_differ(tofu, APP_NAME_ZH)
    chinese = _title_image(tmp_path / "chinese.png", str(resources_dir() / "fonts" / "wqy-zenhei.ttc"))
    assert _glyph_cells_differ(chinese, APP_NAME_ZH)


def test_a_machine_without_cjk_fonts_still_draws_chinese_from_the_bundled_font(tmp_path):
    # Only DejaVu visible to fontconfig: the app loads resources/fonts/wqy-zenhei.ttc itself, so
    # the title is still real Chinese, not empty boxes.
    conf = tmp_path / "fonts.conf"
    conf.write_text(
        '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>'
        f'<dir>/usr/share/fonts/truetype/dejavu</dir><cachedir>{tmp_path}/fc-cache</cachedir></fontconfig>'
    )
    shot = tmp_path / "bundled.png"
    screenshot_under_xvfb(shot, {"FONTCONFIG_FILE": str(conf)})
    assert _glyph_cells_differ(shot, HEADING, HEADING_BAND)
