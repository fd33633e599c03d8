"""The page QR code: its payload format and drawing it as vector modules (segno).

Payload (UTF-8 text, fields separated by ``|``; docs/printing.md)::

    FRP1|<record id>|<version seq>|<copy>|<page>|<pages>|<page hash, first 32 hex digits>

- ``record id``: the record (``record_id`` of its log entries);
- ``version seq``: sequence number of the ``record`` entry that was printed (one version);
- ``copy``: 1, 2 … for documents printed in several copies (一式两份), else 1;
- ``page`` / ``pages``: 第X页 共Y页 within that copy;
- ``page hash``: the first 128 bits of the page's content hash (``render.page_hash``); the full
  hash is in the ``print`` entry of the log.

The payload is a lookup key and a fingerprint, not a signature: what makes it trustworthy is the
signed ``print`` entry it is compared with (``signoff.verify_page``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import segno

PREFIX = "FRP1"
# A fixed mask pattern. Any of the eight is valid (a reader takes it from the format bits), and
# segno's pure-Python search for the lowest-penalty one costs more than all the rest of a page
# (50 pages: 0.37 s with the search, 0.19 s without). For these payloads (version 5-M) the search
# picks mask 2 for about nine in ten; every mask decoded on all 50 pages of a 50-page print
# rendered at 72 and 90 dpi (zxing-cpp). None restores the search.
MASK: int | None = 2
DIGEST_HEX = 32
_RECORD = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
_HEX = re.compile(rf"^[0-9a-f]{{{DIGEST_HEX}}}$")


class PayloadError(ValueError):
    """The text is not a page payload; ``str(exc)`` is Chinese."""


@dataclass(frozen=True)
class PagePayload:
    record_id: str
    version_seq: int
    copy: int
    page: int
    pages: int
    digest: str  # first DIGEST_HEX hex digits of the page hash

    def text(self) -> str:
        return "|".join([PREFIX, self.record_id, str(self.version_seq), str(self.copy),
                         str(self.page), str(self.pages), self.digest])

    def matches(self, page_hash: str) -> bool:
        return page_hash[:DIGEST_HEX] == self.digest


def parse(text: str) -> PagePayload:
    """Parse a scanned payload. Raises PayloadError with a Chinese sentence for anything else
    (another QR code, a truncated scan, a hand-typed mistake)."""
    parts = str(text).strip().split("|")
    if not parts or parts[0] != PREFIX:
        raise PayloadError("这不是本程序打印页上的二维码（应以 FRP1| 开头）。")
    if len(parts) != 7:
        raise PayloadError(f"二维码内容不完整：应有 7 段，实际 {len(parts)} 段。")
    _, record_id, seq, copy, page, pages, digest = parts
    if not _RECORD.match(record_id):
        raise PayloadError("二维码中的记录编号格式不正确。")
    try:
        seq_n, copy_n, page_n, pages_n = (int(x) for x in (seq, copy, page, pages))
    except ValueError:
        raise PayloadError("二维码中的版本、份数或页码不是数字。") from None
    if seq_n < 1 or copy_n < 1 or not 1 <= page_n <= pages_n:
        raise PayloadError(f"二维码中的页码不合理（第{page_n}页 共{pages_n}页）。")
    if not _HEX.match(digest):
        raise PayloadError("二维码中的页面哈希格式不正确。")
    return PagePayload(record_id, seq_n, copy_n, page_n, pages_n, digest)


def draw_qr(canvas, text: str, x: float, y: float, size: float) -> None:
    """Draw the QR code of ``text`` with its lower-left corner at (x, y), ``size`` points wide
    including the 4-module quiet zone the standard asks for. Error correction M. Drawn as vector
    rectangles in module units (one per dark run of a row) under a scaling transform, so the PDF
    stays small and fast to write."""
    qr = segno.make(text, error="m", micro=False, boost_error=False, mask=MASK)
    matrix = qr.matrix
    n = len(matrix)
    quiet = 4
    ops = []
    for r, row in enumerate(matrix):
        y0 = quiet + n - 1 - r
        c = 0
        while c < n:
            if row[c]:
                start = c
                while c < n and row[c]:
                    c += 1
                ops.append(f"{quiet + start} {y0} {c - start} 1 re")
            else:
                c += 1
    module = size / (n + 2 * quiet)
    canvas.saveState()
    canvas.translate(x, y)
    canvas.scale(module, module)
    canvas.setFillColorRGB(0, 0, 0)
    canvas.addLiteral("\n".join(ops) + "\nf")
    canvas.restoreState()
