"""A recording session: one place, one matter, continuously recorded into the evidence log.

Entries written (all with ``record_id`` = the recording id, so the whole recording reads back with
``store.record_versions`` in order):

- ``recording.start``    case, place, matter, officers, device, settings, synthetic or not
- ``recording.marker``   the standard notice (第六十二条) and key moments (第六十一条), with their offset
- ``recording.segment``  every closed segment: index, plaintext SHA-256 (the media), start/end on the
                         recording clock, frames, drops, and the SHA-256 of the previous segment — so a
                         missing, reordered or inserted segment breaks the chain
- ``recording.pause`` / ``recording.resume``  a pause needs a reason (第六十二条(五) forbids breaks at
                         one place: the verifier reports every pause)
- ``recording.gap``      camera or microphone lost, disk full, encoder error, or a crash (written on
                         the next start by ``recover_recordings``)
- ``recording.still``    a photo taken from the same camera, hashed and stored
- ``recording.stop``     how it ended and what it holds

Dangerous: entries are written from the encoder thread (segments, gaps) and from the caller's thread
(markers, pauses); the store serialises appends, so nothing here holds a lock across an append.
"""

from __future__ import annotations

import io
import logging
import threading
import uuid
from dataclasses import asdict
from typing import Callable

import numpy as np

from field_app.capture.clock import SessionClock
from field_app.capture.encoder import ClosedSegment, EncoderSettings
from field_app.capture.recorder import Recorder
from field_app.capture.watermark import WatermarkInfo

log = logging.getLogger(__name__)

NOTICE_TEXT = "为保护您的合法权益，监督我的执法行为，对本次执法事项将全程录音录像。"
MARKER_KINDS = {
    "notice": "已告知全程录音录像",
    "certificates": "出示执法证件",
    "rights": "告知权利义务",
    "place_sign": "拍摄地点标志",
    "key_evidence": "拍摄关键证据",
    "statement": "当事人陈述",
    "signing": "签名",
    "other": "其他",
}
SEGMENT_MEDIA_TYPE = "video/x-matroska"
GAP_CAUSES = {"lost": "设备中断", "error": "录像出错", "crash": "程序意外终止", "gap": "设备停顿"}


class RecordingError(RuntimeError):
    """A recording action refused or failed; ``str(exc)`` is Chinese."""


def segment_media_type(recording_id: str, index: int) -> str:
    """The vault media type of a segment; it names the recording so a crash-cut partial can be
    attributed on recovery (ids are random: nothing about the case is revealed)."""
    return f"{segment_media_type_prefix(recording_id)}{index}"


def segment_media_type_prefix(recording_id: str) -> str:
    """What the media types of exactly this recording's segments start with."""
    return f"{SEGMENT_MEDIA_TYPE}; recording={recording_id}; segment="


def parse_segment_media_type(media_type: str) -> tuple[str, int] | None:
    parts = dict(p.strip().split("=", 1) for p in media_type.split(";")[1:] if "=" in p)
    if not media_type.startswith(SEGMENT_MEDIA_TYPE) or "recording" not in parts:
        return None
    try:
        return parts["recording"], int(parts["segment"])
    except (KeyError, ValueError):
        return None


class VaultSegmentSink:
    """Writes segments straight into the encrypted vault as they are produced (no plaintext file on
    disk, ever). Small chunks keep the loss on a crash under a second."""

    CHUNK_SIZE = 32 * 1024

    def __init__(self, store, recording_id: str) -> None:
        self.store = store
        self.recording_id = recording_id
        self.refs: dict[int, object] = {}

    def begin(self, index: int):
        return self.store.media_writer(segment_media_type(self.recording_id, index), chunk_size=self.CHUNK_SIZE)

    def end(self, index: int, writer, segment: ClosedSegment) -> None:
        ref = writer.close()
        if ref.sha256 != segment.sha256:
            raise RecordingError("片段保存后的哈希与写入时不一致，请运行 field-app verify 检查。")
        self.refs[index] = ref


