"""The HQ escrow sealed box (X25519 + HKDF-SHA256 + AES-256-GCM), shared by laptop and HQ.

Format (``field_app.store.escrow`` seals the store's data key with it; ``field-hq recover-key`` opens
it)::

    {"alg": "x25519-hkdf-sha256-aes256gcm", "hq_public_key": hex, "sealed": hex(ephemeral public (32)
     ‖ AES-256-GCM(key, nonce = 12 zero bytes, plaintext, aad))}
    key = HKDF-SHA256(X25519(ephemeral, HQ), length 32, salt = ephemeral public ‖ HQ public,
                      info = "field-recorder/escrow/v1")

Every box has its own ephemeral key, so the AES key is used for exactly one message (the zero nonce
is safe). The associated data is the store id: a box moved to another store's header does not open.
Dangerous: the HQ private key opens every box sealed to it; keep it offline.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

ALG = "x25519-hkdf-sha256-aes256gcm"
_INFO = b"field-recorder/escrow/v1"
_ZERO_NONCE = b"\x00" * 12


class BoxError(ValueError):
    """The box is malformed, sealed to another key (``wrong_key``), or fails authentication."""

    def __init__(self, message: str, *, wrong_key: bool = False) -> None:
        super().__init__(message)
        self.wrong_key = wrong_key


def public_bytes(private: X25519PrivateKey) -> bytes:
    return private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _box_key(shared: bytes, ephemeral_public: bytes, recipient_public: bytes) -> bytes:
    return HKDF(hashes.SHA256(), 32, ephemeral_public + recipient_public, _INFO).derive(shared)


def seal(recipient_public: bytes, plaintext: bytes, aad: bytes) -> dict:
    """Seal ``plaintext`` so only the holder of the matching X25519 private key can open it."""
    recipient = X25519PublicKey.from_public_bytes(bytes(recipient_public))
    ephemeral = X25519PrivateKey.generate()
    ephemeral_public = public_bytes(ephemeral)
    key = _box_key(ephemeral.exchange(recipient), ephemeral_public, bytes(recipient_public))
    sealed = ephemeral_public + AESGCM(key).encrypt(_ZERO_NONCE, plaintext, aad)
    return {"alg": ALG, "hq_public_key": bytes(recipient_public).hex(), "sealed": sealed.hex()}


def open_box(private: X25519PrivateKey, box: dict, aad: bytes) -> bytes:
    """The plaintext, or BoxError (English; callers word it for their users)."""
    if not isinstance(box, dict) or box.get("alg") != ALG:
        raise BoxError("unknown sealed-box algorithm")
    try:
        sealed = bytes.fromhex(box["sealed"])
        recipient_public = bytes.fromhex(box["hq_public_key"])
    except (KeyError, ValueError, TypeError) as exc:
        raise BoxError("malformed sealed box") from exc
    if public_bytes(private) != recipient_public:
        raise BoxError("sealed to another key", wrong_key=True)
    ephemeral_public, ciphertext = sealed[:32], sealed[32:]
    try:
        shared = private.exchange(X25519PublicKey.from_public_bytes(ephemeral_public))
        return AESGCM(_box_key(shared, ephemeral_public, recipient_public)).decrypt(_ZERO_NONCE, ciphertext, aad)
    except (InvalidTag, ValueError) as exc:
        raise BoxError("sealed box fails authentication") from exc
