"""H.264 + AAC encoding into crash-safe, fixed-length Matroska segments (PyAV).

Design (why it looks like this):
- One video and one audio encoder live for the whole recording (so audio has no priming gap and
  video no restart at segment boundaries); they sit in a never-written "master" container only so
  that each segment container can copy their codec parameters (extradata) as a template.
- Each segment is its own Matroska file, written strictly sequentially to a non-seekable writer
  with ``flush_packets`` and clusters of at most 0.5 s, so a SIGKILL loses at most about half a
  second and the partial file still plays. Timestamps are absolute seconds on the recording clock,
  so segments join without re-encoding.
- A segment starts with a forced keyframe at the boundary; keyframes come at least every second.
- The segment writer is supplied by a sink (the store's vault, or a directory in tests) and wrapped
  to hash the exact bytes written: the SHA-256 of the plaintext is the segment's identity.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from fractions import Fraction
from typing import BinaryIO, Callable, Protocol

import av
import numpy as np
from av.video.frame import PictureType

SEGMENT_FORMAT = "matroska"
SEGMENT_SUFFIX = ".mkv"


@dataclass(frozen=True)
class EncoderSettings:
    width: int = 1280
    height: int = 720
    fps: int = 30
    video_bitrate: int = 2_000_000
    preset: str = "veryfast"
    audio_rate: int = 48000
    audio_bitrate: int = 64000
    segment_seconds: float = 10.0


@dataclass(frozen=True)
class ClosedSegment:
    index: int
    start: float  # seconds on the recording clock (first packet)
    end: float  # seconds on the recording clock (end of last packet)
    sha256: str
    size: int
    video_frames: int
    audio_packets: int
    complete: bool = True  # False: closed by an error (the tail may be missing)


class SegmentSink(Protocol):
    """Where segment bytes go. ``begin`` returns a sequential writer; ``end`` is called after the
    container is closed with the hash and size of exactly the bytes written."""

    def begin(self, index: int) -> BinaryIO: ...

    def end(self, index: int, writer: BinaryIO, segment: ClosedSegment) -> None: ...


class _Discard(io.RawIOBase):
    def writable(self) -> bool:
        return True

    def write(self, b) -> int:
        return len(b)


class HashingWriter(io.RawIOBase):
    """Non-seekable pass-through that hashes and counts every byte and flushes on each write."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.sha = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def write(self, b) -> int:
        data = bytes(b)
        self.raw.write(data)
        self.raw.flush()
        self.sha.update(data)
        self.size += len(data)
        return len(data)


class _Segment:
    def __init__(self, index: int, sink: SegmentSink, master_v, master_a) -> None:
        self.index = index
        self.raw = sink.begin(index)
        self.writer = HashingWriter(self.raw)
        self.container = av.open(self.writer, "w", format=SEGMENT_FORMAT,
                                 options={"flush_packets": "1", "live": "1", "cluster_time_limit": "500"})
        self.video = self.container.add_stream_from_template(master_v)
        self.audio = self.container.add_stream_from_template(master_a)
        self.start: float | None = None
        self.end = 0.0
        self.video_frames = 0
        self.audio_packets = 0

    def mux(self, packet, stream, seconds: float, duration: float) -> None:
        packet.stream = stream
        self.container.mux(packet)
        if self.start is None:
            self.start = seconds
        self.end = max(self.end, seconds + duration)
        if stream is self.video:
            self.video_frames += 1
        else:
            self.audio_packets += 1

    def close(self, complete: bool = True) -> ClosedSegment:
        self.container.close()
        return ClosedSegment(self.index, self.start or 0.0, self.end, self.writer.sha.hexdigest(),
                             self.writer.size, self.video_frames, self.audio_packets, complete)