class RecordingSession:
    """Drives one Recorder and writes its evidence entries. Create, ``start()``, ``confirm_notice()``,
    … , ``stop()``. Not reusable after stop."""

    def __init__(self, store, *, case_no: str, place: str, matter: str, video, audio,
                 settings: EncoderSettings | None = None, device_id: str = "",
                 procedure_sessions: tuple[str, ...] = (),
                 preview: Callable[[np.ndarray], None] | None = None,
                 on_status: Callable[[str, str], None] | None = None) -> None:
        if not place.strip() or not matter.strip():
            raise RecordingError("开始录像前必须填写地点和执法事项。")
        officers = tuple(o.cert_no for o in store.unlocked_officers)
        if not officers:
            raise RecordingError("请先解锁（至少一名执法人员），再开始录像。")
        self.store = store
        self.recording_id = "rec-" + uuid.uuid4().hex
        self.case_no, self.place, self.matter = case_no, place.strip(), matter.strip()
        self.procedure_sessions = tuple(procedure_sessions)
        self.settings = settings or EncoderSettings()
        self.device_id = device_id or store.store_id[:12]
        self.synthetic = bool(getattr(video, "is_synthetic", False) or getattr(audio, "is_synthetic", False))
        self.clock = SessionClock()
        self._external_status = on_status or (lambda kind, detail: None)
        self._external_preview = preview
        self._last_frame: np.ndarray | None = None
        self._frame_lock = threading.Lock()
        self._prev_sha = ""
        self.segment_count = 0
        self.audio_overflows = 0  # the microphone driver lost samples (PortAudio input overflow)
        self.notice_confirmed = False
        self.started = self.stopped = False
        self.sink = VaultSegmentSink(store, self.recording_id)
        info = WatermarkInfo(self.device_id, officers, case_no, test_source=self.synthetic)
        self.recorder = Recorder(self.settings, video, audio, self.sink, watermark=info, clock=self.clock,
                                 on_segment=self._on_segment, on_status=self._on_status,
                                 preview=self._on_preview, preview_fps=max(1, self.settings.fps))
        self.officers = officers

    # -- entries -------------------------------------------------------------------------------
    def _append(self, kind: str, payload: dict, media: list[str] | None = None):
        payload = {"recording_id": self.recording_id, **payload}
        return self.store.append(f"recording.{kind}", payload, record_id=self.recording_id, media=media)

    def offset(self) -> float:
        return round(self.clock.now(), 3)

    # -- control -------------------------------------------------------------------------------
    def start(self) -> None:
        """Write ``recording.start`` and start the devices. Raises RecordingError (Chinese) if a device
        cannot start; the start entry is then followed by a stop entry saying why."""
        if self.started:
            raise RecordingError("这段录像已经开始。")
        settings = asdict(self.settings)
        self._append("start", {
            "case_no": self.case_no, "place": self.place, "matter": self.matter, "officers": list(self.officers),
            "device_id": self.device_id, "synthetic": self.synthetic, "settings": settings,
            "wall_start": self.clock.wall_origin.isoformat(), "procedure_sessions": list(self.procedure_sessions),
            "notice_text": NOTICE_TEXT,
        })
        self.started = True
        try:
            self.recorder.start()
        except Exception as exc:
            self.stopped = True
            self._append("stop", {"offset": self.offset(), "ended_by": "start_failed", "detail": str(exc),
                                  "segments": 0})
            raise RecordingError(f"无法开始录像：{exc}") from exc

    def join(self, procedure_session: str) -> None:
        """A further procedure at this place joins the running recording (one site visit, one
        recording): logged as ``recording.procedure`` with its offset, so the log — not only this
        object — says which procedures the recording covers. Joining twice does nothing."""
        if procedure_session in self.procedure_sessions:
            return
        self._require_running()
        # not "session": entries with that key belong to the procedure engine's own state
        self._append("procedure", {"procedure_session": procedure_session, "offset": self.offset()})
        self.procedure_sessions = (*self.procedure_sessions, procedure_session)

    def confirm_notice(self) -> None:
        """The officer confirms the standard notice was said (第六十二条(一))."""
        self.mark("notice", NOTICE_TEXT)
        self.notice_confirmed = True

    def mark(self, kind: str, note: str = "") -> None:
        self._require_running()
        if kind not in MARKER_KINDS:
            raise RecordingError(f"未知的标记类型：{kind}")
        self._append("marker", {"kind": kind, "label": MARKER_KINDS[kind], "note": note, "offset": self.offset()})

    def pause(self, reason: str) -> None:
        self._require_running()
        if not reason or not reason.strip():
            raise RecordingError("暂停录像必须说明原因（同一地点不得中断录像）。")
        if self.recorder.paused:
            raise RecordingError("录像已经暂停。")
        self.recorder.pause()
        self._append("pause", {"offset": self.offset(), "reason": reason.strip()})

    def resume(self) -> None:
        self._require_running()
        if not self.recorder.paused:
            raise RecordingError("录像没有暂停。")
        self.recorder.resume()
        self._append("resume", {"offset": self.offset()})

    def take_still(self, note: str = "") -> str:
        """Store the current camera picture as a JPEG photo of evidence; returns its SHA-256."""
        self._require_running()
        with self._frame_lock:
            frame = None if self._last_frame is None else self._last_frame.copy()
        if frame is None:
            raise RecordingError("摄像头还没有画面，无法拍照。")
        from PIL import Image

        buf = io.BytesIO()
        Image.fromarray(frame).save(buf, format="JPEG", quality=92)
        buf.seek(0)
        ref = self.store.put_media(buf, media_type="image/jpeg")
        self._append("still", {"offset": self.offset(), "sha256": ref.sha256, "note": note,
                               "width": frame.shape[1], "height": frame.shape[0]}, media=[ref.sha256])
        return ref.sha256

    def stop(self) -> dict:
        """Stop devices, close the last segment, write ``recording.stop``. Returns its payload."""
        if not self.started or self.stopped:
            raise RecordingError("这段录像没有在进行。")
        stats = self.recorder.stop()
        self.stopped = True
        payload = {"offset": self.offset(), "ended_by": "error" if self.recorder.error else "officer",
                   "segments": self.segment_count, "video_frames": stats.video_frames,
                   "video_dropped": stats.video_dropped, "audio_dropped": stats.audio_dropped,
                   "audio_overflows": self.audio_overflows, "notice_confirmed": self.notice_confirmed}
        self._append("stop", payload)
        return payload

    @property
    def active(self) -> bool:
        """Recording for real right now: started, notice given, not paused, not stopped, no error."""
        return (self.started and not self.stopped and self.notice_confirmed and not self.recorder.paused
                and self.recorder.error is None)

    def _require_running(self) -> None:
        if not self.started or self.stopped:
            raise RecordingError("录像没有在进行。")

    # -- callbacks (encoder / source threads) --------------------------------------------------
    def _on_segment(self, seg: ClosedSegment) -> None:
        self._append("segment", {
            "index": seg.index, "sha256": seg.sha256, "size": seg.size, "start": round(seg.start, 3),
            "end": round(seg.end, 3), "video_frames": seg.video_frames, "audio_packets": seg.audio_packets,
            "complete": seg.complete, "prev_segment_sha256": self._prev_sha,
            "video_dropped": self.recorder.stats.video_dropped, "audio_dropped": self.recorder.stats.audio_dropped,
            "audio_overflows": self.audio_overflows,
        }, media=[seg.sha256])
        self._prev_sha = seg.sha256
        self.segment_count += 1

    def _on_status(self, kind: str, detail: str) -> None:
        if kind == "overflow":  # counted into the next segment entry: never silent, never an entry per burst
            self.audio_overflows += 1
        if kind in GAP_CAUSES:
            try:
                self._append("gap", {"offset": self.offset(), "cause": kind, "cause_label": GAP_CAUSES[kind],
                                     "detail": detail})
            except Exception:  # the store itself may be the problem (disk full): still tell the UI
                log.exception("could not log a recording gap")
        elif kind == "restored":
            self._append("source_restored", {"offset": self.offset(), "detail": detail})
        self._external_status(kind, detail)

    def _on_preview(self, frame: np.ndarray) -> None:
        with self._frame_lock:
            self._last_frame = frame
        if self._external_preview is not None:
            self._external_preview(frame)


class RecordingRegistry:
    """Answers the procedure engine's ``RecordingState``: is a procedure session being recorded?"""

    def __init__(self) -> None:
        self._sessions: list[RecordingSession] = []

    def add(self, session: RecordingSession) -> None:
        self._sessions.append(session)

    def is_recording(self, session_id: str) -> bool:
        return any(s.active and session_id in s.procedure_sessions for s in self._sessions)

    def position(self, session_id: str) -> dict | None:
        """The active recording covering this procedure session and its offset now (the engine
        links each step to its span in it; ``core.ports.RecordingPosition``)."""
        for s in reversed(self._sessions):
            if s.active and session_id in s.procedure_sessions:
                return {"recording_id": s.recording_id, "offset": s.offset()}
        return None
