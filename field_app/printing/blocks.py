"""From (document definition, values) to bands: the generic part of the renderer.

A ``Band`` is one horizontal strip of a page (a line of text, a table row, a signature line) with
its drawing operations relative to its top-left corner and the text it shows (for the page hash).
Pagination (render.py) only stacks bands; it never looks inside them.

Every field type of forms/schema.py has one way to print (``field_bands``); the per-document
differences come from forms/layout/print.yaml (layout.py). There is no code per document.

Values come from a finalized record and are valid, but a record written by an older version of the
app may hold shapes this one does not expect: formatting never raises, it falls back to the text
of the value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from field_app.printing.fonts import PrintFonts
from field_app.printing.layout import Layout
from field_app.printing.text import Style, paragraphs, wrap
from forms import schema as fs
from forms.values import applies, is_empty

BEIJING = ZoneInfo("Asia/Shanghai")
EMPTY = "（未填写）"


@dataclass
class Op:
    """One drawing operation. ``kind``: text (``text`` at baseline ``y`` below the band top,
    starting at ``x`` from the content's left edge), rule (line from (x, y) to (x2, y2)), or fill
    (a grey rectangle x, y, x2, y2)."""

    kind: str
    x: float
    y: float
    style: Style | None = None
    text: str = ""
    x2: float = 0.0
    y2: float = 0.0
    width: float = 0.5


@dataclass
class Band:
    height: float
    ops: list[Op] = field(default_factory=list)
    text: str = ""
    keep_with_next: bool = False
    repeat: Band | None = None  # drawn first when this band starts a page (table header)
    slot: Any = None  # a signature slot: its ops depend on the page (render.py draws it)


@dataclass
class Styles:
    body: Style
    label: Style
    small: Style
    table: Style
    table_head: Style
    agency: Style
    title: Style
    header: Style
    tiny: Style

    @classmethod
    def make(cls, fonts: PrintFonts) -> Styles:
        b, h = fonts.body, fonts.heading
        return cls(body=Style(b, h, 12, 20), label=Style(h, h, 12, 20), small=Style(b, h, 10.5, 16),
                   table=Style(b, h, 10.5, 14.5), table_head=Style(h, h, 10.5, 14.5),
                   agency=Style(h, h, 15, 24), title=Style(h, h, 22, 34), header=Style(b, h, 9, 12),
                   tiny=Style(b, h, 7, 9))


# -- formatting values ---------------------------------------------------------------------------

def fmt_date(v: Any) -> str:
    try:
        y, m, d = (int(x) for x in str(v)[:10].split("-"))
        return f"{y}年{m}月{d}日"
    except ValueError:
        return str(v)


def _dt(v: Any) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(v))
    except ValueError:
        return None
    return moment.astimezone(BEIJING) if moment.tzinfo else moment


def fmt_datetime(v: Any) -> str:
    moment = _dt(v)
    if moment is None:
        return str(v)
    return f"{moment.year}年{moment.month}月{moment.day}日{moment.hour}时{moment.minute:02d}分"


def fmt_timespan(v: Any) -> str:
    if not isinstance(v, dict):
        return str(v)
    start, end = _dt(v.get("start")), _dt(v.get("end"))
    if start is None or end is None:
        return f"{v.get('start', '')}至{v.get('end', '')}"
    tail = f"{end.hour}时{end.minute:02d}分" if start.date() == end.date() else fmt_datetime(end)
    return f"{fmt_datetime(start)}至{tail}"


def fmt_number(v: Any, unit: str = "") -> str:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return f"{v}{unit}"
    text = str(int(v)) if float(v).is_integer() else f"{v:g}"
    return f"{text}{unit}"


def fmt_yesno(f: fs.YesNoField, v: Any) -> str:
    if not isinstance(v, dict):
        return str(v)
    answer = "是" if v.get("answer") is True else "否" if v.get("answer") is False else "—"
    note = str(v.get("note") or "").strip()
    return f"{answer}；{f.note_label}：{note}" if note else answer


def fmt_officers(v: Any) -> str:
    if not isinstance(v, list):
        return str(v)
    out = []
    for o in v:
        if not isinstance(o, dict):
            out.append(str(o))
            continue
        extra = f"，联系电话：{o['phone']}" if o.get("phone") else ""
        out.append(f"{o.get('name', '')}（执法证号：{o.get('cert_no', '')}{extra}）")
    return "、".join(out)


def fmt_legal(v: Any) -> str:
    if not isinstance(v, list):
        return str(v)
    return "；".join(f"{r.get('law', '')}{r.get('article', '')}" if isinstance(r, dict) else str(r)
                    for r in v)


def fmt_attachments(v: Any) -> str:
    if not isinstance(v, list):
        return str(v)
    return f"共{len(v)}件，存于证据库（SHA-256前12位：{'、'.join(str(s)[:12] for s in v)}）"


def fmt_approval(v: Any) -> str:
    if not isinstance(v, dict):
        return str(v)
    when = fmt_datetime(v["at"]) if v.get("at") else ""
    how = "，".join(x for x in (when, str(v.get("how") or "")) if x)
    text = f"{v.get('approver', '')}　{v.get('decision', '')}" + (f"（{how}）" if how else "")
    return text + (f"；意见：{v['opinion']}" if v.get("opinion") else "")


def fmt_choice(v: Any) -> str:
    return "、".join(str(x) for x in v) if isinstance(v, list) else str(v)


def parts_of(f: fs.FieldBase, v: dict) -> list[tuple[str, str]]:
    """(label, value) of the filled parts of a person / organisation / party value, name first."""
    if isinstance(f, fs.PartyField):
        kind = v.get("kind", "organisation")
        keys = fs.ORGANISATION_PARTS if kind == "organisation" else fs.PERSON_PARTS
        labels = fs.ORG_PART_LABELS if kind == "organisation" else fs.PART_LABELS
    elif isinstance(f, fs.OrganisationField):
        keys, labels = fs.ORGANISATION_PARTS, fs.ORG_PART_LABELS
    else:
        keys, labels = fs.PERSON_PARTS, fs.PART_LABELS
    out = [(labels[k], str(v[k]).strip()) for k in keys if str(v.get(k) or "").strip()]
    if isinstance(f, (fs.PersonField, fs.WitnessField)) or v.get("kind") == "person":
        out = [(lab, val) for lab, val in out if not (lab == "证件类型" and val == "居民身份证")]
    return out


def inline_text(f: fs.FieldBase, v: Any) -> str:
    """The printed text of a one-paragraph value."""
    if isinstance(f, fs.DateField):
        return fmt_date(v)
    if isinstance(f, fs.DateTimeField):
        return fmt_datetime(v)
    if isinstance(f, fs.TimeSpanField):
        return fmt_timespan(v)
    if isinstance(f, fs.NumberField):
        return fmt_number(v, f.unit)
    if isinstance(f, fs.ChoiceField):
        return fmt_choice(v)
    if isinstance(f, fs.YesNoField):
        return fmt_yesno(f, v)
    if isinstance(f, fs.OfficersField):
        return fmt_officers(v)
    if isinstance(f, fs.LegalBasisField):
        return fmt_legal(v)
    if isinstance(f, fs.AttachmentsField):
        return fmt_attachments(v)
    if isinstance(f, fs.ApprovalField):
        return fmt_approval(v)
    return str(v)


# -- bands ---------------------------------------------------------------------------------------

class BandBuilder:
    """Builds bands for a content width with the given styles."""

    def __init__(self, styles: Styles, width: float, max_height: float = float("inf")):
        self.s = styles
        self.width = width
        self.max_height = max_height  # the body height of a page: no band may be taller

    def text_line(self, text: str, style: Style, *, x: float = 0.0, align: str = "left",
                  keep: bool = False, height: float | None = None) -> Band:
        """One line; shrunk to fit the width when it would not (a line is never cut off)."""
        style = style.fitted(text, self.width - x)
        w = style.width(text)
        if align == "center":
            x = (self.width - w) / 2
        elif align == "right":
            x = self.width - w
        h = height or style.leading
        baseline = (h + style.size * 0.72) / 2
        return Band(h, [Op("text", x, baseline, style, text)], text, keep)

    def paragraph(self, text: str, style: Style, *, indent: float = 0.0, hang: float = 0.0,
                  keep_first: bool = False) -> list[Band]:
        """Wrapped text: first line indented by ``indent``, the others by ``hang``."""
        lines = wrap(text, style, self.width - hang, self.width - indent)
        bands = []
        for i, line in enumerate(lines):
            bands.append(self.text_line(line, style, x=indent if i == 0 else hang,
                                        keep=keep_first and i == 0))
        return bands

    def labelled(self, label: str, value: str, *, value_style: Style | None = None,
                 indent: float = 0.0, label_style: Style | None = None) -> list[Band]:
        """「label：value」 with the label in the heading face; the value wraps under itself when
        the label is short, else from the left edge. The label never ends a page alone."""
        ls, vs = label_style or self.s.label, value_style or self.s.body
        head = wrap(label + "：", ls, self.width - indent, self.width - indent)
        bands = [self.text_line(h, ls, x=indent, keep=True) for h in head[:-1]]
        last = head[-1]
        lw = ls.width(last) + indent
        hang = lw if lw <= self.width * 0.3 else indent
        lines = wrap(value, vs, self.width - hang, self.width - lw)
        first = Band(vs.leading, [Op("text", indent, 0, ls, last), Op("text", lw, 0, vs, lines[0])],
                     last + lines[0])
        baseline = (vs.leading + vs.size * 0.72) / 2
        for op in first.ops:
            op.y = baseline
        bands.append(first)
        bands += [self.text_line(line, vs, x=hang) for line in lines[1:]]
        if len(bands) > 1:
            bands[0].keep_with_next = True
        return bands

    def block_text(self, label: str, text: str) -> list[Band]:
        """A label line, then paragraphs indented by two characters (longtext)."""
        s = self.s.body
        bands = [self.text_line(label + "：", self.s.label, keep=True)]
        for para in paragraphs(text):
            bands += self.paragraph(para, s, indent=2 * s.size)
        return bands

    def parts(self, f: fs.FieldBase, v: Any) -> list[Band]:
        """A person / organisation / party: the name after the label, other parts packed two to a
        line when they fit, each 「part：value」."""
        if not isinstance(v, dict):
            return self.labelled(f.label, str(v))
        items = parts_of(f, v)
        if not items:
            return self.labelled(f.label, EMPTY)
        name = items[0][1] if items[0][0] in ("姓名", "名称") else ""
        rest = items[1:] if name else items
        bands = self.labelled(f.label, name or EMPTY)
        s, ind = self.s.small, 2 * self.s.body.size
        half = (self.width - ind) / 2
        i = 0
        while i < len(rest):
            a = f"{rest[i][0]}：{rest[i][1]}"
            b = f"{rest[i + 1][0]}：{rest[i + 1][1]}" if i + 1 < len(rest) else None
            if b is not None and s.width(a) < half - s.size and s.width(b) < half:
                band = self.text_line(a, s, x=ind)
                band.ops.append(Op("text", ind + half, band.ops[0].y, s, b))
                band.text = a + "　" + b
                bands.append(band)
                i += 2
            else:
                bands += self.paragraph(a, s, indent=ind, hang=ind)
                i += 1
        bands[0].keep_with_next = len(bands) > 1
        return bands

    def qa(self, label: str, turns: Any) -> list[Band]:
        """问：/答： turns, each wrapped under its own text (hanging indent)."""
        bands = [self.text_line(label + "：", self.s.label, keep=True)]
        if not isinstance(turns, list):
            return bands + self.paragraph(str(turns), self.s.body)
        for turn in turns:
            turn = turn if isinstance(turn, dict) else {"q": str(turn), "a": ""}
            for mark, key in (("问：", "q"), ("答：", "a")):
                paras = paragraphs(str(turn.get(key, "")))
                qa = self.labelled(mark.rstrip("："), paras[0])
                if key == "q":
                    qa[-1].keep_with_next = True  # a question never ends a page without its answer
                bands += qa
                hang = self.s.label.width(mark)
                for para in paras[1:]:
                    bands += self.paragraph(para, self.s.body, indent=hang, hang=hang)
        return bands

    def table(self, f: fs.ItemsField, rows: Any, weights: dict[str, float]) -> list[Band]:
        """The item list as a ruled table; the header row repeats on every page it runs onto."""
        cols = f.columns
        ts, hs = self.s.table, self.s.table_head
        pad = 3.0
        if not weights:
            weights = {c.key: max(1.0, min(4.0, len(c.label) / 2)) for c in cols}
        total = sum(weights.get(c.key, 1.0) for c in cols)
        widths = [self.width * weights.get(c.key, 1.0) / total for c in cols]
        xs = [sum(widths[:i]) for i in range(len(cols) + 1)]

        def row(cells: list[str], style: Style, shaded: bool, room: float) -> list[Band]:
            wrapped = [wrap(t, style, w - 2 * pad) for t, w in zip(cells, widths)]
            per_band = max(1, int((room - 2 * pad) // style.leading))
            lines = max(len(w) for w in wrapped)
            out = []
            for start in range(0, lines, per_band):  # a row taller than a page is split
                chunk = [w[start:start + per_band] for w in wrapped]
                n = max(len(w) for w in chunk)
                height = n * style.leading + 2 * pad
                ops = [Op("fill", 0, 0, x2=self.width, y2=height)] if shaded else []
                for i, cell in enumerate(chunk):
                    for j, line in enumerate(cell):
                        base = pad + j * style.leading + (style.leading + style.size * 0.72) / 2
                        ops.append(Op("text", xs[i] + pad, base, style, line))
                ops += [Op("rule", x, 0, x2=x, y2=height) for x in xs]
                ops += [Op("rule", 0, height, x2=self.width, y2=height),
                        Op("rule", 0, 0, x2=self.width, y2=0)]  # top edge when a page starts
                out.append(Band(height, ops, "｜".join("".join(w) for w in chunk)))
            return out

        header = row([c.label for c in cols], hs, True, self.max_height)[0]
        header_again = row([c.label for c in cols], hs, True, self.max_height)[0]
        header.keep_with_next = True
        bands = [self.text_line(f.label + "：", self.s.label, keep=True), header]
        room = self.max_height - header.height  # a row part fits under the repeated header
        for r in rows if isinstance(rows, list) else []:
            cells = [_cell(r.get(c.key) if isinstance(r, dict) else "") for c in cols]
            for band in row(cells, ts, False, room):
                band.repeat = header_again
                bands.append(band)
        return bands


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return fmt_number(v)
    return str(v)


def field_bands(b: BandBuilder, f: fs.FieldBase, value: Any, layout: Layout) -> list[Band]:
    """The bands of one fillable field (signature slots are drawn by render.py)."""
    if is_empty(value):
        return b.labelled(f.label, EMPTY)
    if isinstance(f, fs.LongTextField):
        return b.block_text(f.label, str(value))
    if isinstance(f, (fs.PersonField, fs.WitnessField, fs.OrganisationField, fs.PartyField)):
        return b.parts(f, value)
    if isinstance(f, fs.QAField):
        return b.qa(f.label, value)
    if isinstance(f, fs.ItemsField):
        return b.table(f, value, layout.column_weights.get(f.key, {}))
    return b.labelled(f.label, inline_text(f, value))


def body_fields(doc: fs.DocumentDef, values: dict[str, Any], layout: Layout) -> list[fs.FieldBase]:
    """The fields printed in the body, in definition order: applicable, fillable, and not printed
    elsewhere (case number in the header, document number under the title, closing fields)."""
    elsewhere = {layout.case_field, layout.number_field, *layout.closing_fields}
    return [f for f in doc.fields if f.fillable and f.key not in elsewhere and applies(f, values)]


def signature_slots(doc: fs.DocumentDef, values: dict[str, Any]) -> list[fs.SignatureField]:
    return [f for f in doc.fields if isinstance(f, fs.SignatureField) and applies(f, values)]
