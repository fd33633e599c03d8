"""The PDF font: an embeddable TrueType CJK font, never a CFF one that reportlab cannot embed."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from field_app.printing import fonts
from field_app.printing.fonts import FontUnavailable, find_pdf_font
from tests.harness.system import missing_dependency

NOTO_CJK = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")


def test_found_font_embeds_chinese_into_a_real_pdf(tmp_path):
    from reportlab.pdfgen import canvas

    font = find_pdf_font()
    pdf = tmp_path / "probe.pdf"
    c = canvas.Canvas(str(pdf))
    c.setFont(font.name, 14)
    c.drawString(72, 720, "检查（勘验）笔录 第1页 共3页")
    c.save()
    listed = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, timeout=30).stdout
    assert "TrueType" in listed and " yes " in listed  # embedded
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, timeout=30).stdout
    assert "检查（勘验）笔录 第1页 共3页" in text


def test_a_cff_only_machine_gets_a_clear_error(monkeypatch):
    if not NOTO_CJK.exists():
        missing_dependency(f"fonts-noto-cjk ({NOTO_CJK})")
    monkeypatch.setattr(fonts, "_candidates", lambda: [NOTO_CJK])
    with pytest.raises(FontUnavailable, match="中文 TrueType 字体"):
        find_pdf_font()


def test_no_font_at_all_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(fonts, "_candidates", lambda: [tmp_path / "missing.ttf"])
    with pytest.raises(FontUnavailable, match="fonts-wqy-zenhei"):
        find_pdf_font()
