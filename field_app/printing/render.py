"""The generic renderer: (document definition, values) → PDF bytes and per-page hashes.

One renderer for every document, driven by the definition (forms/documents) and the layout hints
(forms/layout/print.yaml). A4 portrait, binding margin on the left. Every page has:

- a header: title and 案号, the record and version, the copy label (当事人留存 …), and the QR code;
- the body: on page 1 the agency name, the centred title and the 文号; then the fields in
  definition order; long text, 问/答 turns and item tables flow onto further pages, tables with
  their header row repeated;
- the signature lines the definition asks for on every page (``per_page``, or every slot with the
  ``signatures_every_page`` hint), each with 日期; a refusal recorded on an earlier print of the same
  version is printed in its slot as 「…拒绝签名」 with the witness;
- a footer 「第X页 共Y页」.

Documents printed in several copies (``copies: 2``) give one PDF with each copy complete and
numbered on its own.

Guarantees: the same inputs give the same bytes (reportlab's invariant mode, no clock read here);
nothing is drawn outside the margins; every page's hash covers every text drawn on it except the
QR code, which carries that hash. Dangerous: a character neither font has prints as an empty box —
it is listed in ``RenderedDocument.missing_glyphs`` and the caller must show it to the officer.
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from field_app.printing.blocks import (Band, BandBuilder, Op, Styles, body_fields, field_bands,
                                       fmt_date, fmt_datetime, signature_slots)
from field_app.printing.fonts import PrintFonts, print_fonts
from field_app.printing.layout import Layout, layout_for
from field_app.printing.qr import PagePayload, draw_qr
from forms import schema as fs

MM = 72 / 25.4
PAGE_W, PAGE_H = 210 * MM, 297 * MM
LEFT, RIGHT = 28 * MM, 20 * MM
CONTENT_W = PAGE_W - LEFT - RIGHT
QR_SIZE = 22 * MM
QR_TOP = 8 * MM
HEADER_RULE = PAGE_H - 33 * MM
BODY_TOP = PAGE_H - 36 * MM
FOOTER_BASELINE = 10 * MM
SIG_BOTTOM = 16 * MM
SIG_ROW = 27.0
HASH_DOMAIN = "field-recorder/page/v1"
_RL_LOCK = threading.Lock()


@dataclass(frozen=True)
class PrintedRefusal:
    """A refusal to sign, printed into the slot of ``role`` on a page of a re-print."""

    role: str
    who: str
    witness: str
    at: str = ""  # ISO date or datetime of the refusal


@dataclass(frozen=True)
class PrintMeta:
    """What the page furniture shows besides the record's values."""

    record_id: str
    version_seq: int
    version_no: int = 1
    case_no: str = ""
    printed_at: str = ""
    preview: bool = False  # a draft: marked 预览稿, no QR code
    refusals: dict[tuple[int, int, str], PrintedRefusal] = field(default_factory=dict)  # (copy, page, role)


@dataclass(frozen=True)
class PageInfo:
    copy: int
    copy_label: str
    page: int
    pages: int
    hash: str  # hex SHA-256 of the page's content (see page_hash)
    payload: str  # the QR text

    def ref(self) -> dict[str, Any]:
        return {"copy": self.copy, "page": self.page, "hash": self.hash}


@dataclass(frozen=True)
class RenderedDocument:
    pdf: bytes
    pages: tuple[PageInfo, ...]
    pages_per_copy: int
    copy_labels: tuple[str, ...]
    missing_glyphs: str  # characters printed as empty boxes (should be empty)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.pdf).hexdigest()


