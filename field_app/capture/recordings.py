"""Reading recordings back out of the log: listing, crash recovery, export, and the verifier check
over segment chains.

A recording is the sequence of ``recording.*`` entries sharing one record id (see session.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

import av

from field_app.capture.join import join_segments
from field_app.capture.session import GAP_CAUSES, parse_segment_media_type, segment_media_type_prefix


@dataclass
class RecordingInfo:
    recording_id: str
    case_no: str = ""
    place: str = ""
    matter: str = ""
    wall_start: str = ""
    synthetic: bool = False
    start_seq: int = 0
    segments: list[dict] = field(default_factory=list)  # payloads of recording.segment, in log order
    segment_seqs: list[int] = field(default_factory=list)
    markers: list[dict] = field(default_factory=list)
    pauses: list[dict] = field(default_factory=list)
    gaps: list[dict] = field(default_factory=list)
    stills: list[dict] = field(default_factory=list)
    procedures: list[str] = field(default_factory=list)  # procedure sessions it covers (start + joined)
    stop: dict | None = None
    stop_seq: int | None = None

    @property
    def duration(self) -> float:
        """Seconds from the first segment's start to the last segment's end."""
        if not self.segments:
            return 0.0
        return max(s["end"] for s in self.segments) - min(s["start"] for s in self.segments)

    @property
    def notice_given(self) -> bool:
        return any(m.get("kind") == "notice" for m in self.markers)


def collect(entries: Iterable) -> dict[str, RecordingInfo]:
    """Group ``recording.*`` entries by recording id, in log order."""
    found: dict[str, RecordingInfo] = {}
    for entry in entries:
        if not entry.entry_type.startswith("recording."):
            continue
        try:
            payload = entry.payload
            rid = payload["recording_id"]
        except (ValueError, KeyError, TypeError):
            continue
        info = found.setdefault(rid, RecordingInfo(rid))
        kind = entry.entry_type.split(".", 1)[1]
        if kind == "start":
            info.case_no, info.place, info.matter = payload.get("case_no", ""), payload.get("place", ""), payload.get("matter", "")
            info.wall_start, info.synthetic, info.start_seq = payload.get("wall_start", ""), bool(payload.get("synthetic")), entry.seq
            info.procedures.extend(payload.get("procedure_sessions") or [])
        elif kind == "procedure":
            info.procedures.append(payload.get("procedure_session", ""))
        elif kind == "segment":
            info.segments.append(payload)
            info.segment_seqs.append(entry.seq)
        elif kind == "marker":
            info.markers.append(payload)
        elif kind == "pause":
            info.pauses.append(payload)
        elif kind == "gap":
            info.gaps.append(payload)
        elif kind == "still":
            info.stills.append(payload)
        elif kind == "stop":
            info.stop, info.stop_seq = payload, entry.seq
    return found


def all_entries(store) -> Iterator:
    seq = 0
    while True:
        batch = store.entries_after(seq, 2000)
        if not batch:
            return
        yield from batch
        seq = batch[-1].seq


def list_recordings(store) -> list[RecordingInfo]:
    return list(collect(all_entries(store)).values())


def _segment_times(stream) -> tuple[float, float]:
    with av.open(stream, "r", format="matroska") as container:
        times = [(float(p.pts * p.time_base), float((p.duration or 0) * p.time_base))
                 for p in container.demux() if p.pts is not None]
    if not times:
        return 0.0, 0.0
    return min(t for t, _ in times), max(t + d for t, d in times)


def recover_recordings(store) -> list[str]:
    """After a crash: save cut segments from the vault's partial files, then close every recording
    that has no stop entry with a truncated segment (if any), a ``crash`` gap and a stop entry.
    Returns the ids of the recordings closed. Safe to call on every start (does nothing when clean)."""
    recovered = store.recover_partials()
    recordings = collect(all_entries(store))
    by_recording: dict[str, list[tuple[int, object]]] = {}
    for ref in recovered:
        parsed = parse_segment_media_type(ref.media_type)
        if parsed:
            by_recording.setdefault(parsed[0], []).append((parsed[1], ref))
    closed = []
    for rid, info in recordings.items():
        if info.stop is not None:
            continue
        prev = info.segments[-1]["sha256"] if info.segments else ""
        next_index = len(info.segments)
        lost_from = info.segments[-1]["end"] if info.segments else 0.0
        # A segment the crash hit after it was stored and registered but before its log entry: whole,
        # in the store, referenced by nothing — link it (else up to a whole segment, 10 s, is lost).
        logged = {s.get("sha256") for s in info.segments}
        whole = [(parsed[1], ref, True) for ref in store.media_with_type_prefix(segment_media_type_prefix(rid))
                 if ref.sha256 not in logged and (parsed := parse_segment_media_type(ref.media_type))]
        cut = [(index, ref, False) for index, ref in by_recording.get(rid, [])]
        for index, ref, complete in sorted(whole + cut, key=lambda item: (item[0], not item[2])):
            with store.open_media(ref.sha256) as stream:
                start, end = _segment_times(stream)
            store.append("recording.segment", {
                "recording_id": rid, "index": next_index, "sha256": ref.sha256, "size": ref.size,
                "start": round(start, 3), "end": round(end, 3), "complete": complete, "recovered": True,
                "prev_segment_sha256": prev, "original_index": index,
            }, record_id=rid, media=[ref.sha256])
            prev, next_index, lost_from = ref.sha256, next_index + 1, max(lost_from, end)
        store.append("recording.gap", {"recording_id": rid, "offset": round(lost_from, 3), "cause": "crash",
                                       "cause_label": GAP_CAUSES["crash"],
                                       "detail": "程序意外终止，录像在此中断；已恢复断点前保存的内容。"},
                     record_id=rid)
        store.append("recording.stop", {"recording_id": rid, "offset": round(lost_from, 3),
                                        "ended_by": "crash_recovery", "segments": next_index},
                     record_id=rid)
        closed.append(rid)
    return closed


def find_recording(store, recording_id: str) -> RecordingInfo:
    from field_app.capture.session import RecordingError

    matches = [r for r in list_recordings(store) if r.recording_id == recording_id or r.recording_id.endswith(recording_id)]
    if len(matches) != 1:
        raise RecordingError(f"找不到录像 {recording_id}。" if not matches else f"录像编号 {recording_id} 不唯一，请写完整。")
    return matches[0]


def export_recording(store, recording_id: str, out_path: Path) -> dict:
    """Decrypt and join a recording's segments into one playable MP4 (remux, no re-encode)."""
    from field_app.capture.session import RecordingError

    info = find_recording(store, recording_id)
    if not info.segments:
        raise RecordingError("这段录像没有可导出的片段。")
    streams = [store.open_media(s["sha256"]) for s in sorted(info.segments, key=lambda s: s["index"])]
    try:
        return join_segments(streams, Path(out_path))
    finally:
        for stream in streams:
            stream.close()


