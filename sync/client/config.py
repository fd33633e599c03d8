"""The laptop's sync settings (``sync.json`` in the data directory) and the last result
(``sync-last.json``), both written atomically.

Settings are not evidence and not secret: the HQ address, the pinned CA file, the retention setting
(media is pruned only when HQ's receipt covers it *and* it is older than ``retention_days``; ``prune``
false keeps everything), a bandwidth limit, the nightly time. What must not be swapped — HQ's public
key, the device's department — lives in the evidence store (the ``sync.enrolled`` entry), not here.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timedelta
from pathlib import Path

CONFIG_NAME = "sync.json"
LAST_RESULT_NAME = "sync-last.json"


@dataclass
class SyncConfig:
    hq_url: str = ""
    ca_file: str | None = None
    prune: bool = True
    retention_days: float = 30.0
    bandwidth_kbps: int | None = None  # KiB/s; None = unlimited
    nightly_at: str | None = "22:00"   # local time HH:MM for the background schedule; None = off
    batch_entries: int = 200
    parallel_uploads: int = 3          # media files uploaded at once (each on its own connection)
    timeout_seconds: float = 30.0
    max_attempts: int = 8              # per step, with exponential backoff
    backoff_seconds: float = 1.0
    backoff_max_seconds: float = 60.0

    @classmethod
    def load(cls, data_dir: Path) -> "SyncConfig":
        path = Path(data_dir) / CONFIG_NAME
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError) as exc:
            raise ValueError(f"同步设置文件 {path} 无法读取（{exc}），请删除后重新登记。") from exc
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def save(self, data_dir: Path) -> None:
        write_json_atomic(Path(data_dir) / CONFIG_NAME, asdict(self))

    @property
    def rate_limit(self) -> float | None:
        return self.bandwidth_kbps * 1024.0 if self.bandwidth_kbps else None

    def next_nightly(self, now: datetime) -> datetime | None:
        """The next scheduled run after ``now`` (local time), or None when the schedule is off."""
        if not self.nightly_at:
            return None
        hour, minute = (int(x) for x in self.nightly_at.split(":"))
        run = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
        return run if run > now else run + timedelta(days=1)


def write_json_atomic(path: Path, data) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False, indent=2)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
