"""The append-only log: what an entry is, how it is hashed and signed, and signed checkpoints.

Entry hash (hex fields, integers in nanoseconds)::

    entry_hash = SHA-256( "field-recorder/entry/v1\\n" ‖ canonical_json({
        "v": 1, "prev": prev_hash, "type": entry_type, "record": record_id, "supersedes": seq | null,
        "payload": SHA-256(payload canonical JSON), "media": [sha256 …], "officers": [执法证号 …],
        "wall": wall_time_ns, "mono": mono_time_ns }) )
    signature  = Ed25519(device key, "field-recorder/entry/v1\\n" ‖ entry_hash)

The sequence number is *not* inside the hash: an entry's place is fixed by ``prev`` (the chain), and
``seq`` is its position (1, 2, 3 …). The first entry's ``prev`` is ``genesis_hash(store_id)``, which
ties the chain to one store. The payload enters only by its hash, so the chain can be checked even
where a payload has been withheld.

Checkpoints sign (store id, tree size, RFC 6962 Merkle root over the entry hashes, time, device key).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from field_app.store import merkle
from field_app.store.canonical import canonical_json
# The hashing is shared with the HQ server (sync.protocol.chain): one implementation for both sides.
from sync.protocol.chain import (CHECKPOINT_DOMAIN, CHECKPOINT_KIND, ENTRY_DOMAIN, entry_hash, genesis_hash,
                                 signature_ok)

__all__ = ["CHECKPOINT_DOMAIN", "CHECKPOINT_KIND", "ENTRY_DOMAIN", "Checkpoint", "Entry", "entry_hash",
           "genesis_hash", "sign_entry", "signature_ok"]


def sign_entry(key: Ed25519PrivateKey, hashed: bytes) -> bytes:
    return key.sign(ENTRY_DOMAIN + hashed)


@dataclass(frozen=True)
class Entry:
    """One log entry as stored. Immutable; ``payload`` parses the stored canonical JSON each time."""

    seq: int
    entry_type: str
    record_id: str | None
    supersedes: int | None
    payload_json: str
    media: tuple[str, ...]
    officers: tuple[str, ...]
    prev_hash: bytes
    entry_hash: bytes
    wall_time: int  # ns since the Unix epoch (UTC), the laptop's clock
    mono_time: int  # ns, monotonic clock (only comparable within one boot)
    signature: bytes

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.payload_json)

    def computed_hash(self) -> bytes:
        """The hash these fields should have (differs from ``entry_hash`` if the row was edited)."""
        return entry_hash(prev_hash=self.prev_hash, entry_type=self.entry_type, record_id=self.record_id,
                          supersedes=self.supersedes, payload_json=self.payload_json.encode("utf-8"),
                          media=self.media, officers=self.officers, wall_time=self.wall_time,
                          mono_time=self.mono_time)

    def to_json(self) -> dict:
        """A JSON-ready form (for sync and export); ``payload`` is the canonical JSON text."""
        return {"seq": self.seq, "type": self.entry_type, "record": self.record_id,
                "supersedes": self.supersedes, "payload": self.payload_json, "media": list(self.media),
                "officers": list(self.officers), "prev": self.prev_hash.hex(), "hash": self.entry_hash.hex(),
                "wall": self.wall_time, "mono": self.mono_time, "signature": self.signature.hex()}


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement: "this store's log had ``tree_size`` entries with this Merkle root"."""

    store_id: str
    tree_size: int
    root_hash: bytes
    wall_time: int
    device_public_key: bytes
    signature: bytes = b""

    def body(self) -> bytes:
        return canonical_json({"v": 1, "kind": CHECKPOINT_KIND, "store": self.store_id, "size": self.tree_size,
                               "root": self.root_hash.hex(), "wall": self.wall_time,
                               "key": self.device_public_key.hex()})

    def signed(self, key: Ed25519PrivateKey) -> "Checkpoint":
        return Checkpoint(self.store_id, self.tree_size, self.root_hash, self.wall_time,
                          self.device_public_key, key.sign(CHECKPOINT_DOMAIN + self.body()))

    def signature_ok(self, public_key: bytes | None = None) -> bool:
        """True iff signed by ``public_key`` (default: the key the checkpoint names)."""
        try:
            public = Ed25519PublicKey.from_public_bytes(public_key or self.device_public_key)
        except ValueError:
            return False
        return signature_ok(public, CHECKPOINT_DOMAIN, self.body(), self.signature)

    def includes(self, entry_hash_: bytes, proof: merkle.InclusionProof) -> bool:
        """True iff ``proof`` shows the entry with this hash inside this checkpoint's tree (checks that
        the proof is for this tree size; check ``signature_ok`` separately)."""
        return proof.tree_size == self.tree_size and merkle.verify_inclusion(entry_hash_, proof, self.root_hash)

    def to_json(self) -> dict:
        return {"kind": CHECKPOINT_KIND, "store": self.store_id, "size": self.tree_size,
                "root": self.root_hash.hex(), "wall": self.wall_time, "key": self.device_public_key.hex(),
                "signature": self.signature.hex()}

    @classmethod
    def from_json(cls, data: dict) -> "Checkpoint":
        """Parse an exported checkpoint; ValueError (Chinese) if it is not one."""
        try:
            if data.get("kind") != CHECKPOINT_KIND:
                raise ValueError("kind")
            return cls(str(data["store"]), int(data["size"]), bytes.fromhex(data["root"]), int(data["wall"]),
                       bytes.fromhex(data["key"]), bytes.fromhex(data["signature"]))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError("这不是本程序导出的检查点文件（格式不对）。") from exc
