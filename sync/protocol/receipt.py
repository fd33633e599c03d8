"""What HQ signs: receipts (signed checkpoints over a device's log as HQ holds it) and enrolment answers.

Receipt body (canonical JSON, signed with HQ's Ed25519 key under ``RECEIPT_DOMAIN``)::

    {"v": 1, "kind": "field-recorder hq receipt", "hq": hq id, "hq_key": hex, "device": store id,
     "device_key": hex, "size": n, "root": RFC 6962 root over entry hashes 1..n (hex),
     "head": entry hash n (hex), "time": HQ time ns}

HQ issues a receipt for size n only when it holds entries 1..n (verified) and every media file they
reference complete on disk (re-hashed and fsynced). So "covered by a receipt" means "HQ provably
holds it", and the laptop may prune such media (docs/protocol.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sync.protocol.canonical import canonical_json
from sync.protocol.chain import SHA_RE, signature_ok

RECEIPT_DOMAIN = b"field-recorder/hq-receipt/v1\n"
ENROLMENT_DOMAIN = b"field-recorder/hq-enrolment/v1\n"
RECEIPT_KIND = "field-recorder hq receipt"


@dataclass(frozen=True)
class Receipt:
    hq_id: str
    hq_key: bytes
    device_id: str
    device_key: bytes
    size: int
    root: bytes
    head: bytes
    time_ns: int
    signature: bytes = b""

    def body(self) -> bytes:
        return canonical_json({"v": 1, "kind": RECEIPT_KIND, "hq": self.hq_id, "hq_key": self.hq_key.hex(),
                               "device": self.device_id, "device_key": self.device_key.hex(), "size": self.size,
                               "root": self.root.hex(), "head": self.head.hex(), "time": self.time_ns})

    def to_json(self) -> dict:
        return {"v": 1, "kind": RECEIPT_KIND, "hq": self.hq_id, "hq_key": self.hq_key.hex(), "device": self.device_id,
                "device_key": self.device_key.hex(), "size": self.size, "root": self.root.hex(),
                "head": self.head.hex(), "time": self.time_ns, "signature": self.signature.hex()}

    @classmethod
    def from_json(cls, data: Any) -> "Receipt":
        """Parse; ValueError if the shape is wrong (the signature is checked by ``verify``)."""
        try:
            if data["kind"] != RECEIPT_KIND or data["v"] != 1:
                raise ValueError("kind")
            size, time_ns = data["size"], data["time"]
            if not isinstance(size, int) or isinstance(size, bool) or size < 0 or not isinstance(time_ns, int):
                raise ValueError("size")
            for key in ("root", "head"):
                if not SHA_RE.match(data[key]):
                    raise ValueError(key)
            return cls(str(data["hq"]), bytes.fromhex(data["hq_key"]), str(data["device"]),
                       bytes.fromhex(data["device_key"]), size, bytes.fromhex(data["root"]),
                       bytes.fromhex(data["head"]), time_ns, bytes.fromhex(data["signature"]))
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not a receipt: {exc}") from None

    def verify(self, *, hq_key: bytes, device_id: str, device_key: bytes) -> bool:
        """True iff signed by ``hq_key`` (the key pinned at enrolment) for this device. Does not compare
        the root with the laptop's log: the caller does that (``root == store.root_at(size)``)."""
        return (self.hq_key == hq_key and self.device_id == device_id and self.device_key == device_key
                and signature_ok(hq_key, RECEIPT_DOMAIN, self.body(), self.signature))


def enrolment_signed_body(answer: dict) -> bytes:
    """The bytes HQ signs in an enrolment answer: the answer without ``signature`` and ``code_mac``."""
    return ENROLMENT_DOMAIN + canonical_json({k: v for k, v in answer.items() if k not in ("signature", "code_mac")})
