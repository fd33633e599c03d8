"""Export packages (第六十六条: evidence is copied to a medium with a written description; 第六十九条: copies
only with the head's approval). ``build_package`` writes one ZIP::

    说明.pdf            the written description: source devices and officers, case, records, time of the
                        matter and of the export, SHA-256 of every original and of every packaged file,
                        approval number, approver and requester, the watermark text, how to verify
    视频/<录像>.mp4      each recording joined in order and re-encoded with the mark burned in
    文书/<文书>.pdf      each record's printed PDF with the mark stamped on every page
    manifest.json       machine-readable: request, files (sha256, size), sources (original blob sha256,
                        the log entry that references it), per device the log entries involved (wire
                        format, with an RFC 6962 inclusion proof) and the HQ receipt covering them
    manifest.sig        HQ's Ed25519 signature over manifest.json (EXPORT_DOMAIN), key in the manifest

``verify_package(path)`` needs nothing but the ZIP: every file hashes as listed, the manifest is signed
by the HQ key that signed the receipts, each entry hashes to its hash, carries its device's signature
and is included in the receipt's Merkle root, each original's SHA-256 is in an entry's media, and the
说明 names the approval number and the watermark. Pass ``hq_key`` to pin the HQ key (otherwise a forger
with their own key could build a self-consistent package).

Dangerous: building re-encodes the video (CPU time ~ recording length) and reads every entry hash of
each device up to the receipt (inclusion proofs); run it off the event loop.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sync.protocol import merkle
from sync.protocol.chain import ENTRY_DOMAIN, WireEntry, signature_ok
from sync.protocol.errors import ProtocolError
from sync.protocol.receipt import Receipt
from sync.server.web.watermark import CHINA_TZ, Mark, register_pdf_font, stamp_pdf, watermark_video

EXPORT_DOMAIN = b"field-recorder/hq-export/v1\n"
MANIFEST_KIND = "field-recorder hq export"
DESCRIPTION = "说明.pdf"
SCOPES = {"record": "单份文书（记录）", "recording": "单段录音录像", "case": "整个案件"}
_COLS = ("seq, entry_type, record_id, supersedes, payload, media, officers, prev_hash, entry_hash, wall_ns, "
         "mono_ns, signature")


class PackageError(RuntimeError):
    """The package cannot be built (nothing to export, originals damaged, not yet receipted). Chinese."""


@dataclass
class Recording:
    device_id: str
    recording_id: str
    start: dict
    wall_start: int
    wall_end: int | None
    segments: list[tuple[int, str]] = field(default_factory=list)  # (seq, sha256) in order
    seqs: set[int] = field(default_factory=set)


@dataclass
class Document:
    device_id: str
    record_id: str
    title: str
    record_seq: int
    wall_ns: int
    case_no: str
    print_seq: int | None = None
    pdf_sha: str | None = None
    printed_at: str = ""
    signoff: str = ""
    seqs: set[int] = field(default_factory=set)  # the log entries of this document in the manifest


@dataclass
class Sources:
    """What one export covers. ``seqs`` are the log entries (per device) the manifest carries: those
    of the listed recordings and documents (drop an item from the lists to leave it out)."""

    scope: str
    target: str
    device_id: str | None
    title: str = ""
    case_no: str = ""
    recordings: list[Recording] = field(default_factory=list)
    documents: list[Document] = field(default_factory=list)
    devices: dict[str, dict] = field(default_factory=dict)  # id -> {"name", "department", "public_key"}
    officers: dict[str, str] = field(default_factory=dict)  # 执法证号 -> name

    @property
    def departments(self) -> set[str]:
        return {d["department"] for d in self.devices.values()}

    @property
    def seqs(self) -> dict[str, set[int]]:
        out: dict[str, set[int]] = {}
        for item in [*self.recordings, *self.documents]:
            out.setdefault(item.device_id, set()).update(item.seqs)
        return out


@dataclass(frozen=True)
class PackageInfo:
    """Who asked, who approved, when: written into the 说明 and the manifest."""

    request_id: str
    reason: str
    requester: str  # username
    requester_name: str
    requester_department: str
    approver: str
    approver_name: str
    approval_no: str
    approved_ns: int
    exported_ns: int

    def mark(self) -> Mark:
        return Mark(self.requester_name, self.requester_department, self.approval_no, self.exported_ns)


def _fmt(ns: int | None) -> str:
    return datetime.fromtimestamp(ns / 1e9, CHINA_TZ).strftime("%Y-%m-%d %H:%M:%S") if ns else "—"


# --- what an export covers -----------------------------------------------------------------------------

def collect_sources(hq, scope: str, target: str, device_id: str | None = None) -> Sources:
    """The recordings, documents and entries of one export; PackageError (Chinese) if there is none.
    ``record``/``recording`` need ``device_id``; ``case`` takes the case number and spans all devices."""
    if scope not in SCOPES:
        raise PackageError("导出范围只能是单份文书、单段录音录像或整个案件。")
    src = Sources(scope, target, device_id)
    with hq.db.transaction() as tx:
        if scope == "record":
            _collect_record(tx, src, device_id, target)
            if src.documents:
                doc = src.documents[0]
                src.title, src.case_no = f"{doc.title}（{doc.record_id[:8]}）", doc.case_no
                _recordings_covering(tx, src, device_id, doc.wall_ns)
        elif scope == "recording":
            rec = _recording(tx, src, device_id, target)
            if rec is not None:
                src.case_no = str(rec.start.get("case_no") or "")
                src.title = f"录音录像 {_fmt(rec.wall_start)}（{rec.start.get('matter') or target}）"
        else:
            _collect_case(tx, src, target)
            src.title, src.case_no = f"案件 {target}", target
        if not src.recordings and not src.documents:
            raise PackageError("没有找到要导出的记录或录音录像（可能尚未同步到局端）。")
        refresh_people(tx, src)
    return src


def refresh_people(tx, src: Sources) -> None:
    """Fill ``devices`` and ``officers`` from the entries now listed (call again after dropping items)."""
    src.devices, src.officers = {}, {}
    for dev, seqs in src.seqs.items():
        row = tx.one("SELECT name, department, public_key FROM devices WHERE device_id = ?", (dev,))
        src.devices[dev] = {"name": row[0], "department": row[1], "public_key": row[2]}
        for (officers,) in tx.all(f"SELECT officers FROM entries WHERE device_id = ? AND seq IN "
                                  f"({','.join('?' * len(seqs))})", (dev, *sorted(seqs))):
            for cert in json.loads(officers):
                src.officers.setdefault(cert, "")
    for cert in src.officers:
        row = tx.one("SELECT name FROM officers WHERE cert_no = ?", (cert,))
        src.officers[cert] = row[0] if row else "（名册中无此人）"


def _collect_record(tx, src: Sources, device_id: str, record_id: str) -> None:
    row = tx.one("SELECT seq, payload, wall_ns FROM entries WHERE device_id = ? AND entry_type = 'record' "
                 "AND record_id = ? ORDER BY seq DESC LIMIT 1", (device_id, record_id))
    if row is None:
        return
    seq, payload, wall = row[0], json.loads(row[1]), row[2]
    case_no = str((payload.get("values") or {}).get("case_no") or "")
    doc = Document(device_id, record_id, str((payload.get("document") or {}).get("id") or "文书"), seq, wall, case_no)
    doc.seqs.add(seq)
    session = payload.get("session")
    if session:
        start = tx.one("SELECT seq, payload FROM entries WHERE device_id = ? AND entry_type = 'procedure.start' "
                       "AND payload LIKE ?", (device_id, f'%"session":"{session}"%'))
        if start:
            doc.seqs.add(start[0])
            doc.case_no = case_no = case_no or str((json.loads(start[1]).get("context") or {}).get("case_no") or "")
    printed = tx.one("SELECT seq, payload, media FROM entries WHERE device_id = ? AND entry_type = 'print' "
                     "AND record_id = ? ORDER BY seq DESC LIMIT 1", (device_id, f"paper:{record_id}"))
    if printed:
        p = json.loads(printed[1])
        doc.print_seq, doc.title = printed[0], str(p.get("title") or doc.title)
        doc.pdf_sha = (json.loads(printed[2]) or [None])[0]  # the media list is what the signed entry binds
        doc.printed_at = str(p.get("printed_at") or "")
        doc.seqs.add(printed[0])
        for sseq, spayload in tx.all("SELECT seq, payload FROM entries WHERE device_id = ? AND entry_type = "
                                     "'print.signoff' AND record_id = ? ORDER BY seq", (device_id, f"paper:{record_id}")):
            s = json.loads(spayload)
            if s.get("print") == printed[0]:
                doc.signoff = {"signed": "已签字", "refused": "拒绝签字"}.get(s.get("outcome"), str(s.get("outcome")))
                doc.seqs.add(sseq)
    if case_no:
        case = tx.one("SELECT seq FROM entries WHERE device_id = ? AND entry_type = 'case' AND payload LIKE ? "
                      "ORDER BY seq DESC LIMIT 1", (device_id, f'%"case_no":"{case_no}"%'))
        if case:
            doc.seqs.add(case[0])
    src.documents.append(doc)


def _recording(tx, src: Sources, device_id: str, recording_id: str) -> Recording | None:
    if any(r.device_id == device_id and r.recording_id == recording_id for r in src.recordings):
        return None
    rows = tx.all("SELECT seq, entry_type, payload, media, wall_ns FROM entries WHERE device_id = ? AND record_id = ? "
                  "AND entry_type LIKE ? ORDER BY seq", (device_id, recording_id, "recording.%"))
    start = next((r for r in rows if r[1] == "recording.start"), None)
    if start is None:
        return None
    stop = next((r for r in rows if r[1] == "recording.stop"), None)
    rec = Recording(device_id, recording_id, json.loads(start[2]), start[4], stop[4] if stop else None)
    segments = sorted((json.loads(r[2]).get("index", 0), r[0], json.loads(r[3])[0]) for r in rows
                      if r[1] == "recording.segment" and json.loads(r[3]))
    rec.segments = [(seq, sha) for _, seq, sha in segments]
    for r in rows:
        if r[1] in ("recording.start", "recording.stop", "recording.segment", "recording.gap", "recording.pause"):
            rec.seqs.add(r[0])
    src.recordings.append(rec)
    return rec


def _recordings_covering(tx, src: Sources, device_id: str, wall_ns: int) -> None:
    """Recordings on the device that were running when the record was finalized."""
    for (rid,) in tx.all("SELECT record_id FROM entries WHERE device_id = ? AND entry_type = 'recording.start' "
                         "AND wall_ns <= ? ORDER BY seq", (device_id, wall_ns)):
        stop = tx.one("SELECT wall_ns FROM entries WHERE device_id = ? AND entry_type = 'recording.stop' "
                      "AND record_id = ?", (device_id, rid))
        if stop is None or stop[0] >= wall_ns:
            _recording(tx, src, device_id, rid)


def _collect_case(tx, src: Sources, case_no: str) -> None:
    like = f'%"case_no":"{case_no}"%'
    sessions: set[tuple[str, str]] = set()
    for device, payload in tx.all("SELECT device_id, payload FROM entries WHERE entry_type = 'procedure.start' "
                                  "AND payload LIKE ?", (like,)):
        p = json.loads(payload)
        if (p.get("context") or {}).get("case_no") == case_no and p.get("session"):
            sessions.add((device, p["session"]))
    records: set[tuple[str, str]] = set()
    for device, rid, payload in tx.all("SELECT device_id, record_id, payload FROM entries WHERE entry_type = 'record' "
                                       "ORDER BY device_id, seq"):
        p = json.loads(payload)
        if (p.get("values") or {}).get("case_no") == case_no or (device, p.get("session")) in sessions:
            records.add((device, rid))
    for device, rid in sorted(records):
        _collect_record(tx, src, device, rid)
    for device, rid, payload in tx.all("SELECT device_id, record_id, payload FROM entries WHERE entry_type = "
                                       "'recording.start' AND payload LIKE ? ORDER BY device_id, seq", (like,)):
        if json.loads(payload).get("case_no") == case_no:
            _recording(tx, src, device, rid)
    src.documents.sort(key=lambda d: (d.device_id, d.record_seq))


# --- building -------------------------------------------------------------------------------------------

def _sha_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _safe(name: str) -> str:
    return re.sub(r'[\\/:*?"<>|\s]+', "_", name).strip("_")[:60] or "文件"


def _video_inputs(hq, rec: Recording) -> list[Path]:
    """A's ``playback.joined_mp4`` when it exists (cached remux of the segments), else the segments
    themselves in order (their timestamps continue the recording's timeline, so watermark_video joins
    them while re-encoding)."""
    try:
        from sync.server.web.playback import joined_mp4
    except ImportError:
        joined_mp4 = None
    if joined_mp4 is not None:
        try:
            return [Path(joined_mp4(hq, rec.device_id, rec.recording_id))]
        except Exception:  # noqa: BLE001 - fall back to the segments; they are the originals anyway
            pass
    return [hq.blobs.path(sha) for _, sha in rec.segments]


def _device_evidence(hq, device_id: str, seqs: set[int]) -> dict:
    """The entries (wire format + inclusion proof) and the smallest receipt covering all of them."""
    top = max(seqs)
    with hq.db.transaction() as tx:
        row = tx.one("SELECT body FROM receipts WHERE device_id = ? AND size >= ? ORDER BY size LIMIT 1",
                     (device_id, top))
        if row is None:
            raise PackageError(f"设备 {device_id} 的相关记录尚未被局端回执覆盖（同步未完成），暂不能导出。")
        receipt = json.loads(row[0])
        leaves = [bytes.fromhex(h) for (h,) in tx.all("SELECT entry_hash FROM entries WHERE device_id = ? AND seq <= ? "
                                                      "ORDER BY seq", (device_id, receipt["size"]))]
        rows = tx.all(f"SELECT {_COLS} FROM entries WHERE device_id = ? AND seq IN ({','.join('?' * len(seqs))}) "
                      "ORDER BY seq", (device_id, *sorted(seqs)))
    entries = []
    for seq, etype, rid, sup, payload, media, officers, prev, hashed, wall, mono, sig in rows:
        wire = {"seq": seq, "type": etype, "record": rid, "supersedes": sup, "payload": payload,
                "media": json.loads(media), "officers": json.loads(officers), "prev": prev, "hash": hashed,
                "wall": wall, "mono": mono, "signature": sig}
        wire["proof"] = [p.hex() for p in merkle.inclusion_proof(leaves, seq - 1).path]
        entries.append(wire)
    return {"receipt": receipt, "entries": entries}


def build_package(hq, sources: Sources, info: PackageInfo, out_dir: Path) -> tuple[Path, str, int]:
    """Build the ZIP under ``out_dir``; returns (path, sha256, size). PackageError (Chinese) if an
    original is missing or damaged or not yet covered by a receipt. Written to a temporary name and
    renamed, so a half-built package is never left under the final name."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    mark = info.mark()
    work = Path(tempfile.mkdtemp(prefix="build-", dir=out_dir))
    try:
        evidence = {dev: _device_evidence(hq, dev, seqs) for dev, seqs in sorted(sources.seqs.items())}
        originals: list[dict] = []
        for rec in sources.recordings:
            for seq, sha in rec.segments:
                originals.append({"sha256": sha, "kind": "录像分段", "device": rec.device_id, "seq": seq,
                                  "of": rec.recording_id})
        for doc in sources.documents:
            if doc.pdf_sha:
                originals.append({"sha256": doc.pdf_sha, "kind": "打印文书 PDF", "device": doc.device_id,
                                  "seq": doc.print_seq, "of": doc.record_id})
        for item in originals:
            size = hq.blobs.size(item["sha256"])
            if size is None:
                raise PackageError(f"原始文件 {item['sha256'][:12]}… 不在局端，无法导出。")
            if hq.blobs.hash_blob(item["sha256"]) != item["sha256"]:
                raise PackageError(f"原始文件 {item['sha256'][:12]}… 已损坏（内容与哈希不符），无法导出。")
            item["size"] = size
        files: dict[str, dict] = {}
        video_dir, doc_dir = work / "视频", work / "文书"
        for i, rec in enumerate(sources.recordings, 1):
            if not rec.segments:
                continue
            video_dir.mkdir(exist_ok=True)
            name = f"视频/{i:02d}_{_fmt(rec.wall_start)[:10]}_{rec.recording_id[-8:]}.mp4"
            stats = watermark_video(_video_inputs(hq, rec), work / name, mark)
            files[name] = {"kind": "录音录像（加水印复制件）", "sources": [sha for _, sha in rec.segments],
                           "frames": stats["frames"], "duration": round(stats["duration"], 3)}
        for i, doc in enumerate(sources.documents, 1):
            if not doc.pdf_sha:
                continue
            doc_dir.mkdir(exist_ok=True)
            name = f"文书/{i:02d}_{_safe(doc.title)}_{doc.record_id[:8]}.pdf"
            pages = stamp_pdf(hq.blobs.path(doc.pdf_sha), work / name, mark)
            files[name] = {"kind": "文书（加盖复制件标记）", "sources": [doc.pdf_sha], "pages": pages}
        for name, meta in files.items():
            meta["sha256"], meta["size"] = _sha_file(work / name), (work / name).stat().st_size
        write_description(work / DESCRIPTION, sources, info, originals, files)
        files[DESCRIPTION] = {"kind": "说明", "sha256": _sha_file(work / DESCRIPTION),
                              "size": (work / DESCRIPTION).stat().st_size}
        manifest = {
            "v": 1, "kind": MANIFEST_KIND,
            "hq": {"hq_id": hq.identity.hq_id, "public_key": hq.identity.public_key.hex()},
            "request": {"id": info.request_id, "scope": sources.scope, "target": sources.target,
                        "device": sources.device_id, "title": sources.title, "case_no": sources.case_no,
                        "reason": info.reason, "requester": info.requester, "requester_name": info.requester_name,
                        "requester_department": info.requester_department, "approver": info.approver,
                        "approver_name": info.approver_name, "approval_no": info.approval_no,
                        "approved_ns": info.approved_ns, "exported_ns": info.exported_ns},
            "watermark": mark.lines(),
            "files": files,
            "sources": originals,
            "devices": {dev: {**sources.devices[dev], **ev} for dev, ev in evidence.items()},
        }
        body = json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8")
        signature = hq.identity.sign(EXPORT_DOMAIN + body)
        final = out_dir / f"导出包_{_safe(info.approval_no)}.zip"
        tmp_zip = work / "package.zip.part"
        with zipfile.ZipFile(tmp_zip, "w") as zf:
            zf.writestr("manifest.json", body, compress_type=zipfile.ZIP_DEFLATED)
            zf.writestr("manifest.sig", signature.hex() + "\n")
            for name in [DESCRIPTION, *sorted(n for n in files if n != DESCRIPTION)]:
                zf.write(work / name, name, compress_type=zipfile.ZIP_STORED)
        with open(tmp_zip, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_zip, final)
        return final, _sha_file(final), final.stat().st_size
    finally:
        shutil.rmtree(work, ignore_errors=True)


