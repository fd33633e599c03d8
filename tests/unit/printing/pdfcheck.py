"""Reading a printed PDF the way a checker would: poppler's pdftotext / pdftoppm / pdffonts, and a
real QR decoder (zxing-cpp) on the rendered pixels."""

from __future__ import annotations

import csv
import hashlib
import io
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.harness.system import require_executable

MM = 72 / 25.4


def _run(args: list[str], *, binary: bool = False):
    require_executable(args[0])
    result = subprocess.run(args, capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr.decode("utf-8", "replace")
    return result.stdout if binary else result.stdout.decode("utf-8")


def squeeze(text: str) -> str:
    """The text with all whitespace removed (pdftotext breaks lines where the PDF does)."""
    return re.sub(r"\s+", "", text)


def page_texts(pdf: Path) -> list[str]:
    """pdftotext of each page (form feed separated)."""
    return _run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"]).split("\f")[:-1]


@dataclass(frozen=True)
class Word:
    page: int
    x: float
    y: float  # top, points from the top of the page
    w: float
    h: float
    text: str


def words(pdf: Path) -> list[Word]:
    out = []
    rows = csv.reader(io.StringIO(_run(["pdftotext", "-tsv", "-enc", "UTF-8", str(pdf), "-"])),
                      delimiter="\t", quoting=csv.QUOTE_NONE)
    next(rows)
    for r in rows:
        if r[0] == "5":
            out.append(Word(int(r[1]), float(r[6]), float(r[7]), float(r[8]), float(r[9]), r[11]))
    return out


def _lines(pdf: Path) -> list[list[Word]]:
    """Words between the header and the footer grouped into lines (same baseline), in reading
    order (faces of different ascent have different tops, so baselines are compared)."""
    lines: list[list[Word]] = []
    for w in sorted(words(pdf), key=lambda w: (w.page, w.y + w.h)):
        if w.y < 33 * MM or w.y > (297 - 14) * MM:
            continue
        last = lines[-1][0] if lines else None
        if last and last.page == w.page and abs((last.y + last.h) - (w.y + w.h)) < 3:
            lines[-1].append(w)
        else:
            lines.append([w])
    return [sorted(line, key=lambda w: w.x) for line in lines]


def _not_furniture(lines: list[list[Word]], furniture_labels: list[str]) -> list[list[Word]]:
    return [line for line in lines
            if not any("".join(w.text for w in line).startswith(lab) for lab in furniture_labels)]


def body_text(pdf: Path, furniture_labels: list[str]) -> str:
    """The text of every page between the header and the footer, in reading order, without the
    lines that begin with one of ``furniture_labels`` (the signature rows), whitespace removed."""
    lines = _not_furniture(_lines(pdf), furniture_labels)
    return squeeze("".join("".join(w.text for w in line) for line in lines))


def column_texts(pdf: Path, labels: list[str], furniture_labels: list[str] = ()) -> list[str]:
    """Text of each table column on every page, top to bottom, whitespace removed, without the
    lines that begin with one of ``furniture_labels``. Column edges are found from the header row
    (its words start at each column's left edge)."""
    lines = _not_furniture(_lines(pdf), list(furniture_labels))
    ws = [w for line in lines for w in line]
    head = next(w for w in ws if w.text.startswith(labels[0]))
    row = [w for w in ws if w.page == head.page and abs(w.y - head.y) < 2]
    lefts = []
    for lab in labels:
        found = [w for w in row if w.text.startswith(lab[:2])]
        assert found, f"table header {lab} not found"
        lefts.append(min(w.x for w in found) - 1)
    edges = lefts + [10_000.0]
    cols: list[list[Word]] = [[] for _ in labels]
    for w in ws:
        for i in range(len(labels)):
            if edges[i] <= w.x < edges[i + 1]:
                cols[i].append(w)
                break
    return [squeeze("".join(w.text for w in c)) for c in cols]


def text_below_body(pdf: Path, furniture_labels: list[str]) -> list[str]:
    """Body words that reach into the signature rows of their page (the first line that begins
    with one of ``furniture_labels`` on a page starts its signature block): must be empty."""
    lines = _lines(pdf)
    tops: dict[int, float] = {}
    for line in lines:
        text = "".join(w.text for w in line)
        if any(text.startswith(lab) for lab in furniture_labels):
            tops.setdefault(line[0].page, min(w.y for w in line))
    body = _not_furniture(lines, furniture_labels)
    return [w.text for line in body for w in line
            if w.page in tops and w.y + w.h > tops[w.page] - 10]


def fonts(pdf: Path) -> list[dict[str, str]]:
    """pdffonts rows: name, type, emb, sub, uni."""
    lines = _run(["pdffonts", str(pdf)]).splitlines()[2:]
    out = []
    for line in lines:
        parts = line.split()
        out.append({"name": parts[0], "type": " ".join(parts[1:-6]), "emb": parts[-5],
                    "sub": parts[-4], "uni": parts[-3]})
    return out


def png(pdf: Path, page: int, dpi: int, out_dir: Path, *, crop_mm: tuple | None = None) -> Path:
    """Render one page (optionally a region x, y, w, h in mm from the top-left) to PNG."""
    stem = out_dir / f"p{page}-{dpi}-{'full' if crop_mm is None else 'crop'}"
    args = ["pdftoppm", "-png", "-r", str(dpi), "-f", str(page), "-l", str(page), "-singlefile"]
    if crop_mm:
        x, y, w, h = (round(v / 25.4 * dpi) for v in crop_mm)
        args += ["-x", str(x), "-y", str(y), "-W", str(w), "-H", str(h)]
    _run(args + [str(pdf), str(stem)])
    return stem.with_suffix(".png")


def decode_qr(image_path: Path) -> list[str]:
    import zxingcpp
    from PIL import Image

    found = zxingcpp.read_barcodes(Image.open(image_path).convert("L"))
    return [r.text for r in found if r.format == zxingcpp.BarcodeFormat.QRCode]


def ink_near_edges(image_path: Path, dpi: int, mm: float) -> list[str]:
    """Which edges have dark pixels within ``mm`` of the paper's edge (a printer cannot print
    there, so anything drawn there is cut off)."""
    from PIL import Image

    image = Image.open(image_path).convert("L")
    w, h = image.size
    band = round(mm / 25.4 * dpi)
    regions = {"left": (0, 0, band, h), "right": (w - band, 0, w, h), "top": (0, 0, w, band),
               "bottom": (0, h - band, w, h)}
    return [name for name, box in regions.items() if image.crop(box).getextrema()[0] < 128]


def glyph_segments(image_path: Path) -> list[str]:
    """Split a one-line image into glyphs at blank pixel columns; the hash of each glyph's pixels.
    Real Chinese characters give different hashes; empty boxes (tofu) give the same one."""
    from PIL import Image

    image = Image.open(image_path).convert("L").point(lambda v: 255 if v < 128 else 0)
    w, h = image.size
    cols = [image.crop((x, 0, x + 1, h)).getbbox() is not None for x in range(w)]
    segments, start = [], None
    for x, dark in enumerate(cols + [False]):
        if dark and start is None:
            start = x
        elif not dark and start is not None:
            if x - start > 2:
                glyph = image.crop((start, 0, x, h))
                segments.append(hashlib.sha256(glyph.crop(glyph.getbbox()).tobytes()).hexdigest())
            start = None
    return segments
