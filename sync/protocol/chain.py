"""The device log as both sides see it: how an entry is hashed and signed, and how a pushed batch is
checked against what HQ already holds. Pure (no I/O); the laptop's store (``field_app.store.log``)
imports the hashing from here, so laptop and HQ cannot drift apart.

Entry hash (hex fields, integers in nanoseconds; see docs/store.md)::

    entry_hash = SHA-256("field-recorder/entry/v1\\n" ‖ canonical_json({
        "v": 1, "prev": prev_hash, "type": entry_type, "record": record_id, "supersedes": seq | null,
        "payload": SHA-256(payload canonical JSON), "media": [sha256 …], "officers": [执法证号 …],
        "wall": wall_time_ns, "mono": mono_time_ns }))
    signature  = Ed25519(device key, "field-recorder/entry/v1\\n" ‖ entry_hash)
    prev of entry 1 = SHA-256("field-recorder/genesis/v1\\n" ‖ store id)
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from sync.protocol.canonical import NotCanonical, canonical_json, sha256
from sync.protocol.errors import Code, ProtocolError

ENTRY_DOMAIN = b"field-recorder/entry/v1\n"
CHECKPOINT_DOMAIN = b"field-recorder/checkpoint/v1\n"
CHECKPOINT_KIND = "field-recorder checkpoint"

SHA_RE = re.compile(r"^[0-9a-f]{64}$")
STORE_ID_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
_TYPE_RE = re.compile(r"^[a-z][a-z0-9_.:-]{0,63}$")
_RECORD_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
MAX_PAYLOAD_BYTES = 4 << 20  # one entry's payload; the store's entries are far smaller


def genesis_hash(store_id: str) -> bytes:
    return sha256(b"field-recorder/genesis/v1\n" + store_id.encode("ascii"))


def entry_hash(*, prev_hash: bytes, entry_type: str, record_id: str | None, supersedes: int | None,
               payload_json: bytes, media: Sequence[str], officers: Sequence[str],
               wall_time: int, mono_time: int) -> bytes:
    """The hash an entry with these fields has (the store writes it, HQ recomputes it)."""
    body = canonical_json({
        "v": 1, "prev": prev_hash.hex(), "type": entry_type, "record": record_id, "supersedes": supersedes,
        "payload": sha256(payload_json).hex(), "media": list(media), "officers": list(officers),
        "wall": wall_time, "mono": mono_time,
    })
    return sha256(ENTRY_DOMAIN + body)


def signature_ok(public: Ed25519PublicKey | bytes, message_domain: bytes, message: bytes, signature: bytes) -> bool:
    """True iff ``signature`` is ``public``'s Ed25519 signature of domain ‖ message. Never raises."""
    try:
        if not isinstance(public, Ed25519PublicKey):
            public = Ed25519PublicKey.from_public_bytes(bytes(public))
        public.verify(signature, message_domain + message)
        return True
    except (InvalidSignature, ValueError, TypeError):
        return False


def checkpoint_body(store_id: str, tree_size: int, root_hash: bytes, wall_time: int, device_key: bytes) -> bytes:
    """The signed body of a device checkpoint (``field_app.store.log.Checkpoint``)."""
    return canonical_json({"v": 1, "kind": CHECKPOINT_KIND, "store": store_id, "size": tree_size,
                           "root": root_hash.hex(), "wall": wall_time, "key": device_key.hex()})


