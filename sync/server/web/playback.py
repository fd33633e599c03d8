"""Playback of a recording: its segments joined into one MP4 for the browser's <video> element.

``joined_mp4`` remuxes (no re-encode: the H.264 and AAC packets are copied bit for bit) the recording's
Matroska segments, in index order, into one MP4 with ``faststart`` (index at the front, so playback and
seeking start before the whole file is fetched). The segments carry the recording's own clock (the first
starts near 0, the next continues where the last ended), so a time in the MP4 is the recording offset
that markers and stills name.

Guaranteed: the file is written to a temporary name and renamed, so a reader never sees half a file;
the cache name includes the hash of the segment list, so a recording that gains segments (a later sync)
gets a new file. Segments whose blob is missing are skipped (the integrity panel reports them); packets
that would go back in time (an overlapping recovered segment) are dropped.
Dangerous: the cache (``<data dir>/web-cache/``) is derived data — deleting it is safe; it is not evidence
and is not covered by any receipt. Served files must be checked against the scope by the caller.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path

_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


class PlaybackError(RuntimeError):
    """The recording cannot be played. ``str()`` is Chinese."""


def segments(hq, device_id: str, recording_id: str) -> list[dict]:
    """Segment payloads of a recording in index order (unscoped: check the scope first)."""
    with hq.db.transaction() as tx:
        rows = tx.all("SELECT payload, media FROM entries WHERE device_id = ? AND record_id = ? AND "
                      "entry_type = 'recording.segment' ORDER BY seq", (device_id, recording_id))
    out = []
    for payload, media in rows:
        p = json.loads(payload)
        p.setdefault("sha256", (json.loads(media) or [""])[0])
        out.append(p)
    out.sort(key=lambda p: int(p.get("index", 0)))
    return out


def cache_dir(hq) -> Path:
    return Path(hq.blobs.root) / "web-cache"


def joined_mp4(hq, device_id: str, recording_id: str) -> Path:
    present = [s["sha256"] for s in segments(hq, device_id, recording_id) if hq.blobs.has(s["sha256"])]
    if not present:
        raise PlaybackError("该录像在局端没有可播放的分段（尚未同步或已缺失）。")
    key = hashlib.sha256("\n".join(present).encode()).hexdigest()[:16]
    safe_device = "".join(c for c in device_id if c.isalnum() or c in "-_")
    safe_rec = "".join(c for c in recording_id if c.isalnum() or c in "-_")
    target = cache_dir(hq) / safe_device / f"{safe_rec}-{key}.mp4"
    if target.is_file():
        return target
    with _locks_guard:
        lock = _locks.setdefault(str(target), threading.Lock())
    with lock:
        if target.is_file():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            _remux([hq.blobs.path(sha) for sha in present], tmp)
            os.replace(tmp, target)
        except Exception as exc:
            tmp.unlink(missing_ok=True)
            if isinstance(exc, PlaybackError):
                raise
            raise PlaybackError(f"录像无法合并为可播放文件（{type(exc).__name__}）。") from exc
    return target


def _remux(paths: list[Path], out_path: Path) -> None:
    import av

    out = av.open(str(out_path), "w", format="mp4", options={"movflags": "+faststart"})
    try:
        mapping: dict[str, object] = {}
        last_dts: dict[str, int] = {}
        for path in paths:
            with av.open(str(path)) as src:
                streams = [s for s in src.streams if s.type in ("video", "audio")]
                for s in streams:
                    if s.type not in mapping:
                        mapping[s.type] = out.add_stream_from_template(s)
                for packet in src.demux(streams):
                    if packet.dts is None or packet.stream.type not in mapping:
                        continue
                    kind = packet.stream.type
                    dts_ms = int(packet.dts * packet.time_base * 1000)
                    if kind in last_dts and dts_ms <= last_dts[kind]:
                        continue
                    last_dts[kind] = dts_ms
                    packet.stream = mapping[kind]
                    out.mux(packet)
    finally:
        out.close()
