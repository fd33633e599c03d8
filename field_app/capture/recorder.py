"""The recorder: sources → bounded queue → one encoder thread (watermark, encode, segment).

Guarantees:
- Capture never blocks on encoding: sources hand data over with a non-blocking put; when the queue
  is full the frame or audio block is dropped, counted and reported through ``on_status`` — never
  silently.
- Every closed segment is reported through ``on_segment`` (on the encoder thread) with its hash.
- An error while writing (disk full, vault failure) stops encoding, closes what can be closed,
  and is reported as ``on_status("error", 中文说明)``; ``stop()`` still returns the statistics.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from field_app.capture.clock import SessionClock
from field_app.capture.encoder import ClosedSegment, DuplicateTimestamp, EncoderSettings, SegmentEncoder, SegmentSink
from field_app.capture.watermark import Watermarker, WatermarkInfo

log = logging.getLogger(__name__)

StatusCallback = Callable[[str, str], None]
PreviewCallback = Callable[[np.ndarray], None]


@dataclass
class RecorderStats:
    video_frames: int = 0
    video_dropped: int = 0
    audio_blocks: int = 0
    audio_dropped: int = 0
    segments: int = 0


_STOP = object()
_CUT = object()


class Recorder:
    AUDIO_CATCH_UP = 4.0

    def __init__(self, settings: EncoderSettings, video, audio, sink: SegmentSink, *,
                 watermark: WatermarkInfo | None = None, clock: SessionClock | None = None,
                 on_segment: Callable[[ClosedSegment], None] | None = None,
                 on_status: StatusCallback | None = None, preview: PreviewCallback | None = None,
                 preview_fps: int = 10, queue_seconds: float = 2.0, first_segment_index: int = 0) -> None:
        self.settings = settings
        self.video_source, self.audio_source = video, audio
        self.sink = sink
        self.clock = clock or SessionClock()
        self.on_segment = on_segment or (lambda seg: None)
        self.on_status = on_status or (lambda kind, detail: None)
        self.preview = preview
        self._preview_every = max(1, settings.fps // max(1, preview_fps))
        self._watermarker = Watermarker(watermark, settings.width, settings.height) if watermark else None
        self._queue: queue.Queue = queue.Queue(maxsize=int(queue_seconds * (settings.fps + 50)))
        self._first_index = first_segment_index
        self.stats = RecorderStats()
        self.error: str | None = None
        self._paused = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._stopped_at: float | None = None

    # -- source callbacks (source threads) -----------------------------------------------------
    def _offer(self, item, kind: str) -> None:
        if self._paused.is_set() or self.error:
            return
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            with self._lock:
                if kind == "video":
                    self.stats.video_dropped += 1
                    dropped = self.stats.video_dropped
                else:
                    self.stats.audio_dropped += 1
                    dropped = self.stats.audio_dropped
            log.warning("encoder queue full: dropped %s (%d so far)", kind, dropped)
            self.on_status("dropped", f"编码跟不上，丢弃{'画面' if kind == 'video' else '声音'}（累计 {dropped}）")

    def _on_frame(self, t: float, rgb: np.ndarray) -> None:
        self._offer(("v", t, rgb), "video")

    def _on_audio(self, t: float, samples: np.ndarray) -> None:
        if self._stopped_at is not None and t >= self._stopped_at:
            return  # captured after the officer stopped: not part of this recording
        self._offer(("a", t, samples), "audio")

    def _on_source_status(self, kind: str, detail: str) -> None:
        log.warning("source status %s: %s", kind, detail)
        self.on_status(kind, detail)

    # -- control -------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the encoder thread and both sources. Raises SourceError (Chinese) if a source fails;
        nothing keeps running in that case."""
        self._thread = threading.Thread(target=self._encode_loop, name="encoder", daemon=True)
        self._thread.start()
        try:
            # Audio first: the encoder drops audio until the first video keyframe, so the recording
            # starts with both streams within one audio frame of each other.
            self.audio_source.start(self.clock, self._on_audio, self._on_source_status)
            self.video_source.start(self.clock, self._on_frame, self._on_source_status)
        except Exception:
            self.audio_source.stop()
            self.video_source.stop()
            self._queue.put(_STOP)
            self._thread.join()
            raise

    def pause(self) -> None:
        """Stop recording (sources keep running for the preview) and close the current segment."""
        self._paused.set()
        self._queue.put(_CUT)

    def resume(self) -> None:
        self._paused.clear()

    @property
    def paused(self) -> bool:
        return self._paused.is_set()

    def stop(self) -> RecorderStats:
        """Stop the sources, drain the queue, close the last segment. Idempotent.

        Audio arrives with the device's latency (seconds with PulseAudio), so after the camera stops
        the microphone keeps running until it has delivered audio up to the same moment (at most
        AUDIO_CATCH_UP seconds) — otherwise the end of what was said would be cut off."""
        stopped_at = self._stopped_at = self.clock.now()
        self.video_source.stop()
        deadline = time.monotonic() + self.AUDIO_CATCH_UP
        while (getattr(self.audio_source, "delivered_until", stopped_at) < stopped_at
               and time.monotonic() < deadline and not self.error):
            time.sleep(0.02)
        self.audio_source.stop()
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join()
            self._thread = None
        return self.stats

    # -- encoder thread ------------------------------------------------------------------------
    def _segment_closed(self, segment: ClosedSegment) -> None:
        self.stats.segments += 1
        self.on_segment(segment)

    def _encode_loop(self) -> None:
        try:
            encoder = SegmentEncoder(self.settings, self.sink, self._segment_closed, self._first_index)
        except Exception as exc:
            self._fail(f"无法启动视频编码（{exc}）")
            self._drain_until_stop()
            return
        try:
            while True:
                item = self._queue.get()
                if item is _STOP:
                    break
                if item is _CUT:
                    encoder.cut()
                    continue
                kind, t, data = item
                if kind == "v":
                    self._encode_video(encoder, t, data)
                else:
                    encoder.audio(t, data)
                    self.stats.audio_blocks += 1
            encoder.close()
        except OSError as exc:
            reason = "磁盘已满" if getattr(exc, "errno", None) == 28 else f"写入失败（{exc.strerror or exc}）"
            self._fail(f"录像保存出错：{reason}，录像已停止，已保存的片段不受影响。")
            self._drain_until_stop()
        except Exception as exc:
            log.exception("encoder failed")
            self._fail(f"录像出错（{type(exc).__name__}: {exc}），录像已停止，已保存的片段不受影响。")
            self._drain_until_stop()

    def _encode_video(self, encoder: SegmentEncoder, t: float, rgb: np.ndarray) -> None:
        if self._watermarker is not None:
            self._watermarker.apply(rgb, self.clock.wall_at(t))
        try:
            encoder.video(t, rgb)
        except DuplicateTimestamp:
            with self._lock:
                self.stats.video_dropped += 1
            return
        self.stats.video_frames += 1
        if self.preview is not None and self.stats.video_frames % self._preview_every == 0:
            self.preview(rgb)

    def _fail(self, message: str) -> None:
        self.error = message
        log.error(message)
        self.on_status("error", message)

    def _drain_until_stop(self) -> None:
        while self._queue.get() is not _STOP:
            pass
