"""What the sync client needs from the laptop's evidence store. ``sync.client`` never imports
``field_app``: the app hands it its ``field_app.store.Store``, which has these methods (duck typing).
"""

from __future__ import annotations

from typing import Any, BinaryIO, Protocol


class SyncStore(Protocol):
    store_id: str
    device_public_key: bytes
    header: Any  # .escrow: the HQ escrow box; read at enrolment
    size: int
    enrolled_cert_nos: list[str]

    def entries_after(self, seq: int, limit: int = 1000) -> list: ...     # Entry with .to_json(), .seq, .entry_type, .media, .wall_time
    def entry(self, seq: int) -> Any: ...
    def record_versions(self, record_id: str) -> list: ...
    def append(self, entry_type: str, payload: dict, *, record_id: str | None = None,
               supersedes: int | None = None, media: list[str] | None = None) -> Any: ...
    def root_at(self, tree_size: int) -> bytes: ...
    def media_info(self, sha256: str) -> Any: ...                          # .size, or None
    def open_media(self, sha256: str, *, whole_file_check: bool = True) -> BinaryIO: ...
    def device_sign(self, purpose: str, message: bytes) -> bytes: ...
    def prune_media(self, sha256: str, *, evidence: dict) -> bool: ...
