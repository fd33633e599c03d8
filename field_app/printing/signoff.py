"""Binding paper to the log: print entries, page sign-off, photos of signed pages, page checks.

Works against the evidence store's public API (``append``, ``put_media``, ``record_versions``,
``entry``); nothing here changes the store. Entries written (docs/printing.md has the payloads):

- ``print``: one print of one record version — the PDF (stored in the vault, its SHA-256 in
  ``media``), the hash of every page, the copies, the refusals printed, and the prints of older
  versions it voids;
- ``print.signoff``: the outcome of one or more pages of a print — ``signed``, or ``refused`` with
  who refused, the reason and the witness;
- ``print.photo``: a photo of a signed page (in the vault, its SHA-256 in ``media``).

They share the record id ``paper:<record id>`` (``paper_record_id``), so
``store.record_versions(paper_record_id(rid))`` reads a record's whole paper trail in one query;
like a recording's parts, they are a list of events, not versions of one value (no ``supersedes``).

What a print *is* is derived from the log every time (``history``), never stored as mutable state:

- a print whose record version was superseded by a later entry of the record (a correction, or a
  draft reopening it) is **void** (作废);
- an older print of the current version is **replaced** by the latest one (e.g. re-printed so that
  a refusal appears on paper);
- the latest print of the current version is **current**; the record's paper is **complete** when
  every page of every copy of the current print has an outcome.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, Iterable
from zoneinfo import ZoneInfo

from field_app.printing.layout import layout_for
from field_app.printing.qr import PagePayload, parse
from field_app.printing.render import PrintedRefusal, PrintMeta, RenderedDocument, render_document
from forms import schema as fs
from forms.loader import Registry, default_registry

BEIJING = ZoneInfo("Asia/Shanghai")
PRINT, SIGNOFF, PHOTO = "print", "print.signoff", "print.photo"
RECORD = "record"
PAPER_PREFIX = "paper:"
OUTCOME_LABELS = {"signed": "已签名", "refused": "拒绝签名"}


class PrintError(ValueError):
    """A printing or sign-off action that cannot be done; ``str(exc)`` is a Chinese sentence."""


def paper_record_id(record_id: str) -> str:
    """The record id of a record's paper trail (kept within the store's 128-character limit)."""
    if len(record_id) + len(PAPER_PREFIX) <= 128:
        return PAPER_PREFIX + record_id
    return PAPER_PREFIX + hashlib.sha256(record_id.encode("utf-8")).hexdigest()


def _when(entry) -> str:
    return datetime.fromtimestamp(entry.wall_time / 1e9, BEIJING).isoformat(timespec="seconds")


# -- the derived view ----------------------------------------------------------------------------

@dataclass(frozen=True)
class PageOutcome:
    copy: int
    page: int
    outcome: str  # signed | refused
    seq: int
    at: str
    role: str = ""
    who: str = ""
    reason: str = ""
    witness: str = ""
    note: str = ""

    def describe(self) -> str:
        if self.outcome == "refused":
            return f"{self.who}（{self.role}）拒绝签名，理由：{self.reason}，见证人：{self.witness}"
        return "已签名" + (f"（{self.note}）" if self.note else "")


@dataclass(frozen=True)
class PrintState:
    seq: int
    version_seq: int
    version_no: int
    printed_at: str
    pdf_sha256: str
    document: dict[str, Any]
    title: str
    pages_per_copy: int
    copy_labels: tuple[str, ...]
    page_hashes: dict[tuple[int, int], str]
    status: str  # current | replaced | void
    status_reason: str = ""
    outcomes: dict[tuple[int, int], PageOutcome] = field(default_factory=dict)
    photos: dict[tuple[int, int], tuple[str, ...]] = field(default_factory=dict)

    @property
    def copies(self) -> int:
        return max(1, len(self.copy_labels))

    def all_pages(self) -> list[tuple[int, int]]:
        return [(c, p) for c in range(1, self.copies + 1) for p in range(1, self.pages_per_copy + 1)]

    def missing(self) -> list[tuple[int, int]]:
        """(copy, page) without an outcome."""
        return [k for k in self.all_pages() if k not in self.outcomes]

    def copy_label(self, copy: int) -> str:
        return self.copy_labels[copy - 1] if self.copy_labels else ""


@dataclass(frozen=True)
class PaperHistory:
    record_id: str
    latest_seq: int  # latest entry of the record (a record version or a draft reopening it)
    latest_type: str
    version_no: int  # 第N版 of the latest record version
    prints: tuple[PrintState, ...]

    @property
    def current(self) -> PrintState | None:
        return next((p for p in reversed(self.prints) if p.status == "current"), None)

    @property
    def complete(self) -> bool:
        """True when the current version is printed and every page of every copy has an outcome."""
        cur = self.current
        return cur is not None and not cur.missing()

    def summary(self) -> str:
        """One Chinese sentence for the officer."""
        cur = self.current
        if self.latest_type != RECORD:
            return "文书正在修改（草稿），定稿后才能打印；原打印件已作废" if self.prints else \
                "文书尚未定稿，定稿后才能打印"
        if cur is None:
            return f"第{self.version_no}版尚未打印" + ("；旧版本的打印件已作废" if self.prints else "")
        missing = cur.missing()
        if not missing:
            return f"第{self.version_no}版已打印，全部{len(cur.all_pages())}页均已记录签名结果"
        return f"第{self.version_no}版已打印，还有{_pages_text(cur, missing)}没有记录签名结果"


def _pages_text(p: PrintState, keys: list[tuple[int, int]]) -> str:
    if p.copies == 1:
        return "第" + "、".join(str(pg) for _, pg in keys) + "页"
    return "、".join(f"{p.copy_label(c)}第{pg}页" for c, pg in keys)


def _record_chain(store, record_id: str) -> list:
    return [e for e in store.record_versions(record_id)]


def history(store, record_id: str) -> PaperHistory:
    """The paper trail of a record: every print with its status, page outcomes and photos."""
    chain = _record_chain(store, record_id)
    if not chain:
        raise PrintError(f"证据库中没有编号为 {record_id} 的记录。")
    latest = chain[-1]
    numbers = _version_numbers(chain)
    prints: list[dict] = []
    by_seq: dict[int, dict] = {}
    for e in store.record_versions(paper_record_id(record_id)):
        p = e.payload
        if e.entry_type == PRINT:
            item = {"entry": e, "payload": p, "outcomes": {}, "photos": {}}
            prints.append(item)
            by_seq[e.seq] = item
        elif e.entry_type in (SIGNOFF, PHOTO) and p.get("print") in by_seq:
            item = by_seq[p["print"]]
            for ref in p.get("pages", []):
                key = (int(ref["copy"]), int(ref["page"]))
                if e.entry_type == SIGNOFF:
                    item["outcomes"][key] = PageOutcome(
                        key[0], key[1], p["outcome"], e.seq, _when(e), p.get("role", ""),
                        p.get("who", ""), p.get("reason", ""), p.get("witness", ""),
                        p.get("note", ""))
                else:
                    item["photos"][key] = item["photos"].get(key, ()) + tuple(e.media)
    states = []
    for i, item in enumerate(prints):
        p, e = item["payload"], item["entry"]
        vseq = int(p["record"]["seq"])
        if vseq != latest.seq:
            status = "void"
            reason = ("记录在打印后被更正（现行为第{}版）".format(numbers.get(latest.seq))
                      if latest.entry_type == RECORD else "记录在打印后被重新打开修改")
        elif any(int(q["payload"]["record"]["seq"]) == vseq for q in prints[i + 1:]):
            status, reason = "replaced", "已重新打印"
        else:
            status, reason = "current", ""
        states.append(PrintState(
            e.seq, vseq, numbers.get(vseq, 0), p.get("printed_at", _when(e)), p["pdf"]["sha256"],
            p["document"], p.get("title", ""), int(p["pdf"]["pages_per_copy"]),
            tuple(p.get("copy_labels", [])),
            {(int(x["copy"]), int(x["page"])): x["hash"] for x in p["pages"]},
            status, reason, item["outcomes"], item["photos"]))
    return PaperHistory(record_id, latest.seq, latest.entry_type,
                        numbers.get(latest.seq, max(numbers.values(), default=0)), tuple(states))


def _version_numbers(chain: list) -> dict[int, int]:
    """seq → 第N版 for the record entries of a record chain (drafts are not versions)."""
    out, n = {}, 0
    for e in chain:
        if e.entry_type == RECORD:
            n += 1
            out[e.seq] = n
    return out


# -- printing ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PrintJob:
    entry: Any  # the ``print`` entry
    rendered: RenderedDocument


def case_number(store, values: dict, doc: fs.DocumentDef, session_id: str | None) -> str:
    """The 案号 for the page header: the document's own case field, else the case number the
    procedure session was started with (its ``procedure.start`` context), else empty."""
    layout = layout_for(doc)
    if layout.case_field and values.get(layout.case_field):
        return str(values[layout.case_field])
    if session_id:
        try:
            start = store.record_versions(session_id)
        except Exception:  # a malformed session id in an old record must not stop printing
            return ""
        for e in start:
            if e.entry_type == "procedure.start":
                return str(e.payload.get("context", {}).get("case_no") or "")
    return ""


def print_record(store, record_id: str, *, registry: Registry | None = None,
                 now: datetime | None = None) -> PrintJob:
    """Render the latest version of a finalized record, store the PDF in the vault and append the
    ``print`` entry (PDF hash, page hashes). Refusals recorded on earlier prints of the same
    version are printed into their signature slots. Refused (PrintError) for an unknown record or
    one whose latest entry is a draft. Dangerous: every call is a new print in the log — the UI
    should ask before printing again."""
    registry = registry or default_registry()
    chain = _record_chain(store, record_id)
    if not chain:
        raise PrintError(f"证据库中没有编号为 {record_id} 的记录。")
    latest = chain[-1]
    if latest.entry_type != RECORD:
        raise PrintError("这份文书还没有定稿（最新的是草稿），定稿后才能打印。")
    payload = latest.payload
    try:
        doc = registry.document_for(payload["document"])
    except (KeyError, TypeError):
        raise PrintError(f"找不到这份记录使用的文书定义 {payload.get('document')}，无法打印。") from None
    values = payload.get("values", {})
    past = history(store, record_id)
    refusals: dict[tuple[int, int, str], PrintedRefusal] = {}
    for p in past.prints:  # refusals carry onto every later print of the same version
        if p.version_seq == latest.seq:
            for (c, pg), o in p.outcomes.items():
                if o.outcome == "refused":
                    refusals[(c, pg, o.role)] = PrintedRefusal(o.role, o.who, o.witness, o.at)
    printed_at = (now or datetime.now(BEIJING)).astimezone(BEIJING).isoformat(timespec="seconds")
    meta = PrintMeta(record_id, latest.seq, past.version_no,
                     case_number(store, values, doc, payload.get("session")), printed_at,
                     refusals=refusals)
    rendered = render_document(doc, values, meta)
    ref = store.put_media(io.BytesIO(rendered.pdf), media_type="application/pdf")
    if ref.sha256 != rendered.sha256:
        raise PrintError("PDF 存入证据库后哈希不一致，打印没有记录。请重试。")
    voids = [p.seq for p in past.prints if p.status == "void"]
    entry = store.append(PRINT, {
        "record": {"id": record_id, "seq": latest.seq, "version": past.version_no},
        "document": doc.ref, "title": doc.title, "case_no": meta.case_no, "printed_at": printed_at,
        "pdf": {"sha256": rendered.sha256, "size": len(rendered.pdf),
                "pages_per_copy": rendered.pages_per_copy, "pages": len(rendered.pages)},
        "copy_labels": list(rendered.copy_labels),
        "pages": [pg.ref() for pg in rendered.pages],
        "refusals_printed": [{"copy": c, "page": pg, "role": role, "who": r.who,
                              "witness": r.witness} for (c, pg, role), r in sorted(refusals.items())],
        "voids": voids,
        "reprint_of": next((p.seq for p in reversed(past.prints) if p.status == "current"), None),
        "missing_glyphs": rendered.missing_glyphs,
    }, record_id=paper_record_id(record_id), media=[ref.sha256])
    return PrintJob(entry, rendered)


# -- sign-off ------------------------------------------------------------------------------------

def _print_state(store, print_seq: int) -> tuple[PrintState, str, PaperHistory]:
    entry = store.entry(print_seq)
    if entry is None or entry.entry_type != PRINT:
        raise PrintError(f"日志第 {print_seq} 条不是打印记录。")
    record_id = entry.payload["record"]["id"]
    past = history(store, record_id)
    state = next(p for p in past.prints if p.seq == print_seq)
    if state.status == "void":
        raise PrintError(f"这份打印件已作废：{state.status_reason}。请打印现行版本后再记录签名。")
    if state.status == "replaced":
        current = past.current
        where = f"（日志第 {current.seq} 条）" if current else ""
        raise PrintError(f"这份打印件已被重新打印的文书取代{where}，请在新的打印件上记录签名。")
    return state, record_id, past


def _targets(state: PrintState, pages: int | Iterable[int] | None,
             copy: int | None) -> list[tuple[int, int]]:
    if copy is not None and not 1 <= copy <= state.copies:
        raise PrintError(f"没有第{copy}份：这次打印共{state.copies}份。")
    copies = [copy] if copy is not None else list(range(1, state.copies + 1))
    if pages is None:
        wanted = list(range(1, state.pages_per_copy + 1))
    else:
        wanted = [pages] if isinstance(pages, int) else list(pages)
        if not wanted:
            raise PrintError("请选择要记录的页。")
    bad = [p for p in wanted if not isinstance(p, int) or not 1 <= p <= state.pages_per_copy]
    if bad:
        raise PrintError(f"第{bad[0]}页不存在：这次打印每份共{state.pages_per_copy}页。")
    return [(c, p) for c in copies for p in wanted]


def _signoff(store, state: PrintState, record_id: str, keys: list[tuple[int, int]],
             payload: dict) -> Any:
    same = [k for k in keys if k in state.outcomes and
            state.outcomes[k].outcome == payload["outcome"] and
            state.outcomes[k].role == payload.get("role", "")]
    if same:
        raise PrintError(f"{_pages_text(state, same)}已经记录为"
                         f"“{OUTCOME_LABELS[payload['outcome']]}”，不必重复记录。")
    payload = {"print": state.seq, "pages": [{"copy": c, "page": p} for c, p in keys], **payload}
    return store.append(SIGNOFF, payload, record_id=paper_record_id(record_id))


def sign(store, print_seq: int, pages: int | Iterable[int] | None = None, *,
         copy: int | None = None, note: str = "") -> Any:
    """Record that ``pages`` (default: every page; of ``copy``, default: every copy) of the
    current print were signed (and dated) by everyone whose line is on them. A later outcome for
    a page replaces an earlier one in ``history`` (the log keeps both)."""
    state, record_id, _ = _print_state(store, print_seq)
    keys = _targets(state, pages, copy)
    return _signoff(store, state, record_id, keys, {"outcome": "signed", "note": str(note).strip()})


def refuse(store, print_seq: int, pages: int | Iterable[int] | None = None, *,
           copy: int | None = None, role: str | None = None, who: str, reason: str,
           witness: str, registry: Registry | None = None) -> Any:
    """Record that the signer of ``role`` refused to sign ``pages`` (default: every page): who,
    why, and the witness present. Only a signature slot with ``refusal_allowed`` may be refused;
    ``role`` defaults to the document's only such slot. A re-print prints 「…拒绝签名」 with the
    witness into that slot."""
    state, record_id, _ = _print_state(store, print_seq)
    registry = registry or default_registry()
    doc = registry.document_for(state.document)
    allowed = [f.role for f in doc.fields if isinstance(f, fs.SignatureField) and f.refusal_allowed]
    if not allowed:
        raise PrintError(f"《{doc.title}》没有可以记录拒绝签名的签名栏。")
    if role is None:
        role = allowed[0]
    if role not in allowed:
        raise PrintError(f"《{doc.title}》中“{role}”不能记录为拒绝签名；可以记录拒绝签名的是："
                         f"{'、'.join(allowed)}。")
    who, reason, witness = (str(x or "").strip() for x in (who, reason, witness))
    problems = [msg for ok, msg in ((who, "请写明拒绝签名的人的姓名"), (reason, "请写明拒绝签名的理由"),
                                    (witness, "拒绝签名的，应当写明在场见证人的姓名"))
                if not ok]
    if problems:
        raise PrintError("；".join(problems) + "。")
    keys = _targets(state, pages, copy)
    return _signoff(store, state, record_id, keys, {"outcome": "refused", "role": role, "who": who,
                                                    "reason": reason, "witness": witness})


def attach_photo(store, print_seq: int, page: int, photo: Path | bytes | BinaryIO, *,
                 copy: int = 1, media_type: str = "image/jpeg") -> Any:
    """Store a photo of a signed page in the vault and log it against that page of the current
    print. Does not check what the photo shows (no QR decoder in the app)."""
    state, record_id, _ = _print_state(store, print_seq)
    keys = _targets(state, page, copy)
    if isinstance(photo, (bytes, bytearray)):
        if not photo:
            raise PrintError("照片是空的，没有保存。")
        src: Path | BinaryIO = io.BytesIO(bytes(photo))
    elif isinstance(photo, (str, Path)):
        src = Path(photo)
        if not src.is_file():
            raise PrintError(f"找不到照片文件 {src}。")
    else:
        src = photo
    ref = store.put_media(src, media_type=media_type)
    return store.append(PHOTO, {"print": print_seq, "pages": [{"copy": c, "page": p} for c, p in keys],
                                "media_type": media_type}, record_id=paper_record_id(record_id),
                        media=[ref.sha256])


# -- checking a page -----------------------------------------------------------------------------

@dataclass(frozen=True)
class PageCheck:
    status: str  # current | replaced | superseded | mismatch | unknown
    message: str  # Chinese, for the officer or the verifier
    payload: PagePayload
    print_seq: int | None = None

    @property
    def ok(self) -> bool:
        """The page is a faithful print of the record's current version."""
        return self.status in ("current", "replaced")


