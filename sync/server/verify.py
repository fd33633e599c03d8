"""``field-hq verify``: re-check everything HQ holds, independently of how it got there.

Per device: the entries form one chain from the store's genesis (consecutive seq, each hash recomputed,
each device signature valid, each link right), the head and Merkle frontier match the entries, every
receipt is signed by this HQ and its root matches the entries it covers, and every blob an entry covered
by a receipt references is on disk. Per blob: the file exists, has the recorded size and hashes to its
name. A media file removed under retention with the head's approval (the web platform's
``retention_removed`` tombstones) is not a problem: it is reported as a notice with its approval
number, and the log entries that reference it still verify. Problems are Chinese sentences; nothing is
changed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sync.protocol import merkle
from sync.protocol.chain import ENTRY_DOMAIN, entry_hash, genesis_hash, signature_ok
from sync.protocol.receipt import Receipt
from sync.server.blobstore import FileBlobStore
from sync.server.db import Database
from sync.server.identity import Identity

CLOCK_SKEW_WARN_MS = 5 * 60 * 1000
BATCH = 5000


@dataclass
class Report:
    devices: int = 0
    entries: int = 0
    blobs: int = 0
    receipts: int = 0
    problems: list[str] = None  # type: ignore[assignment]
    notices: list[str] = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        self.problems = self.problems or []
        self.notices = self.notices or []

    def summary(self) -> str:
        verdict = "未发现问题" if not self.problems else f"发现 {len(self.problems)} 个问题"
        removed = f"（{len(self.notices)} 个媒体文件已按保存期限经批准删除）" if self.notices else ""
        return (f"核验完成：{self.devices} 台设备，{self.entries} 条记录，{self.blobs} 个媒体文件，"
                f"{self.receipts} 张回执；{verdict}{removed}。")


def removed_under_retention(db: Database) -> dict[str, str]:
    """SHA-256 → approval number of every media file deleted under retention (empty before the web
    platform's tables exist)."""
    with db.transaction() as tx:
        if not tx.has_table("retention_removed"):
            return {}
        return {sha: no for sha, no in tx.all("SELECT sha256, approval_no FROM retention_removed")}


def verify_hq(db: Database, blobs: FileBlobStore, identity: Identity) -> Report:
    report = Report()
    with db.transaction() as tx:
        devices = tx.all("SELECT device_id, public_key, head_size, head_hash, frontier, clock_offset_ms FROM devices "
                         "ORDER BY device_id")
        stored_blobs = {sha: size for sha, size in tx.all("SELECT sha256, size FROM blobs")}
    removed = removed_under_retention(db)
    for device in devices:
        report.devices += 1
        verify_device(db, blobs, identity, device, stored_blobs, report)
    for sha, size in sorted(stored_blobs.items()):
        report.blobs += 1
        actual_size = blobs.size(sha)
        if actual_size is None and sha in removed:
            report.notices.append(f"媒体文件 {sha[:12]}…：已按保存期限删除（审批号{removed[sha]}）。")
        elif actual_size is None:
            report.problems.append(f"媒体文件 {sha[:12]}… 登记为已收到，但文件不见了。")
        elif actual_size != size:
            report.problems.append(f"媒体文件 {sha[:12]}… 大小不符（登记 {size} 字节，实际 {actual_size} 字节）。")
        elif blobs.hash_blob(sha) != sha:
            report.problems.append(f"媒体文件 {sha[:12]}… 内容与标识不符（文件被改动或损坏）。")
    return report


def verify_device(db: Database, blobs: FileBlobStore, identity: Identity, device: tuple, stored_blobs: dict,
                  report: Report) -> None:
    """Check one device's chain, head, Merkle state, receipts and receipt-covered media into ``report``.
    ``device`` = (device_id, public_key hex, head_size, head_hash, frontier JSON, clock_offset_ms);
    ``stored_blobs`` = sha256 → size of the blobs HQ records as complete. Reads only."""
    device_id, public_hex, head_size, head_hash, frontier_state, clock_offset = device
    who = f"设备 {device_id}"
    public = bytes.fromhex(public_hex)
    frontier = merkle.Frontier()
    roots: dict[int, bytes] = {}
    media_first: dict[str, int] = {}
    with db.transaction() as tx:
        wanted = {size: body for size, body in tx.all("SELECT size, body FROM receipts WHERE device_id = ?", (device_id,))}
    expected, link, last = 1, genesis_hash(device_id), 0
    while True:
        with db.transaction() as tx:
            rows = tx.all("SELECT seq, entry_type, record_id, supersedes, payload, media, officers, prev_hash, entry_hash, "
                          "wall_ns, mono_ns, signature FROM entries WHERE device_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                          (device_id, last, BATCH))
        if not rows:
            break
        for seq, etype, record, supersedes, payload, media, officers, prev, hashed, wall, mono, sig in rows:
            report.entries += 1
            media_list = json.loads(media)
            if seq != expected:
                report.problems.append(f"{who}：第 {expected} 条记录缺失（下一条是第 {seq} 条）。")
            computed = entry_hash(prev_hash=bytes.fromhex(prev), entry_type=etype, record_id=record, supersedes=supersedes,
                                  payload_json=payload.encode("utf-8"), media=media_list, officers=json.loads(officers),
                                  wall_time=wall, mono_time=mono)
            if computed.hex() != hashed:
                report.problems.append(f"{who}：第 {seq} 条记录的内容与哈希不符（局端数据库被改动）。")
            elif not signature_ok(public, ENTRY_DOMAIN, computed, bytes.fromhex(sig)):
                report.problems.append(f"{who}：第 {seq} 条记录的设备签名无效。")
            if bytes.fromhex(prev) != link:
                report.problems.append(f"{who}：第 {seq} 条记录与前一条的哈希链断开。")
            link, expected, last = bytes.fromhex(hashed), seq + 1, seq
            frontier.append(bytes.fromhex(hashed))
            if frontier.size in wanted:
                roots[frontier.size] = frontier.root()
            for sha in media_list:
                media_first.setdefault(sha, seq)
    if last != head_size or (head_size and link.hex() != head_hash):
        report.problems.append(f"{who}：登记的记录总数/末条哈希（{head_size}）与实际记录（{last}）不符。")
    try:
        if merkle.Frontier.from_state(json.loads(frontier_state)).root() != frontier.root():
            report.problems.append(f"{who}：保存的 Merkle 状态与记录不符。")
    except (ValueError, KeyError, TypeError):
        report.problems.append(f"{who}：保存的 Merkle 状态已损坏。")
    for size, body in sorted(wanted.items()):
        report.receipts += 1
        try:
            receipt = Receipt.from_json(json.loads(body))
        except ValueError:
            report.problems.append(f"{who}：覆盖 {size} 条记录的回执格式损坏。")
            continue
        if not receipt.verify(hq_key=identity.public_key, device_id=device_id, device_key=public):
            report.problems.append(f"{who}：覆盖 {size} 条记录的回执签名无效。")
        if roots.get(size) != receipt.root:
            report.problems.append(f"{who}：覆盖 {size} 条记录的回执与局端保存的记录不一致。")
        for sha, seq in media_first.items():
            if seq <= size and sha not in stored_blobs:
                report.problems.append(f"{who}：回执覆盖第 {seq} 条记录，但它引用的媒体文件 {sha[:12]}… 不在局端。")
    if clock_offset is not None and abs(clock_offset) > CLOCK_SKEW_WARN_MS:
        report.problems.append(f"{who}：设备时钟与局端相差 {clock_offset / 1000:.0f} 秒（超过 5 分钟），"
                               "记录中的时间可能不准。")