# --- the written description (说明) ----------------------------------------------------------------------

def write_description(path: Path, src: Sources, info: PackageInfo, originals: list[dict], files: dict) -> None:
    """The 说明 PDF (第六十六条) in Chinese; every value also appears in manifest.json."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = register_pdf_font()
    body = ParagraphStyle("b", fontName=font, fontSize=10, leading=15, wordWrap="CJK")
    small = ParagraphStyle("s", parent=body, fontSize=8, leading=11)
    head = ParagraphStyle("h", parent=body, fontSize=12, leading=18, spaceBefore=8)
    title = ParagraphStyle("t", parent=body, fontSize=17, leading=26, alignment=1)
    hexs = ParagraphStyle("x", parent=small, fontName="Courier", fontSize=7, leading=9, wordWrap=None)
    mark = info.mark()

    def esc(text: object) -> str:
        return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    def kv(rows: list[tuple[str, object]]) -> Table:
        t = Table([[Paragraph(esc(k), body), Paragraph(esc(v), body)] for k, v in rows], colWidths=(34 * mm, 136 * mm))
        t.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.grey), ("VALIGN", (0, 0), (-1, -1), "TOP")]))
        return t

    def hashes(rows: list[tuple[str, str, int]]) -> Table:
        data = [[Paragraph("文件", small), Paragraph("SHA-256", small), Paragraph("字节", small)]]
        data += [[Paragraph(esc(n), small), Paragraph(sha, hexs), Paragraph(str(size), small)] for n, sha, size in rows]
        t = Table(data, colWidths=(52 * mm, 102 * mm, 16 * mm), repeatRows=1)
        t.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.grey), ("VALIGN", (0, 0), (-1, -1), "TOP")]))
        return t

    times = [r.wall_start for r in src.recordings] + [d.wall_ns for d in src.documents]
    ends = [r.wall_end or r.wall_start for r in src.recordings] + [d.wall_ns for d in src.documents]
    first_rec = src.recordings[0].start if src.recordings else {}
    story = [Paragraph("执法全过程记录资料复制件说明", title), Spacer(1, 4 * mm),
             Paragraph("依据《行政执法全过程记录实施细则》第六十六条、第六十九条，经负责人批准，将下列执法全过程记录资料"
                       "转化至本导出包，特作说明如下。", body), Paragraph("一、批准与导出", head),
             kv([("批准文号", info.approval_no), ("批准人", info.approver_name), ("批准时间", _fmt(info.approved_ns)),
                 ("申请人", f"{info.requester_name}（{info.requester_department}）"), ("申请事由", info.reason),
                 ("导出时间", _fmt(info.exported_ns)), ("导出范围", f"{SCOPES[src.scope]}：{src.title}"),
                 ("复制件标记", "本导出包内每一帧视频画面、每一页文书均加注以下文字：" + "；".join(mark.lines()))]),
             Paragraph("二、来源", head),
             kv([("案件编号", src.case_no or "—"), ("执法事项", first_rec.get("matter") or "—"),
                 ("地点", first_rec.get("place") or "—"),
                 ("事项时间", f"{_fmt(min(times))} 至 {_fmt(max(ends))}" if times else "—"),
                 ("来源设备", "；".join(f"{d}（{v['name']}，{v['department']}）" for d, v in sorted(src.devices.items()))),
                 ("执法人员", "；".join(f"{n}（执法证号 {c}）" for c, n in sorted(src.officers.items())) or "—")])]
    if src.recordings:
        story.append(Paragraph("三、录音录像", head))
        story.append(kv([(r.recording_id[-12:], f"{_fmt(r.wall_start)} 至 {_fmt(r.wall_end)}，共 {len(r.segments)} 个分段，"
                          f"设备 {r.device_id}") for r in src.recordings]))
    if src.documents:
        story.append(Paragraph("四、文书", head))
        story.append(kv([(d.title, f"记录编号 {d.record_id}；定稿 {_fmt(d.wall_ns)}；"
                          + (f"打印 {d.printed_at}；{d.signoff or '签字情况未登记'}" if d.pdf_sha else "未打印"))
                         for d in src.documents]))
    story += [Paragraph("五、原始文件（局端保存，内容与哈希已核对）", head),
              hashes([(f"{o['kind']}（{o['device'][:12]} 第 {o['seq']} 条记录）", o["sha256"], o["size"]) for o in originals]),
              Paragraph("六、导出包内文件", head),
              hashes([(n, m["sha256"], m["size"]) for n, m in sorted(files.items())]),
              Paragraph("七、核验方法", head),
              Paragraph("manifest.json 列出全部原始文件与包内文件的 SHA-256、引用原始文件的设备日志记录（含设备签名和默克尔包含证明）"
                        "以及局端对这些记录签发的回执；manifest.sig 为局端对清单的签名。运行 "
                        "<font name='Courier'>field-hq verify-export 导出包.zip</font> 可逐项核验，结果为“通过”即说明包内"
                        "文件未被改动、原始文件确在设备签名日志中并已由局端签收。", body)]

    def footer(canvas, doc) -> None:
        canvas.setFont(font, 8)
        canvas.drawString(20 * mm, 10 * mm, f"{mark.text()}    第 {doc.page} 页")

    SimpleDocTemplate(str(path), pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm, topMargin=18 * mm,
                      bottomMargin=18 * mm, title="复制件说明", author=info.approval_no).build(
        story, onFirstPage=footer, onLaterPages=footer)


# --- verifying ------------------------------------------------------------------------------------------

def pdf_text(data: bytes) -> str:
    """The text of a PDF (pypdf), whitespace removed: for checking what a 说明 says."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    return re.sub(r"\s+", "", "".join(page.extract_text() or "" for page in reader.pages))


