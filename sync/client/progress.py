"""Progress events and results the client reports (for the terminal bar and the GUI status bar).

Events arrive on the sync thread; a GUI must hand them to its own thread (e.g. a queued signal).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Callable

PHASES = {"connect": "连接局端", "pull": "获取名册、表单和案件", "entries": "发送记录", "blobs": "上传音像资料",
          "receipt": "获取局端回执", "prune": "清理已同步的资料", "done": "同步完成"}


@dataclass(frozen=True)
class ProgressEvent:
    phase: str                 # a key of PHASES
    message: str               # Chinese, for the status bar
    items_done: int = 0        # entries or blobs, depending on the phase
    items_total: int = 0
    bytes_done: int = 0        # media bytes acknowledged by HQ in this sync
    bytes_total: int = 0
    eta_seconds: float | None = None

    @property
    def fraction(self) -> float | None:
        if self.bytes_total:
            return min(1.0, self.bytes_done / self.bytes_total)
        if self.items_total:
            return min(1.0, self.items_done / self.items_total)
        return None


@dataclass
class SyncResult:
    ok: bool                   # everything the laptop has is at HQ and covered by a receipt
    message: str               # Chinese one-line summary (status bar)
    entries_sent: int = 0
    blobs_uploaded: int = 0
    bytes_uploaded: int = 0
    receipt_size: int = 0      # entries covered by HQ's latest receipt
    log_size: int = 0
    pruned: int = 0
    clock_offset_ms: int | None = None
    error_code: int | None = None
    problems: list[str] = field(default_factory=list)
    started: float = 0.0
    finished: float = 0.0

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "SyncResult":
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


class Meter:
    """Turns counts into events with an ETA from the media upload rate so far."""

    def __init__(self, sink: Callable[[ProgressEvent], None] | None) -> None:
        self.sink = sink
        self.bytes_total = 0
        self.bytes_done = 0
        self._start: float | None = None
        self._last_emit = 0.0
        self._lock = __import__("threading").Lock()

    def emit(self, phase: str, items_done: int = 0, items_total: int = 0, *, force: bool = True) -> None:
        if self.sink is None:
            return
        now = time.monotonic()
        with self._lock:
            if not force and now - self._last_emit < 0.2:
                return
            self._last_emit = now
        eta = None
        if phase == "blobs" and self._start is not None and self.bytes_done:
            rate = self.bytes_done / max(now - self._start, 1e-3)
            eta = (self.bytes_total - self.bytes_done) / rate if rate > 0 else None
        self.sink(ProgressEvent(phase, PHASES[phase], items_done, items_total, self.bytes_done, self.bytes_total, eta))

    def uploaded(self, n: int) -> None:
        """Count ``n`` more bytes acknowledged by HQ (negative after a discarded upload). Thread-safe."""
        with self._lock:
            if self._start is None:
                self._start = time.monotonic()
            self.bytes_done += n
