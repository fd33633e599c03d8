"""Canonical JSON: the exact bytes that get hashed and signed.

The implementation lives in ``sync.protocol.canonical`` (pure, shared with the HQ server so both sides
hash the same bytes); this module re-exports it so store code keeps its import path.
"""

from __future__ import annotations

from sync.protocol.canonical import NotCanonical, canonical_json, sha256

__all__ = ["NotCanonical", "canonical_json", "sha256"]
