"""HQ escrow: the data key sealed to the HQ public key, and recovery with the HQ private key.

Sealed box (``sync.protocol.sealedbox``, shared with the HQ server): an ephemeral X25519 key pair per
box; key = HKDF-SHA256(X25519(ephemeral, HQ), salt = ephemeral public ‖ HQ public); AES-256-GCM with
that single-use key, the store id as associated data. Only the holder of the HQ private key can open it; the laptop cannot (it keeps no private part).

Dangerous: the HQ private key opens every store sealed to it. Keep it offline at HQ; never put it on a
laptop except to recover one store, and then remove it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from field_app.store.errors import InvalidInput, StoreCorrupt, WrongPassword
from sync.protocol import sealedbox

if TYPE_CHECKING:
    from field_app.store.store import Store

ALG = sealedbox.ALG


def generate_hq_keypair() -> tuple[bytes, bytes]:
    """A new HQ key pair as raw 32-byte (private, public). For HQ set-up and tests."""
    private = X25519PrivateKey.generate()
    raw_private = private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                        serialization.NoEncryption())
    return raw_private, public_bytes(private)


def public_bytes(private: X25519PrivateKey) -> bytes:
    return private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def load_hq_public_key(value: bytes) -> X25519PublicKey:
    if not isinstance(value, (bytes, bytearray)) or len(value) != 32:
        raise InvalidInput("局端公钥格式不正确：应为 32 字节的 X25519 公钥。")
    return X25519PublicKey.from_public_bytes(bytes(value))


def load_hq_private_key(value: bytes | str | X25519PrivateKey) -> X25519PrivateKey:
    """Accepts the key object, 32 raw bytes, 64 hex characters, or a PEM (PKCS#8) text."""
    if isinstance(value, X25519PrivateKey):
        return value
    try:
        if isinstance(value, str):
            value = value.strip().encode("ascii")
        if value.startswith(b"-----BEGIN"):
            key = serialization.load_pem_private_key(value, password=None)
            if not isinstance(key, X25519PrivateKey):
                raise ValueError("not an X25519 key")
            return key
        if len(value) == 64:
            value = bytes.fromhex(value.decode("ascii"))
        if len(value) == 32:
            return X25519PrivateKey.from_private_bytes(bytes(value))
    except (ValueError, UnicodeDecodeError, TypeError) as exc:
        raise InvalidInput("局端恢复私钥格式不正确（应为 X25519 私钥：PEM、64 位十六进制或 32 字节）。") from exc
    raise InvalidInput("局端恢复私钥格式不正确（应为 X25519 私钥：PEM、64 位十六进制或 32 字节）。")


def seal(recipient_public: bytes, plaintext: bytes, aad: bytes) -> dict:
    """Seal ``plaintext`` so only the holder of the matching private key can open it (format:
    ``sync.protocol.sealedbox``, shared with the HQ server's key recovery)."""
    load_hq_public_key(recipient_public)
    return sealedbox.seal(bytes(recipient_public), plaintext, aad)


def open_sealed(private_key: bytes | str | X25519PrivateKey, box: dict, aad: bytes) -> bytes:
    """The sealed plaintext; WrongPassword (Chinese) if this is not the right HQ key."""
    private = load_hq_private_key(private_key)
    if not isinstance(box, dict) or box.get("alg") != ALG:
        raise StoreCorrupt("证据库头文件中的托管密钥格式无法识别。")
    try:
        return sealedbox.open_box(private, box, aad)
    except sealedbox.BoxError as exc:
        if exc.wrong_key:
            raise WrongPassword("这把局端私钥与本证据库登记的局端公钥不匹配。请使用建库时对应的局端恢复密钥。") from None
        if "malformed" in str(exc):
            raise StoreCorrupt("证据库头文件中的托管密钥已损坏。") from exc
        raise StoreCorrupt("证据库头文件中的托管密钥无法解开（文件可能被改动）。") from exc


def recover_store(data_dir: Path, hq_private_key: bytes | str | X25519PrivateKey) -> "Store":
    """Unlock a store with the HQ private key when no officer password works (or the keyring is gone).

    Returns the store unlocked in recovery mode (no officer unlocked); it writes a ``store_recovered``
    entry. Then ``store.reset_password(cert_no, new_password)`` gives officers new passwords on this
    computer. Does not need the OS keyring to read; resetting a password does.
    """
    from field_app.store.store import Store

    store = Store.open(data_dir)
    data_key = bytearray(open_sealed(hq_private_key, store.header.escrow, store.header.store_id.encode()))
    store._unlock_with_data_key(data_key, recovered=True)
    return store


def recover_store_with_data_key(data_dir: Path, data_key_hex: str) -> "Store":
    """Like ``recover_store``, with the store's own data key as ``field-hq recover-key`` writes it (64 hex).

    This is the safer path: HQ opens one device's escrow box and hands IT that store's key only, so the
    escrow private key never leaves HQ. A key of another store is refused (the database does not
    decrypt: ``StoreCorrupt``) and nothing is written. Dangerous: the key file opens every record of
    this store — destroy it after use.
    """
    from field_app.store.errors import InvalidInput
    from field_app.store.store import Store

    text = data_key_hex.strip()
    try:
        data_key = bytearray(bytes.fromhex(text))
    except ValueError:
        data_key = bytearray()
    if len(data_key) != 32:
        raise InvalidInput("数据密钥文件格式不对：应为 field-hq recover-key 写出的 64 位十六进制。")
    store = Store.open(data_dir)
    store._unlock_with_data_key(data_key, recovered=True, method="hq-data-key")
    return store
