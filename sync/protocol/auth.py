"""Request authentication: every call after enrolment is signed with the device's Ed25519 key.

Headers::

    X-FR-Protocol:  1
    X-FR-Device:    <store id>                   the device is its evidence store
    X-FR-Time:      <ms since the epoch>         HQ time as the client estimates it (local + offset)
    X-FR-Nonce:     <32 hex>                     fresh random per request
    X-FR-Signature: <128 hex>                    Ed25519(device key, REQUEST_DOMAIN ‖ signing_string)

    signing_string = METHOD ‖ "\\n" ‖ path?query ‖ "\\n" ‖ time ‖ "\\n" ‖ nonce ‖ "\\n" ‖ SHA-256(body) hex

The domain prefixes (``REQUEST_DOMAIN``, ``ENROL_DOMAIN``) differ from the log's entry and checkpoint
domains, so no request signature can ever be taken for a log entry or a checkpoint. The laptop's store
signs with ``Store.device_sign(purpose, message)``, which adds the domain itself.

Replay protection: HQ accepts a time within ``MAX_SKEW_MS`` of its own clock and remembers every
(device, nonce) for longer than that window; a second use of a nonce is refused (AUTH_REPLAYED). The
client learns HQ's clock first (``GET /v1/time``), so a laptop whose clock is wrong can still sync —
and the offset is recorded. Dangerous: the body hash must be of the exact bytes sent.
"""

from __future__ import annotations

import re
import secrets

from sync.protocol.chain import signature_ok

REQUEST_DOMAIN = b"field-recorder/request/v1\n"
ENROL_DOMAIN = b"field-recorder/enrol/v1\n"
DOMAINS = {"request": REQUEST_DOMAIN, "enrol": ENROL_DOMAIN}
MAX_SKEW_MS = 10 * 60 * 1000
NONCE_RE = re.compile(r"^[0-9a-f]{32}$")
H_PROTOCOL, H_DEVICE, H_TIME, H_NONCE, H_SIGNATURE = (
    "X-FR-Protocol", "X-FR-Device", "X-FR-Time", "X-FR-Nonce", "X-FR-Signature")


def new_nonce() -> str:
    return secrets.token_hex(16)


def signing_string(method: str, path: str, time_ms: int, nonce: str, body_sha256_hex: str) -> bytes:
    """What the device signs for one request (without the domain, which the signer adds)."""
    return "\n".join([method.upper(), path, str(time_ms), nonce, body_sha256_hex]).encode("utf-8")


def signature_valid(device_key: bytes, method: str, path: str, time_ms: int, nonce: str, body_sha256_hex: str,
                    signature_hex: str) -> bool:
    """True iff the header signature is the device's over this request. Never raises."""
    try:
        signature = bytes.fromhex(signature_hex)
    except (ValueError, TypeError):
        return False
    return signature_ok(device_key, REQUEST_DOMAIN, signing_string(method, path, time_ms, nonce, body_sha256_hex),
                        signature)


def normalize_enrolment_code(code: str) -> str:
    """Upper-case, no separators, Crockford look-alikes mapped (O→0, I/L→1): what HQ hashes and what
    keys the enrolment answer's ``code_mac`` (HMAC-SHA256)."""
    text = str(code or "").upper().replace("-", "").replace(" ", "")
    return text.translate(str.maketrans({"O": "0", "I": "1", "L": "1"}))