def verify_page(store, text: str) -> PageCheck:
    """Check a scanned page QR (``text``) against the log: does a ``print`` entry of that record
    version list a page with this copy, number and hash, and is that version still current?
    Raises qr.PayloadError (Chinese) for text that is not a page payload."""
    payload = parse(text)
    chain = _record_chain(store, payload.record_id)
    if not chain:
        return PageCheck("unknown", f"本证据库中没有编号为 {payload.record_id} 的记录"
                                    "（可能记录在另一台设备上，或二维码不属于本单位）。", payload)
    past = history(store, payload.record_id)
    numbers = _version_numbers(chain)
    if payload.version_seq not in numbers:
        return PageCheck("mismatch", f"记录 {payload.record_id} 没有日志序号为 {payload.version_seq} "
                                     "的定稿版本，二维码与证据库不符。", payload)
    page_key = (payload.copy, payload.page)
    for p in reversed(past.prints):
        if p.version_seq != payload.version_seq or p.pages_per_copy != payload.pages:
            continue
        if page_key in p.page_hashes and payload.matches(p.page_hashes[page_key]):
            return _found(p, past, payload)
    return PageCheck("mismatch", f"本页与证据库中记录 {payload.record_id} 第{numbers[payload.version_seq]}版"
                                 "的打印记录不一致：页面可能被替换或改动，或不是本程序打印的。", payload)


def _found(p: PrintState, past: PaperHistory, payload: PagePayload) -> PageCheck:
    copy = f"（{p.copy_label(payload.copy)}）" if p.copy_labels else ""
    where = (f"《{p.title}》第{p.version_no}版{copy}第{payload.page}页 共{payload.pages}页，"
             f"打印于{p.printed_at.replace('T', ' ')[:16]}（日志第 {p.seq} 条）")
    if p.status == "void":
        return PageCheck("superseded", f"本页是{where}，但该版本在打印后已被更正，"
                                       f"这份打印件已作废（现行为第{past.version_no}版）。", payload, p.seq)
    outcome = p.outcomes.get((payload.copy, payload.page))
    state = f"该页{outcome.describe()}" if outcome else "该页尚未记录签名结果"
    if p.status == "replaced":
        return PageCheck("replaced", f"本页与证据库一致：{where}；该版本后来重新打印过。{state}。",
                         payload, p.seq)
    return PageCheck("current", f"本页与证据库一致：{where}，是现行版本。{state}。", payload, p.seq)