@dataclass(frozen=True)
class WireEntry:
    """One log entry as it travels (``Entry.to_json()`` on the laptop). ``payload`` is the canonical
    JSON text exactly as hashed."""

    seq: int
    entry_type: str
    record_id: str | None
    supersedes: int | None
    payload: str
    media: tuple[str, ...]
    officers: tuple[str, ...]
    prev_hash: bytes
    entry_hash: bytes
    wall_time: int
    mono_time: int
    signature: bytes

    @classmethod
    def from_json(cls, data: Any) -> "WireEntry":
        """Parse and check the shape of one wire entry; ProtocolError(MALFORMED_ENTRY) otherwise.
        Checks form only (types, hex lengths, canonical payload), not the hash or the signature."""
        def bad(why: str) -> ProtocolError:
            seq = data.get("seq") if isinstance(data, dict) else None
            return ProtocolError(Code.MALFORMED_ENTRY, detail={"seq": seq, "why": why})

        if not isinstance(data, dict):
            raise bad("not an object")
        try:
            seq, wall, mono = data["seq"], data["wall"], data["mono"]
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in (seq, wall, mono)) or seq < 1:
                raise bad("seq/wall/mono must be integers, seq ≥ 1")
            etype, record, supersedes = data["type"], data["record"], data["supersedes"]
            if not isinstance(etype, str) or not _TYPE_RE.match(etype):
                raise bad("type")
            if record is not None and (not isinstance(record, str) or not _RECORD_RE.match(record)):
                raise bad("record")
            if supersedes is not None and (not isinstance(supersedes, int) or isinstance(supersedes, bool)
                                           or not 1 <= supersedes < seq):
                raise bad("supersedes")
            payload = data["payload"]
            if not isinstance(payload, str) or len(payload.encode("utf-8")) > MAX_PAYLOAD_BYTES:
                raise bad("payload must be a JSON text")
            try:
                if canonical_json(json.loads(payload)).decode("utf-8") != payload or not payload.startswith("{"):
                    raise bad("payload is not a canonical JSON object")
            except (ValueError, NotCanonical):
                raise bad("payload is not a canonical JSON object") from None
            media, officers = data["media"], data["officers"]
            if not isinstance(media, list) or not all(isinstance(m, str) and SHA_RE.match(m) for m in media):
                raise bad("media must be a list of SHA-256 hex strings")
            if not isinstance(officers, list) or not all(isinstance(o, str) and 0 < len(o) <= 64 for o in officers):
                raise bad("officers")
            prev, hashed, sig = (bytes.fromhex(data[k]) for k in ("prev", "hash", "signature"))
            if len(prev) != 32 or len(hashed) != 32 or len(sig) != 64:
                raise bad("prev/hash must be 32 bytes, signature 64 bytes")
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            if isinstance(exc, ProtocolError):
                raise
            raise bad(f"missing or invalid field ({exc.__class__.__name__}: {exc})") from None
        return cls(seq, etype, record, supersedes, payload, tuple(media), tuple(officers), prev, hashed, wall, mono, sig)

    def to_json(self) -> dict:
        return {"seq": self.seq, "type": self.entry_type, "record": self.record_id, "supersedes": self.supersedes,
                "payload": self.payload, "media": list(self.media), "officers": list(self.officers),
                "prev": self.prev_hash.hex(), "hash": self.entry_hash.hex(), "wall": self.wall_time,
                "mono": self.mono_time, "signature": self.signature.hex()}

    def computed_hash(self) -> bytes:
        return entry_hash(prev_hash=self.prev_hash, entry_type=self.entry_type, record_id=self.record_id,
                          supersedes=self.supersedes, payload_json=self.payload.encode("utf-8"), media=self.media,
                          officers=self.officers, wall_time=self.wall_time, mono_time=self.mono_time)


@dataclass(frozen=True)
class BatchCheck:
    """What ``check_batch`` found: entries HQ already holds (identical) and the new ones, in order."""

    duplicates: int
    new: list[WireEntry]


def check_batch(entries: Iterable[WireEntry], *, store_id: str, device_key: bytes, head_size: int,
                head_hash: bytes, known_hash: "callable[[int], bytes | None]") -> BatchCheck:
    """Check a pushed batch against HQ's head for this device, all or nothing.

    Guarantees when it returns: entries at or below the head are byte-identical (by hash) to what HQ
    holds (``known_hash(seq)``); the new ones start at head + 1, are consecutive, link to the head and to
    each other, hash to what they claim and carry a valid device signature. Raises ProtocolError with
    ENTRY_GAP, HISTORY_DIVERGED, ENTRY_HASH_MISMATCH, CHAIN_BROKEN or BAD_SIGNATURE (detail names the
    seq) otherwise. Dangerous: ``head_hash`` must be read in the same transaction that stores the result,
    or two concurrent pushes could both pass.
    """
    public = Ed25519PublicKey.from_public_bytes(device_key)
    duplicates, new = 0, []
    expected_seq, link = head_size + 1, head_hash if head_size else genesis_hash(store_id)
    for entry in entries:
        if not new and entry.seq <= head_size:
            if known_hash(entry.seq) != entry.entry_hash:
                raise ProtocolError(Code.HISTORY_DIVERGED, detail={"seq": entry.seq, "head": head_size})
            duplicates += 1
            continue
        if entry.seq != expected_seq:
            raise ProtocolError(Code.ENTRY_GAP, detail={"seq": entry.seq, "expected": expected_seq, "head": head_size})
        if entry.computed_hash() != entry.entry_hash:
            raise ProtocolError(Code.ENTRY_HASH_MISMATCH, detail={"seq": entry.seq})
        if entry.prev_hash != link:
            raise ProtocolError(Code.CHAIN_BROKEN, detail={"seq": entry.seq})
        if not signature_ok(public, ENTRY_DOMAIN, entry.entry_hash, entry.signature):
            raise ProtocolError(Code.BAD_SIGNATURE, detail={"seq": entry.seq})
        new.append(entry)
        expected_seq, link = entry.seq + 1, entry.entry_hash
    return BatchCheck(duplicates, new)
