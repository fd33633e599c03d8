"""Measuring and breaking Chinese text into lines for the PDF renderer (no reportlab drawing here).

A ``Style`` is a font pair (the face to use, and the fallback for characters it lacks) at a size.
``wrap`` breaks a paragraph greedily by measured width with the Chinese line-breaking rules
(禁则): closing punctuation never starts a line, opening punctuation never ends one, and runs of
Latin letters and digits (credit codes, serial numbers, hashes) are not split unless one alone is
wider than the line.

Guarantees: every line ``wrap`` returns is at most the width asked for (measured with the same
widths the PDF uses), except a single character wider than the line; joining the lines gives the
input text back without its line-break spaces.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from field_app.printing.fonts import FontFace

NO_LINE_START = set("，。、；：？！）》」』】〕〉”’…—·,.;:?!)]}%‰℃")
NO_LINE_END = set("（《「『【〔〈“‘([{")
_WORD = re.compile(r"[A-Za-z0-9_@#&+\-./:'’]+|\s+|.", re.S)


@dataclass
class Style:
    """A face with its fallback at a size; ``leading`` is the line pitch in points."""

    face: FontFace
    fallback: FontFace
    size: float
    leading: float
    _units: dict[str, float] = field(default_factory=dict, repr=False)

    def units(self, ch: str) -> float:
        """Advance of one character in 1/1000 em (cached)."""
        w = self._units.get(ch)
        if w is None:
            code = ord(ch)
            face = self.face if code in self.face.covered or code not in self.fallback.covered \
                else self.fallback
            w = face.widths.get(code, face.default_width)
            self._units[ch] = w
        return w

    def width(self, text: str) -> float:
        units = self._units
        total = 0.0
        for ch in text:
            w = units.get(ch)
            total += self.units(ch) if w is None else w
        return total * self.size / 1000.0

    def runs(self, text: str, missing: set[str] | None = None) -> list[tuple[str, str]]:
        """``text`` split into (font name, substring) runs: the face where it has the glyph,
        the fallback otherwise. A character neither has goes to the face (an empty box on paper)
        and, when ``missing`` is given, is added to it."""
        out: list[tuple[str, str]] = []
        face, fallback = self.face, self.fallback
        covered, fallback_covered = face.covered, fallback.covered
        current = None
        start = 0
        for i, ch in enumerate(text):
            code = ord(ch)
            if code in covered:
                name = face.name
            elif code in fallback_covered:
                name = fallback.name
            else:
                name = face.name
                if missing is not None and ch.isprintable() and not ch.isspace():
                    missing.add(ch)
            if name != current:
                if current is not None:
                    out.append((current, text[start:i]))
                current, start = name, i
        if current is not None:
            out.append((current, text[start:]))
        return out

    def fitted(self, text: str, width: float) -> Style:
        """This style, or a smaller copy of it, so that ``text`` fits on one line of ``width``
        (for single-line furniture: header, labels, a refusal in a signature slot)."""
        w = self.width(text)
        if w <= width or w == 0:
            return self
        size = self.size * width / w
        return Style(self.face, self.fallback, size, self.leading * size / self.size)

    def missing(self, text: str) -> set[str]:
        """Characters neither face can draw (they would print as empty boxes)."""
        found: set[str] = set()
        self.runs(text, found)
        return found


def atoms(text: str) -> list[str]:
    """Unbreakable pieces: Latin words, single CJK characters, spaces; closing punctuation glued to
    the piece before it and opening punctuation to the piece after it."""
    pieces = _WORD.findall(text)
    out: list[str] = []
    pending = ""
    for piece in pieces:
        if len(piece) == 1 and piece in NO_LINE_END:
            pending += piece
            continue
        if pending:
            piece, pending = pending + piece, ""
        if out and piece[0] in NO_LINE_START and not out[-1].isspace():
            out[-1] += piece
        else:
            out.append(piece)
    if pending:
        out.append(pending)
    return out


def wrap(text: str, style: Style, width: float, first_width: float | None = None) -> list[str]:
    """Break one paragraph (no newlines) into lines no wider than ``width`` (``first_width`` for
    the first line, e.g. after a label or an indent). An empty paragraph gives one empty line."""
    limit = width if first_width is None else first_width
    lines: list[str] = []
    current = ""
    current_w = 0.0
    for atom in atoms(text):
        if atom.isspace():
            if current:
                w = style.width(atom)
                if current_w + w <= limit:
                    current += atom
                    current_w += w
            continue
        w = style.width(atom)
        if current_w + w <= limit:
            current += atom
            current_w += w
            continue
        if current.strip():
            lines.append(current.rstrip())
            limit = width
            current, current_w = "", 0.0
        if w <= limit:
            current, current_w = atom, w
            continue
        for ch in atom:  # a single atom wider than the line: break it by characters
            cw = style.width(ch)
            if current and current_w + cw > limit:
                lines.append(current)
                limit = width
                current, current_w = "", 0.0
            current += ch
            current_w += cw
    lines.append(current.rstrip())
    return lines


def paragraphs(text: str) -> list[str]:
    """Split a multi-line value into paragraphs (blank lines dropped, CRLF tolerated)."""
    parts = [p.strip() for p in str(text).replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return [p for p in parts if p] or [""]