# Intact evidence that a supervisor must see (not damage): reported, but `verify` still exits 0.
NOTICE_KINDS = frozenset({"segment_truncated", "recording_open", "notice_missing", "recording_pause", "recording_gap",
                          "audio_overflow"})


def segment_chain_problems(info: RecordingInfo) -> Iterator[tuple[str, str, int | None]]:
    """(kind, Chinese message, seq) for everything wrong with one recording's segment chain, plus
    every pause and gap (第六十二条(五): no breaks at one place)."""
    expected_prev = ""
    for position, (payload, seq) in enumerate(zip(info.segments, info.segment_seqs)):
        index = payload.get("index")
        if index != position:
            yield ("segment_order", f"录像 {info.recording_id} 的第 {position + 1} 个片段编号是 {index}：片段缺失、顺序被调换或被插入。", seq)
        if payload.get("prev_segment_sha256") != expected_prev:
            yield ("segment_chain", f"录像 {info.recording_id} 的片段 {index} 与前一个片段链接不上：片段被删除、替换或插入。", seq)
        expected_prev = payload.get("sha256", "")
        if payload.get("recovered") and payload.get("complete"):
            yield ("segment_truncated", f"录像 {info.recording_id} 的片段 {index} 在程序意外终止前已完整保存，终止后才登记进录像。", seq)
        elif payload.get("recovered"):
            yield ("segment_truncated", f"录像 {info.recording_id} 的片段 {index} 是程序意外终止后恢复的，结尾可能缺失。", seq)
    if info.stop is not None and info.stop.get("segments") not in (None, len(info.segments)):
        yield ("segment_count", f"录像 {info.recording_id} 结束时记录了 {info.stop.get('segments')} 个片段，实际有 {len(info.segments)} 个。", info.stop_seq)
    if info.stop is None:
        yield ("recording_open", f"录像 {info.recording_id} 没有结束记录（可能仍在录制，或程序意外终止后尚未恢复）。", info.start_seq)
    if info.start_seq and not info.notice_given:
        yield ("notice_missing", f"录像 {info.recording_id} 没有“已告知全程录音录像”的标记（第六十二条）。", info.start_seq)
    for pause in info.pauses:
        yield ("recording_pause", f"录像 {info.recording_id} 在第 {pause.get('offset')} 秒暂停，原因：{pause.get('reason')}（同一地点不得中断，第六十二条）。", info.start_seq)
    for gap in info.gaps:
        yield ("recording_gap", f"录像 {info.recording_id} 在第 {gap.get('offset')} 秒中断：{gap.get('cause_label')}（{gap.get('detail')}）。", info.start_seq)
    overflows = max([int(p.get("audio_overflows") or 0) for p in info.segments] + [int((info.stop or {}).get("audio_overflows") or 0)])
    if overflows:
        yield ("audio_overflow", f"录像 {info.recording_id} 录制中麦克风数据溢出 {overflows} 次，其间部分声音丢失（画面不受影响）。", info.start_seq)


def check_recordings(ctx) -> Iterator:
    """Verifier check (registered with field_app.store.verify): segment chains, notice, pauses, gaps,
    and every segment's vault file present and naming the right content (cheap: header + trailer;
    the store's own media check authenticates every chunk)."""
    from field_app.store.errors import MediaError
    from field_app.store.verify import Problem

    for info in collect(ctx.iter_entries()).values():
        for kind, message, seq in segment_chain_problems(info):
            yield Problem(kind, message, seq=seq, severity="notice" if kind in NOTICE_KINDS else "error")
        for payload, seq in zip(info.segments, info.segment_seqs):
            try:
                with ctx.store.open_media(payload["sha256"]):
                    pass
            except MediaError as exc:
                yield Problem("segment_media", f"录像 {info.recording_id} 的片段 {payload.get('index')}：{exc}", seq=seq)


def _register() -> None:
    from field_app.store.verify import register_check

    register_check(check_recordings)


_register()