class SegmentEncoder:
    """Encodes timestamped RGB frames and float32 mono audio into consecutive segments.

    Not thread-safe: call from one thread (the recorder's encoder thread). ``on_closed`` runs on that
    thread after each segment is closed and handed to ``sink.end``.
    """

    def __init__(self, settings: EncoderSettings, sink: SegmentSink,
                 on_closed: Callable[[ClosedSegment], None] | None = None, first_index: int = 0) -> None:
        self.s = settings
        self.sink = sink
        self.on_closed = on_closed or (lambda seg: None)
        self._master = av.open(_Discard(), "w", format=SEGMENT_FORMAT)
        v = self._master.add_stream("libx264", rate=settings.fps)
        v.width, v.height, v.pix_fmt = settings.width, settings.height, "yuv420p"
        v.bit_rate = settings.video_bitrate
        v.codec_context.gop_size = settings.fps  # a keyframe at least every second
        v.codec_context.options = {"preset": settings.preset, "tune": "zerolatency"}
        a = self._master.add_stream("aac", rate=settings.audio_rate, layout="mono")
        a.bit_rate = settings.audio_bitrate
        self._master.start_encoding()  # opens both encoders; segment streams copy their extradata
        self._v, self._a = v, a
        self._vtb = Fraction(1, settings.fps)
        self._atb = Fraction(1, settings.audio_rate)
        self._frame_size = a.codec_context.frame_size or 1024
        self._next_index = first_index
        self._segment: _Segment | None = None
        self._boundary = 0.0
        self._last_vpts = -1
        self._audio_buf = np.zeros(0, np.float32)
        self._audio_next: int | None = None  # next audio pts (samples) expected
        self._first_video_t: float | None = None
        self.closed: list[ClosedSegment] = []

    # -- video ---------------------------------------------------------------------------------
    def video(self, t: float, rgb: np.ndarray) -> None:
        """Encode one frame captured at ``t`` seconds.

        Raises DuplicateTimestamp (nothing encoded) when the frame maps to the previous frame's
        timestamp (a source faster than fps); the caller counts it as dropped."""
        exact = t * self.s.fps
        pts = round(exact)
        if pts <= self._last_vpts:
            if self._last_vpts + 1 - exact > 1.0:  # more than a frame early: the source outruns fps
                raise DuplicateTimestamp(t)
            pts = self._last_vpts + 1  # delivery jitter: keep the frame in the next slot
        self._last_vpts = pts
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        frame.pts, frame.time_base = pts, self._vtb
        if self._segment is None or t >= self._boundary:
            frame.pict_type = PictureType.I
            self._rotate_on_next_keyframe = True
        for packet in self._v.encode(frame):
            self._mux_video(packet)

    _rotate_on_next_keyframe = True

    def _mux_video(self, packet) -> None:
        if packet.is_keyframe and self._rotate_on_next_keyframe:
            self._rotate(float(packet.pts * packet.time_base))
            self._rotate_on_next_keyframe = False
        if self._segment is None:  # cannot happen: the first frame is a forced keyframe
            self._rotate(float(packet.pts * packet.time_base))
        self._segment.mux(packet, self._segment.video, float(packet.pts * packet.time_base),
                          float((packet.duration or 1) * packet.time_base))

    # -- audio ---------------------------------------------------------------------------------
    def audio(self, t: float, samples: np.ndarray) -> None:
        """Encode mono samples whose first sample was captured at ``t`` seconds.

        Continuity: blocks are assumed back-to-back; a block starting more than 0.2 s after the
        previous one ended starts a new run at its own time (a gap, logged upstream)."""
        start = round(t * self.s.audio_rate)
        expected = None if self._audio_next is None else self._audio_next + len(self._audio_buf)
        # Only a forward jump is a gap; blocks that arrive early or bunched (device buffering) stay
        # contiguous, so audio timestamps never go backwards.
        if expected is None or start - expected > self.s.audio_rate // 5:
            self._flush_audio_partial()
            self._audio_next = start
        self._audio_buf = np.concatenate([self._audio_buf, samples.astype(np.float32, copy=False)])
        n = self._frame_size
        while len(self._audio_buf) >= n:
            self._encode_audio(self._audio_buf[:n])
            self._audio_buf = self._audio_buf[n:]

    def _flush_audio_partial(self) -> None:
        if len(self._audio_buf):
            padded = np.zeros(self._frame_size, np.float32)
            padded[: len(self._audio_buf)] = self._audio_buf
            self._encode_audio(padded)
            self._audio_buf = np.zeros(0, np.float32)

    def _encode_audio(self, block: np.ndarray) -> None:
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(block[None, :]), format="fltp", layout="mono")
        frame.sample_rate = self.s.audio_rate
        frame.pts, frame.time_base = self._audio_next, self._atb
        self._audio_next += len(block)
        for packet in self._a.encode(frame):
            self._mux_audio(packet)

    def _mux_audio(self, packet) -> None:
        seconds = float(packet.pts * packet.time_base)
        # Audio from before the first picture (it arrives late, with the device's latency) is left
        # out so the recording starts with picture and sound together.
        if self._segment is None or self._first_video_t is None or seconds < self._first_video_t - 0.5 / 48:
            return
        self._segment.mux(packet, self._segment.audio, seconds,
                          float((packet.duration or self._frame_size) * packet.time_base))

    # -- segments ------------------------------------------------------------------------------
    def _rotate(self, at: float) -> None:
        self._close_segment()
        if self._first_video_t is None:
            self._first_video_t = at
        self._segment = _Segment(self._next_index, self.sink, self._v, self._a)
        self._next_index += 1
        self._boundary = at + self.s.segment_seconds

    def _close_segment(self, complete: bool = True) -> None:
        if self._segment is None:
            return
        segment, self._segment = self._segment, None
        closed = segment.close(complete)
        self.sink.end(closed.index, segment.raw, closed)
        self.closed.append(closed)
        self.on_closed(closed)

    def cut(self) -> None:
        """Close the current segment now (pause, stop); the next frame starts a new one."""
        self._flush_audio_partial()  # x264 runs with zerolatency: no video frames are held back
        self._close_segment()
        self._rotate_on_next_keyframe = True
        self._audio_next = None

    def close(self) -> None:
        """Flush both encoders into the current segment and close it. The encoder is then unusable."""
        self._flush_audio_partial()
        for packet in self._v.encode(None):
            self._mux_video(packet)
        for packet in self._a.encode(None):
            self._mux_audio(packet)
        self._close_segment()
        self._master.close()


class DuplicateTimestamp(ValueError):
    """A frame arrived with the same encoder timestamp as the previous one (source faster than fps)."""