def verify_package(path: Path, hq_key: bytes | None = None) -> list[str]:
    """Problems found in an export package (Chinese sentences); an empty list means it verifies.
    Never raises for a damaged package: that is a problem in the list."""
    problems: list[str] = []
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        return [f"无法打开导出包：{exc}"]
    with zf:
        names = set(zf.namelist())
        try:
            body = zf.read("manifest.json")
            manifest = json.loads(body)
            signature = bytes.fromhex(zf.read("manifest.sig").decode("ascii").strip())
            key = bytes.fromhex(manifest["hq"]["public_key"])
            files, sources, devices = manifest["files"], manifest["sources"], manifest["devices"]
        except (KeyError, ValueError, TypeError, UnicodeDecodeError) as exc:
            return [f"导出包缺少或损坏了清单（manifest.json / manifest.sig）：{exc}"]
        if hq_key is not None and key != hq_key:
            problems.append("清单不是由本局端的签名密钥签发的（局端公钥不符）。")
        if not signature_ok(key, EXPORT_DOMAIN, body, signature):
            problems.append("清单的局端签名无效（清单被改动）。")
        for name, meta in sorted(files.items()):
            if name not in names:
                problems.append(f"清单列出的文件 {name} 不在导出包中。")
                continue
            digest = hashlib.sha256()
            with zf.open(name) as fh:
                while block := fh.read(1 << 20):
                    digest.update(block)
            if digest.hexdigest() != meta.get("sha256"):
                problems.append(f"文件 {name} 的 SHA-256 与清单不符（文件被改动）。")
        for extra in sorted(names - set(files) - {"manifest.json", "manifest.sig"}):
            problems.append(f"导出包中有清单没有列出的文件 {extra}。")
        referenced = _verify_devices(devices, key, problems)
        for item in sources:
            if (item.get("device"), item.get("sha256")) not in referenced:
                problems.append(f"原始文件 {str(item.get('sha256'))[:12]}… 没有出现在已核验的设备日志记录中。")
        for name, meta in files.items():
            for sha in meta.get("sources", []):
                if not any(s.get("sha256") == sha for s in sources):
                    problems.append(f"文件 {name} 的来源 {sha[:12]}… 不在原始文件清单中。")
        if DESCRIPTION in names and DESCRIPTION in files:
            try:
                text = pdf_text(zf.read(DESCRIPTION))
            except Exception as exc:  # noqa: BLE001 - any parse failure is a finding
                text = ""
                problems.append(f"说明文件无法读取：{exc}")
            wanted = [manifest.get("request", {}).get("approval_no", "")] + list(manifest.get("watermark", []))
            for line in wanted:
                if not line or re.sub(r"\s+", "", line) not in text:
                    problems.append(f"说明中没有写明：{line or '批准文号'}。")
        else:
            problems.append("导出包缺少说明（说明.pdf）。")
    return problems