def page_hash(meta: PrintMeta, copy: int, page: int, pages: int, lines: list[str]) -> str:
    """SHA-256 over a domain tag and the canonical JSON of the record id, version, copy, page, page
    count and every text drawn on the page in drawing order."""
    body = json.dumps({"record": meta.record_id, "seq": meta.version_seq, "copy": copy,
                       "page": page, "pages": pages, "lines": lines},
                      ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{HASH_DOMAIN}\n{body}".encode("utf-8")).hexdigest()


def render_document(doc: fs.DocumentDef, values: dict[str, Any], meta: PrintMeta, *,
                    fonts: PrintFonts | None = None, layout: Layout | None = None
                    ) -> RenderedDocument:
    """Render a finalized record (or, with ``meta.preview``, a draft) to PDF."""
    fonts = fonts or print_fonts()
    styles = Styles.make(fonts)
    layout = layout or layout_for(doc)
    slots = signature_slots(doc, values)
    per_page = [s for s in slots if s.per_page or layout.signatures_every_page]
    at_end = [s for s in slots if s not in per_page]
    body_bottom = SIG_BOTTOM + len(per_page) * SIG_ROW + (6 * MM if per_page else 0)
    avail = BODY_TOP - body_bottom
    builder = BandBuilder(styles, CONTENT_W, max_height=avail)
    bands = _first_page(builder, doc, values, layout)
    for f in body_fields(doc, values, layout):
        bands += field_bands(builder, f, values.get(f.key), layout)
    if doc.paged:
        bands.append(builder.text_line("（以下空白）", styles.small, align="center"))
    bands += _closing(builder, doc, values, layout)
    if at_end:
        bands.append(Band(8, keep_with_next=True))
        bands += [Band(SIG_ROW, slot=s, keep_with_next=i < len(at_end) - 1)
                  for i, s in enumerate(at_end)]
    pages = paginate(bands, avail)
    case_no = str(values.get(layout.case_field) or meta.case_no or "") if layout.case_field \
        else meta.case_no
    with _binary_streams():
        return _write(doc, meta, styles, layout, pages, per_page, case_no)


@contextmanager
def _binary_streams():
    """reportlab ASCII85-encodes compressed streams unless told not to, through a process-wide
    setting; binary streams are smaller and faster to write. Set only while rendering (lock:
    another thread rendering at the same time must not restore it under us)."""
    from reportlab import rl_config

    with _RL_LOCK:
        saved = rl_config.useA85
        rl_config.useA85 = 0
        try:
            yield
        finally:
            rl_config.useA85 = saved


def _write(doc: fs.DocumentDef, meta: PrintMeta, styles: Styles, layout: Layout,
           pages: list[list[Band]], per_page: list[fs.SignatureField], case_no: str
           ) -> RenderedDocument:
    from reportlab.pdfgen import canvas as pdfcanvas

    labels = layout.copy_labels or ("",)
    buf = io.BytesIO()
    c = pdfcanvas.Canvas(buf, pagesize=(PAGE_W, PAGE_H), invariant=1, pageCompression=1,
                         initialFontName=styles.body.face.name, initialFontSize=12)  # no Helvetica
    c.setTitle(doc.title)
    c.setAuthor(layout.agency)
    c.setCreator("field-recorder")
    infos: list[PageInfo] = []
    missing: set[str] = set()
    for copy, label in enumerate(labels, 1):
        for number, page in enumerate(pages, 1):
            info = _draw_page(c, styles, doc, meta, page, per_page, copy, label, number,
                              len(pages), case_no, missing)
            infos.append(info)
            c.showPage()
    c.save()
    return RenderedDocument(buf.getvalue(), tuple(infos), len(pages),
                            tuple(label for label in labels if label), "".join(sorted(missing)))


def paginate(bands: list[Band], avail: float) -> list[list[Band]]:
    """Stack bands onto pages of height ``avail``: a band marked ``keep_with_next`` moves to the
    next page with the bands it is kept with (unless the group is taller than a page); a band with
    ``repeat`` that starts a page gets its repeated header (table header row) drawn first."""
    pages: list[list[Band]] = []
    current: list[Band] = []
    used = 0.0
    for i, band in enumerate(bands):
        group = band.height
        j = i
        while bands[j].keep_with_next and j + 1 < len(bands):
            j += 1
            group += bands[j].height
        if group > avail:
            group = band.height
        extra = band.repeat.height if band.repeat is not None else 0.0
        if current and used + group > avail:
            pages.append(current)
            current, used = [], 0.0
        if not current and band.repeat is not None:
            current.append(band.repeat)
            used += extra
        current.append(band)
        used += band.height
    if current or not pages:
        pages.append(current)
    return pages


# -- page parts ----------------------------------------------------------------------------------

def _spaced(title: str) -> str:
    """Short titles are printed letter-spaced, as on the paper forms (询 问 笔 录)."""
    return " ".join(title) if len(title) <= 5 else title


def _first_page(b: BandBuilder, doc: fs.DocumentDef, values: dict, layout: Layout) -> list[Band]:
    s = b.s
    agency = str(values.get("agency") or layout.agency)
    bands = [b.text_line(agency, s.agency, align="center", keep=True),
             b.text_line(_spaced(doc.title), s.title, align="center", keep=True, height=40)]
    if layout.number_field:
        number = str(values.get(layout.number_field) or "").strip()
        if layout.number_label:
            text = f"{layout.number_label}：{number or '　' * 8}"
        else:
            text = number or "　　〔　　　　〕第　　　　号"
        bands.append(b.text_line(text, s.body, align="right", keep=True))
    for note in (doc.note, doc.copies_note):
        if note:
            bands.append(b.text_line(note, s.small, align="center", keep=True))
    bands.append(Band(8))
    return bands


def _closing(b: BandBuilder, doc: fs.DocumentDef, values: dict, layout: Layout) -> list[Band]:
    keys = {f.key for f in doc.fields}
    named = [k for k in layout.closing_fields if k in keys]
    if not named and not doc.seal:
        return []
    lines = []
    for key in named:
        f = doc.field(key)
        v = values.get(key)
        if isinstance(f, fs.DateField):
            lines.append(fmt_date(v) if v else "　　年　　月　　日")
        elif v:
            lines.append(str(v))
    if doc.seal:
        agency = str(values.get("agency") or layout.agency)
        if agency in lines:
            lines[lines.index(agency)] = f"{agency}（印章）"
        else:
            lines.insert(0, f"{agency}（印章）")
    bands = [Band(12, keep_with_next=True)]
    bands += [b.text_line(line, b.s.body, align="right", keep=True) for line in lines]
    bands[-1].keep_with_next = False
    return bands


def _draw_text(c, op: Op, x0: float, y_top: float, missing: set[str]) -> None:
    style = op.style
    text = c.beginText(x0 + op.x, y_top - op.y)
    for font, run in style.runs(op.text, missing):
        text.setFont(font, style.size)
        text.textOut(run)
    c.drawText(text)


def _draw_band(c, band: Band, y_top: float, missing: set[str]) -> None:
    for op in band.ops:
        if op.kind == "text":
            _draw_text(c, op, LEFT, y_top, missing)
        elif op.kind == "rule":
            c.setLineWidth(op.width)
            c.line(LEFT + op.x, y_top - op.y, LEFT + op.x2, y_top - op.y2)
        elif op.kind == "fill":
            c.setFillGray(0.9)
            c.rect(LEFT + op.x, y_top - op.y2, op.x2 - op.x, op.y2 - op.y, stroke=0, fill=1)
            c.setFillGray(0)


def _slot_band(styles: Styles, slot: fs.SignatureField, refusal: PrintedRefusal | None) -> Band:
    """One signature line: 「<label>：____ 日期：  年  月  日」, or the printed refusal. Labels and
    the refusal shrink to fit; at least a third of the line is left to sign on."""
    body = styles.small
    base = SIG_ROW - 7
    date_text = "日期：　　　　年　　月　　日" if slot.dated else ""
    date_w = body.width(date_text)
    line_end = CONTENT_W - date_w - (12 if date_text else 0)
    label = styles.label.fitted(slot.label + "：", line_end * 2 / 3)
    lw = label.width(slot.label + "：")
    ops = [Op("text", 0, base, label, slot.label + "："),
           Op("rule", lw, base + 2, x2=line_end, y2=base + 2)]
    text = slot.label + "："
    if refusal is not None:
        note = f"{refusal.role}拒绝签名（见证人：{refusal.witness}）"
        ops.append(Op("text", lw + 3, base - 1, body.fitted(note, line_end - lw - 6), note))
        text += note
        if slot.dated and refusal.at:
            date_text = f"日期：{fmt_date(refusal.at)}"
    if date_text:
        ops.append(Op("text", CONTENT_W - date_w, base, body, date_text))
        text += "　" + date_text
    return Band(SIG_ROW, ops, text)


def _draw_page(c, styles: Styles, doc: fs.DocumentDef, meta: PrintMeta, page: list[Band],
               per_page: list[fs.SignatureField], copy: int, label: str, number: int, pages: int,
               case_no: str, missing: set[str]) -> PageInfo:
    lines: list[str] = []
    # header
    head = styles.header
    left = f"{doc.title}" + (f"　案号：{case_no}" if case_no else "")
    record_line = (f"记录编号 {meta.record_id}　第{meta.version_no}版" +
                   (f"　打印时间 {fmt_datetime(meta.printed_at)}" if meta.printed_at else ""))
    if meta.preview:
        record_line = "预览稿：未定稿，不得作为签名件　" + record_line
    text_right = PAGE_W - RIGHT - QR_SIZE - 4 * MM  # header text never runs under the QR code
    room = text_right - LEFT
    _draw_text(c, Op("text", 0, 0, head.fitted(left, room), left), LEFT, PAGE_H - 14 * MM, missing)
    c.setFillGray(0.3)
    _draw_text(c, Op("text", 0, 0, styles.tiny.fitted(record_line, room), record_line), LEFT,
               PAGE_H - 19 * MM, missing)
    c.setFillGray(0)
    lines += [left, record_line]
    if label:
        style = styles.label.fitted(label, room)
        _draw_text(c, Op("text", 0, 0, style, label), text_right - style.width(label),
                   PAGE_H - 28 * MM, missing)
        lines.append(label)
    c.setLineWidth(0.8)
    c.line(LEFT, HEADER_RULE, PAGE_W - RIGHT, HEADER_RULE)
    # body
    y = BODY_TOP
    for band in page:
        if band.slot is not None:
            band = _slot_band(styles, band.slot, meta.refusals.get((copy, number, band.slot.role)))
        _draw_band(c, band, y, missing)
        if band.text:
            lines.append(band.text)
        y -= band.height
    # signatures on every page
    if per_page:
        top = SIG_BOTTOM + len(per_page) * SIG_ROW
        c.setLineWidth(0.3)
        c.line(LEFT, top + 2 * MM, PAGE_W - RIGHT, top + 2 * MM)
        for i, slot in enumerate(per_page):
            band = _slot_band(styles, slot, meta.refusals.get((copy, number, slot.role)))
            _draw_band(c, band, top - i * SIG_ROW, missing)
            lines.append(band.text)
    # footer
    footer = f"第{number}页　共{pages}页"
    fw = styles.small.width(footer)
    _draw_text(c, Op("text", 0, 0, styles.small, footer), (PAGE_W - fw) / 2, FOOTER_BASELINE,
               missing)
    lines.append(footer)
    digest = page_hash(meta, copy, number, pages, lines)
    payload = PagePayload(meta.record_id, meta.version_seq, copy, number, pages, digest[:32]).text()
    if not meta.preview:
        draw_qr(c, payload, PAGE_W - RIGHT - QR_SIZE, PAGE_H - QR_TOP - QR_SIZE, QR_SIZE)
    return PageInfo(copy, label, number, pages, digest, payload)
