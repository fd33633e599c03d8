"""What the procedure engine needs from the rest of the app, as small protocols.

- ``RecordWriter``: the evidence store's append API (field_app.store implements it; the signature is
  the store's, copied exactly). Every state change of a procedure is one appended entry.
- ``RecordingState``: the capture package answers whether continuous audio-video recording is running
  for a procedure session.

``MemoryWriter`` is a real (in-memory, non-persistent) RecordWriter for tests, the headless driver and
the scripted demo. It is not a model of the store's internals (no hashing, encryption or signing), but
it enforces the store's documented input contract, so what passes here is accepted there: entry type
and record id formats, media as SHA-256 hex, JSON payloads, and record versions — a correction passes
``supersedes=<seq of the record's latest entry>`` (never an older one, never another record's); an
entry with an existing ``record_id`` and no ``supersedes`` adds a part to that record (a recording's
segments), as in the store. tests/unit/core/test_writer_contract.py runs the same calls on both.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

ENTRY_TYPE = re.compile(r"^[a-z][a-z0-9_.:-]{0,63}$")
RECORD_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


@runtime_checkable
class Entry(Protocol):
    """An appended entry; the engine only relies on its sequence number."""

    seq: int


@runtime_checkable
class RecordWriter(Protocol):
    def append(self, entry_type: str, payload: dict, *, record_id: str | None = None,
               supersedes: int | None = None, media: list[str] | None = None) -> Entry:
        """Append one entry and return it. Raises if it cannot be stored; the engine changes its
        state only after this returns."""
        ...


@runtime_checkable
class RecordingState(Protocol):
    def is_recording(self, session_id: str) -> bool:
        """True while continuous audio-video recording is active for this procedure session."""
        ...


@runtime_checkable
class RecordingPosition(Protocol):
    """Optional on a RecordingState: where the recording that covers a procedure session is now.
    With it, the engine links each step to its time span in that recording (``recording`` in the
    ``procedure.step`` entered / completed and ``record`` entries)."""

    def position(self, session_id: str) -> dict | None:
        """``{"recording_id": str, "offset": seconds since that recording started}`` while one is
        active for the session, else None."""
        ...


@dataclass(frozen=True)
class MemoryEntry:
    seq: int
    entry_type: str
    payload: dict[str, Any]
    record_id: str | None = None
    supersedes: int | None = None
    media: tuple[str, ...] = ()


@dataclass
class MemoryWriter:
    """Keeps appended entries in a list: sequence numbers from 1, each entry a deep copy (a later
    change to the caller's dict does not alter the log), the store's input contract enforced (see
    the module docstring; refusals raise ValueError). Media existence is not checked."""

    entries: list[MemoryEntry] = field(default_factory=list)

    def append(self, entry_type: str, payload: dict, *, record_id: str | None = None,
               supersedes: int | None = None, media: list[str] | None = None) -> MemoryEntry:
        if not ENTRY_TYPE.match(entry_type):
            raise ValueError(f"bad entry type {entry_type!r}")
        if record_id is not None and not RECORD_ID.match(record_id):
            raise ValueError(f"bad record id {record_id!r}")
        bad_media = [m for m in media or () if not SHA256_HEX.match(m)]
        if bad_media:
            raise ValueError(f"media must be SHA-256 hex: {bad_media[0]!r}")
        json.dumps(payload, ensure_ascii=False, allow_nan=False)
        latest = {e.record_id: e.seq for e in self.entries if e.record_id is not None}
        if supersedes is not None:
            if not 1 <= supersedes <= len(self.entries):
                raise ValueError(f"supersedes unknown entry {supersedes}")
            owner = self.entries[supersedes - 1].record_id
            if owner is None or (record_id is not None and record_id != owner):
                raise ValueError(f"entry {supersedes} is not a version of record {record_id}")
            if latest[owner] != supersedes:
                raise ValueError(f"only the latest version {latest[owner]} of {owner} can be "
                                 "superseded")
            record_id = owner
        entry = MemoryEntry(len(self.entries) + 1, entry_type, copy.deepcopy(payload), record_id,
                            supersedes, tuple(media or ()))
        self.entries.append(entry)
        return entry

    def of_type(self, entry_type: str) -> list[MemoryEntry]:
        return [e for e in self.entries if e.entry_type == entry_type]