def _verify_devices(devices: dict, hq_key: bytes, problems: list[str]) -> set[tuple[str, str]]:
    """Check every device's receipt and entries; returns the (device, sha256) pairs of verified media."""
    referenced: set[tuple[str, str]] = set()
    for device_id, dev in sorted(devices.items()):
        who = f"设备 {device_id}"
        try:
            device_key = bytes.fromhex(dev["public_key"])
            receipt = Receipt.from_json(dev["receipt"])
        except (KeyError, ValueError, TypeError) as exc:
            problems.append(f"{who}：回执或设备公钥缺失或损坏（{exc}）。")
            continue
        if not receipt.verify(hq_key=hq_key, device_id=device_id, device_key=device_key):
            problems.append(f"{who}：局端回执的签名无效，或不是签发清单的局端所签。")
            continue
        for raw in dev.get("entries", []):
            try:
                entry = WireEntry.from_json({k: v for k, v in raw.items() if k != "proof"})
                proof = merkle.InclusionProof(entry.seq - 1, receipt.size, tuple(bytes.fromhex(p) for p in raw["proof"]))
            except (ProtocolError, KeyError, ValueError, TypeError):
                problems.append(f"{who}：清单中第 {raw.get('seq')} 条记录格式损坏。")
                continue
            if entry.computed_hash() != entry.entry_hash:
                problems.append(f"{who}：第 {entry.seq} 条记录的内容与哈希不符。")
            elif not signature_ok(device_key, ENTRY_DOMAIN, entry.entry_hash, entry.signature):
                problems.append(f"{who}：第 {entry.seq} 条记录的设备签名无效。")
            elif not merkle.verify_inclusion(entry.entry_hash, proof, receipt.root):
                problems.append(f"{who}：第 {entry.seq} 条记录不在局端回执覆盖的日志中。")
            else:
                referenced.update((device_id, sha) for sha in entry.media)
    return referenced
