"""One clock for a recording: every video frame and audio block is stamped in seconds since the
recording started, from the monotonic clock, so audio and video stay in sync and a wall-clock jump
(NTP, an officer changing the time) cannot reorder or stretch the evidence."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone


@dataclass(frozen=True)
class SessionClock:
    mono_origin: float = field(default_factory=time.monotonic)
    wall_origin: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    def now(self) -> float:
        """Seconds since the recording started (monotonic)."""
        return time.monotonic() - self.mono_origin

    def wall_at(self, t: float) -> datetime:
        """The wall-clock time (UTC) of offset ``t``, as the start time plus monotonic elapsed time."""
        return self.wall_origin + timedelta(seconds=t)
