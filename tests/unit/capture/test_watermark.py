"""The watermark draws real Chinese text with the time to the second."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np

from field_app.capture.watermark import Watermarker, WatermarkInfo, _draws, load_cjk_font

INFO = WatermarkInfo("FR-0001", ("13010220170031", "13010220190047"), "长人社监〔2026〕第0117号")


def test_text_carries_time_device_officers_and_case():
    wm = Watermarker(INFO, 1280, 720)
    lines = wm.text_lines(datetime(2026, 11, 19, 6, 15, 3, tzinfo=timezone.utc))
    assert lines[0].startswith("2026-11-19 14:15:03")  # shown in China time
    assert "FR-0001" in lines[0]
    assert "13010220170031、13010220190047" in lines[1] and "长人社监〔2026〕第0117号" in lines[1]


def test_font_really_draws_chinese():
    font = load_cjk_font(24)
    assert _draws(font, "执法证号案号设备")


def test_burned_into_the_bottom_and_changes_every_second():
    wm = Watermarker(INFO, 640, 360)
    first = np.full((360, 640, 3), 100, np.uint8)
    wm.apply(first, datetime(2026, 11, 19, 6, 15, 3, tzinfo=timezone.utc))
    assert (first[:200] == 100).all(), "the picture above the strip is untouched"
    assert (first[-40:] != 100).any(), "the strip is drawn"
    second = np.full((360, 640, 3), 100, np.uint8)
    wm.apply(second, datetime(2026, 11, 19, 6, 15, 4, tzinfo=timezone.utc))
    assert (first != second).any()


def test_synthetic_source_is_marked_in_the_watermark():
    wm = Watermarker(WatermarkInfo("FR-0001", ("13010220170031",), "", test_source=True), 640, 360)
    assert "测试信号 非证据" in wm.text_lines(datetime.now(timezone.utc))[0]
