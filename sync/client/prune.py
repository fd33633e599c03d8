"""Pruning local media that HQ provably holds.

A media file is pruned only when all of these hold:

1. ``prune`` is on in the settings;
2. a receipt signed by the pinned HQ key, whose root equals this store's own root at its size, covers
   an entry that references the file (HQ issues a receipt only when every file referenced by the
   covered entries is on its disk, re-hashed and fsynced);
3. every entry that references the file is older than ``retention_days`` (the laptop's own
   retention setting; by the entry's wall time).

Each deletion is a ``store.media_pruned`` entry first (with the receipt as evidence), then the file
is removed (``Store.prune_media``). Dangerous: the checks here are what stands between a bug and lost
evidence; keep them together and tested (tests/sync/test_prune.py).
"""

from __future__ import annotations

import time

from sync.client.config import SyncConfig
from sync.client.storeapi import SyncStore
from sync.protocol.receipt import Receipt

SCAN_BATCH = 2000


def prunable(store: SyncStore, receipt: Receipt, config: SyncConfig, now_ns: int | None = None) -> list[str]:
    """SHA-256s of media that may be pruned under ``receipt`` (already verified by the caller)."""
    if not config.prune or receipt.size < 1:
        return []
    cutoff = (now_ns if now_ns is not None else time.time_ns()) - int(config.retention_days * 86400e9)
    first_ref: dict[str, int] = {}
    newest_ref: dict[str, int] = {}
    seq = 0
    while True:
        batch = store.entries_after(seq, SCAN_BATCH)
        if not batch:
            break
        for entry in batch:
            for sha in entry.media:
                first_ref.setdefault(sha, entry.seq)
                newest_ref[sha] = max(newest_ref.get(sha, entry.wall_time), entry.wall_time)
        seq = batch[-1].seq
    return [sha for sha, first in first_ref.items() if first <= receipt.size and newest_ref[sha] < cutoff]


def prune(store: SyncStore, receipt: Receipt, config: SyncConfig, now_ns: int | None = None) -> int:
    """Prune what ``prunable`` allows; returns how many files were removed now."""
    evidence = {"receipt": receipt.to_json(), "retention_days": config.retention_days}
    removed = 0
    for sha in prunable(store, receipt, config, now_ns):
        if store.prune_media(sha, evidence=evidence):
            removed += 1
    return removed
