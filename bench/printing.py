"""Rendering a 50-page 询问笔录 (2-7) vs drawing the same text with a bare reportlab canvas.

    .venv/bin/python -m bench.printing [--pages 50] [--rounds 7]

Workload: a questioning record like ../shared/SCENARIOS.md (interviewee, officers, confirmation),
with as many 问/答 turns as it takes to fill ``--pages`` pages (one answer of 800 characters), rendered
by ``field_app.printing.render.render_document``: layout with Chinese line breaking, page breaks,
signature lines, header, footer, page hashes and a QR code on every page, subset-embedded fonts.

Baseline, in the same run: the same characters drawn on the same number of pages with
``canvas.drawString`` (fixed 36 characters a line, the same fonts and stream encoding, no layout, no
QR, no hashing) — what reportlab itself costs. The QR codes use a fixed mask (``qr.MASK``; with
segno's pure-Python mask search the renderer takes about twice as long, see docs/printing.md).
Fonts are loaded once before timing (as in the app). Rounds alternate; medians are reported.
Target: the renderer's median ≤ 0.5 s; exit code 1 if above.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time

TARGET_SECONDS = 0.5


def record_values(turns: int) -> dict:
    from tests.unit.printing import scenarios as sc

    return {**sc.QUESTIONING, "interviewers": [o.as_value() for o in sc.OFFICERS],
            "transcript": sc.qa_turns(turns)}


def fit_turns(doc, meta, pages: int) -> int:
    """The number of turns whose transcript fills exactly ``pages`` pages (or just over)."""
    from field_app.printing.render import render_document

    lo, hi = 1, 2000
    while lo < hi:
        mid = (lo + hi) // 2
        if render_document(doc, record_values(mid), meta).pages_per_copy < pages:
            lo = mid + 1
        else:
            hi = mid
    return lo


def baseline(text: str, pages: int, body: str, heading: str) -> bytes:
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, invariant=1, pageCompression=1, initialFontName=body)
    per_page = -(-len(text) // pages)
    for p in range(pages):
        chunk = text[p * per_page:(p + 1) * per_page]
        c.setFont(heading, 9)
        c.drawString(79, 800, f"询问笔录 第{p + 1}页 共{pages}页")
        c.setFont(body, 12)
        for i in range(0, len(chunk), 36):
            c.drawString(79, 760 - (i // 36) * 20, chunk[i:i + 36])
        c.showPage()
    c.save()
    return buf.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.printing", description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args(argv)

    from field_app.printing.fonts import print_fonts
    from field_app.printing.render import PrintMeta, _binary_streams, render_document
    from forms.loader import default_registry

    fonts = print_fonts()
    doc = default_registry().document("2-7")
    meta = PrintMeta("4c1af010695e4442a4353b8af07f6b3c", 20, 1, "长人社监〔2026〕第0117号",
                     "2026-11-20T11:10:00+08:00")
    turns = fit_turns(doc, meta, args.pages)
    values = record_values(turns)
    text = "".join(t["q"] + t["a"] for t in values["transcript"])
    rendered = render_document(doc, values, meta)  # warm-up
    ours, bare = [], []
    for _ in range(args.rounds):
        t = time.perf_counter()
        rendered = render_document(doc, values, meta)
        ours.append(time.perf_counter() - t)
        t = time.perf_counter()
        with _binary_streams():  # the same stream encoding as the renderer
            baseline(text, rendered.pages_per_copy, fonts.body.name, fonts.heading.name)
        bare.append(time.perf_counter() - t)
    ours_m, bare_m = statistics.median(ours), statistics.median(bare)
    print(f"询问笔录 {rendered.pages_per_copy} 页（{turns} 问答，{len(text)} 字，PDF {len(rendered.pdf) // 1024} KiB）")
    print(f"renderer median {ours_m:.3f} s  (min {min(ours):.3f}, max {max(ours):.3f}, {args.rounds} rounds)")
    print(f"bare reportlab  median {bare_m:.3f} s  (same characters, drawString only)")
    print(f"ratio renderer / bare reportlab: {ours_m / bare_m:.2f}")
    print(f"target: renderer median ≤ {TARGET_SECONDS} s → {'OK' if ours_m <= TARGET_SECONDS else 'ABOVE TARGET'}")
    return 0 if ours_m <= TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
