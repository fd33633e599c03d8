"""Integrity panels: per device (the log chain, receipts, clock) and per record/recording (its entries
covered by a receipt, its media present and hashing right, the recording's segments complete, gaps and
pauses with their causes).

The device chain is checked by ``sync.server.verify`` itself (``verify_device``: every hash, signature,
link, the Merkle state and every receipt) — not re-implemented here. Its result is cached per device
and log head (``head_size``, receipts), so a page view does not re-verify an unchanged log; a new sync
(new head or receipt) re-verifies.

Guaranteed: nothing is changed; problems are Chinese sentences. Blob hashing results are cached per
process by SHA-256 and size (a blob file is never modified in place by HQ; ``field-hq verify`` re-hashes
everything regardless).
Dangerous: the cache lives in process memory — a database edited behind the server's back stays
"verified" until the head changes; run ``field-hq verify`` for an independent check.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field

from sync.server import verify as hq_verify

CLOCK_SKEW_WARN_MS = hq_verify.CLOCK_SKEW_WARN_MS
_cache: dict[tuple, "DeviceIntegrity"] = {}
_blob_ok: dict[tuple[str, int], bool] = {}
_lock = threading.Lock()


@dataclass
class DeviceIntegrity:
    device_id: str
    department: str
    name: str
    head_size: int
    receipt_size: int
    receipts: int
    clock_offset_ms: int | None
    last_seen_ns: int | None
    missing_blobs: int
    problems: list[str] = field(default_factory=list)

    @property
    def chain_ok(self) -> bool:
        return not self.problems

    @property
    def clock_flagged(self) -> bool:
        return self.clock_offset_ms is not None and abs(self.clock_offset_ms) > CLOCK_SKEW_WARN_MS

    @property
    def flagged(self) -> bool:
        return bool(self.problems)


def device_integrity(hq, device_id: str) -> DeviceIntegrity | None:
    with hq.db.transaction() as tx:
        row = tx.one("SELECT device_id, public_key, head_size, head_hash, frontier, clock_offset_ms, department, name, "
                     "last_seen_ns FROM devices WHERE device_id = ?", (device_id,))
        if row is None:
            return None
        receipts = tx.one("SELECT count(*), max(size) FROM receipts WHERE device_id = ?", (device_id,))
        missing = tx.one("SELECT count(*) FROM blob_refs r LEFT JOIN blobs b ON b.sha256 = r.sha256 "
                         "WHERE r.device_id = ? AND b.sha256 IS NULL", (device_id,))[0]
    key = (id(hq), device_id, row[2], row[3], receipts[0], receipts[1], row[5])
    with _lock:
        cached = _cache.get(key)
    if cached is not None:
        return cached
    with hq.db.transaction() as tx:
        stored = {sha: size for sha, size in tx.all(
            "SELECT b.sha256, b.size FROM blobs b JOIN blob_refs r ON r.sha256 = b.sha256 WHERE r.device_id = ?",
            (device_id,))}
    report = hq_verify.Report()
    hq_verify.verify_device(hq.db, hq.blobs, hq.identity, row[:6], stored, report)
    result = DeviceIntegrity(device_id, row[6], row[7], row[2], receipts[1] or 0, receipts[0] or 0, row[5], row[8],
                             missing, [p for p in report.problems if "设备时钟与局端相差" not in p])
    with _lock:
        _cache[key] = result
    return result


def blob_check(hq, sha256: str, expected_size: int | None = None, notes: list[str] | None = None) -> str | None:
    """None if the blob is present (with the expected size) and hashes to its name; else the problem.
    A file deleted under retention with approval is not a problem: its note goes to ``notes``."""
    size = hq.blobs.size(sha256)
    if size is None:
        removed = hq_verify.removed_under_retention(hq.db)
        if sha256 in removed:
            if notes is not None:
                notes.append(f"媒体文件 {sha256[:12]}…：已按保存期限删除（审批号{removed[sha256]}）。")
            return None
        return f"媒体文件 {sha256[:12]}… 不在局端。"
    if expected_size is not None and size != expected_size:
        return f"媒体文件 {sha256[:12]}… 大小不符（登记 {expected_size} 字节，实际 {size} 字节）。"
    with _lock:
        ok = _blob_ok.get((sha256, size))
    if ok is None:
        ok = hq.blobs.hash_blob(sha256) == sha256
        with _lock:
            _blob_ok[(sha256, size)] = ok
    return None if ok else f"媒体文件 {sha256[:12]}… 内容与标识不符（文件被改动或损坏）。"


def recording_integrity(hq, view) -> dict:
    """Segments complete (index sequence, prev-hash links, sizes, blobs present and right), gaps/pauses."""
    problems, rows = [], []
    prev_sha = ""
    for expected, seg in enumerate(view.segments):
        p = seg.payload
        sha = p.get("sha256") or (seg.media or [""])[0]
        issue = []
        if int(p.get("index", -1)) != expected:
            issue.append(f"序号应为 {expected}，实际 {p.get('index')}")
        if (p.get("prev_segment_sha256") or "") != prev_sha:
            issue.append("与上一段的哈希链接不符")
        blob = blob_check(hq, sha, p.get("size"))
        if blob:
            issue.append(blob)
        prev_sha = sha
        rows.append({"index": p.get("index"), "sha256": sha, "size": p.get("size"), "start": p.get("start"),
                     "end": p.get("end"), "recovered": bool(p.get("recovered")), "ok": not issue, "issue": "；".join(issue)})
        if issue:
            problems.append(f"第 {p.get('index')} 段：" + "；".join(issue))
    if view.stop is not None:
        declared = view.stop.payload.get("segments")
        if declared is not None and int(declared) != len(view.segments):
            problems.append(f"停止录像时记录了 {declared} 段，局端收到 {len(view.segments)} 段。")
    else:
        problems.append("没有“停止录像”记录（录像可能仍在进行，或尚未同步完）。")
    breaks = [m for m in view.markers if m["kind"] in ("pause", "resume", "gap")]
    return {"segments": rows, "problems": problems, "breaks": breaks, "ok": not problems,
            "ended_by": (view.stop.payload.get("ended_by") if view.stop else None)}


def record_integrity(hq, rec: dict) -> dict:
    """The record's device chain, receipt coverage of its entries, its media."""
    device = device_integrity(hq, rec["device_id"])
    entries = [v["entry"] for v in rec["versions"]] + [p["entry"] for p in rec["prints"]]
    newest = max(e.seq for e in entries)
    covered = device is not None and device.receipt_size >= newest
    media = sorted({m for e in entries for m in e.media} | {p["pdf"] for p in rec["prints"] if p["pdf"]})
    media_notes: list[str] = []
    media_problems = [msg for msg in (blob_check(hq, sha, notes=media_notes) for sha in media) if msg]
    out = {"device": device, "covered": covered, "newest_seq": newest, "media": len(media),
           "media_problems": media_problems, "media_notes": media_notes, "recording": None}
    if rec.get("recording") is not None:
        out["recording"] = recording_integrity(hq, rec["recording"])
    out["ok"] = bool(device and device.chain_ok and covered and not media_problems and
                     (out["recording"] is None or out["recording"]["ok"]))
    return out


def receipt_body(hq, device_id: str) -> dict | None:
    with hq.db.transaction() as tx:
        row = tx.one("SELECT body, issued_ns FROM receipts WHERE device_id = ? ORDER BY size DESC LIMIT 1", (device_id,))
    if row is None:
        return None
    return {**json.loads(row[0]), "issued_ns": row[1]}
