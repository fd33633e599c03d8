"""The key hierarchy: data key, officer wraps, the device secret in the OS keyring, and the header file.

    data key (32 random bytes, one per store, never written anywhere in clear)
      ├─ SQLCipher key, media keys, …          derived with HKDF (``subkey``)
      ├─ wrapped per officer:  AES-256-GCM under KEK = HKDF(Argon2id(password, salt) ‖ device secret)
      └─ wrapped for HQ:       X25519 sealed box (escrow.py)

The device secret (32 random bytes) lives only in the OS keyring, so a copy of the disk alone cannot
be attacked offline by guessing passwords. The header file ``store.json`` holds everything needed
before unlocking: store id, KDF parameters, the wraps, the escrow box. It holds no names and no case
data (officers are identified by 执法证号 only).

Dangerous: whoever holds the data key can read and rewrite the whole store; keep it in memory only
while unlocked (``bytearray``, zeroed on lock — best effort, Python may keep copies).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from field_app.store.canonical import canonical_json
from field_app.store.errors import DeviceSecretMissing, StoreCorrupt, StoreError, StoreNotFound, WrongPassword
from field_app.store.fsutil import atomic_write
from field_app.store.secrets import KeyringUnavailable, require_safe_keyring

HEADER_NAME = "store.json"
HEADER_FORMAT = "field-recorder-store"
HEADER_VERSION = 1
KEYRING_SERVICE = "field-recorder"
MIN_PASSWORD_LENGTH = 8


def subkey(data_key: bytes | bytearray, purpose: str, salt: bytes | None = None) -> bytes:
    """A 32-byte key for one purpose, derived from the data key (HKDF-SHA256)."""
    return HKDF(hashes.SHA256(), 32, salt, f"field-recorder/{purpose}/v1".encode()).derive(bytes(data_key))


# --- officer wraps ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class KdfParams:
    """Argon2id cost. Recorded next to every wrap, so it can be raised later for new passwords."""

    memory_kib: int = 65536
    time_cost: int = 3
    parallelism: int = 2

    def to_json(self) -> dict:
        return {"alg": "argon2id", "memory_kib": self.memory_kib, "time_cost": self.time_cost,
                "parallelism": self.parallelism}

    @classmethod
    def from_json(cls, data: dict) -> "KdfParams":
        if data.get("alg") != "argon2id":
            raise StoreCorrupt("证据库头文件中的密钥派生算法无法识别。")
        return cls(int(data["memory_kib"]), int(data["time_cost"]), int(data["parallelism"]))


@dataclass
class OfficerWrap:
    cert_no: str
    salt: bytes
    kdf: KdfParams
    wrapped: bytes  # nonce ‖ AES-GCM(data key)

    def to_json(self) -> dict:
        return {"cert_no": self.cert_no, "salt": self.salt.hex(), "kdf": self.kdf.to_json(),
                "wrapped_key": self.wrapped.hex()}

    @classmethod
    def from_json(cls, data: dict) -> "OfficerWrap":
        return cls(str(data["cert_no"]), bytes.fromhex(data["salt"]), KdfParams.from_json(data["kdf"]),
                   bytes.fromhex(data["wrapped_key"]))


def check_password_rules(password: str) -> None:
    """Raise InvalidInput (Chinese) if a new password is unacceptable."""
    from field_app.store.errors import InvalidInput

    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"密码至少需要 {MIN_PASSWORD_LENGTH} 个字符。")


def _kek(password: str, salt: bytes, kdf: KdfParams, device_secret: bytes) -> bytes:
    normalized = unicodedata.normalize("NFC", password).encode("utf-8")
    stretched = hash_secret_raw(normalized, salt, kdf.time_cost, kdf.memory_kib, kdf.parallelism, 32, Type.ID)
    return HKDF(hashes.SHA256(), 32, salt, b"field-recorder/officer-wrap/v1").derive(stretched + device_secret)


def _wrap_aad(store_id: str, cert_no: str, kdf: KdfParams) -> bytes:
    return canonical_json({"store": store_id, "cert_no": cert_no, "kdf": kdf.to_json()})


def wrap_for_officer(data_key: bytes | bytearray, store_id: str, cert_no: str, password: str,
                     device_secret: bytes, kdf: KdfParams | None = None) -> OfficerWrap:
    """Wrap the data key under this officer's password and the device secret (fresh salt and nonce)."""
    kdf = kdf or KdfParams()
    salt = secrets.token_bytes(16)
    nonce = secrets.token_bytes(12)
    kek = _kek(password, salt, kdf, device_secret)
    wrapped = nonce + AESGCM(kek).encrypt(nonce, bytes(data_key), _wrap_aad(store_id, cert_no, kdf))
    return OfficerWrap(cert_no, salt, kdf, wrapped)


def unwrap_for_officer(wrap: OfficerWrap, store_id: str, password: str, device_secret: bytes) -> bytearray:
    """The data key, or WrongPassword. Costs one Argon2id run; touches no file."""
    kek = _kek(password, wrap.salt, wrap.kdf, device_secret)
    try:
        key = AESGCM(kek).decrypt(wrap.wrapped[:12], wrap.wrapped[12:],
                                  _wrap_aad(store_id, wrap.cert_no, wrap.kdf))
    except InvalidTag:
        raise WrongPassword("密码不正确。请检查输入法（中文/英文、大小写）后重试。") from None
    return bytearray(key)


# --- device secret (OS keyring) --------------------------------------------------------------------

def _device_username(store_id: str) -> str:
    return f"device-secret:{store_id}"


def device_check(device_secret: bytes) -> bytes:
    """A short fingerprint of the device secret, stored in the header to recognise the right secret."""
    return hmac.new(device_secret, b"field-recorder/device-check/v1", hashlib.sha256).digest()[:16]


def _keyring_call(fn, *args):
    backend = require_safe_keyring()
    try:
        return getattr(backend, fn)(*args)
    except KeyringUnavailable:
        raise
    except Exception as exc:  # dbus errors, locked collection, dismissed prompt…
        raise KeyringUnavailable(f"系统密钥环无法使用（{type(exc).__name__}）。请确认已登录系统并解锁密钥环后重试。",
                                 detail=repr(exc)) from exc


def create_device_secret(store_id: str) -> bytes:
    """Generate this store's device secret and put it into the safe OS keyring (read back to check)."""
    value = secrets.token_bytes(32)
    _keyring_call("set_password", KEYRING_SERVICE, _device_username(store_id), value.hex())
    if _keyring_call("get_password", KEYRING_SERVICE, _device_username(store_id)) != value.hex():
        raise KeyringUnavailable("系统密钥环读回的设备密钥与写入的不一致，不能使用。")
    return value


def load_device_secret(store_id: str, check: bytes) -> bytes:
    """This store's device secret from the OS keyring; DeviceSecretMissing if absent or not matching."""
    stored = _keyring_call("get_password", KEYRING_SERVICE, _device_username(store_id))
    if stored is None:
        raise DeviceSecretMissing(
            "本机的系统密钥环里没有这个证据库的设备密钥（可能换了电脑、重装了系统或换了系统账户）。"
            "请联系局端用恢复密钥恢复。")
    try:
        value = bytes.fromhex(stored)
    except ValueError:
        value = b""
    if not hmac.compare_digest(device_check(value), check):
        raise DeviceSecretMissing("系统密钥环中的设备密钥与这个证据库不匹配。请联系局端用恢复密钥恢复。")
    return value


# --- header file -----------------------------------------------------------------------------------

@dataclass
class Header:
    store_id: str
    created: str
    device_public_key: bytes
    device_check: bytes
    escrow: dict
    officers: list[OfficerWrap] = field(default_factory=list)

    def wrap_for(self, cert_no: str) -> OfficerWrap | None:
        return next((w for w in self.officers if w.cert_no == cert_no), None)

    def to_bytes(self) -> bytes:
        data = {"format": HEADER_FORMAT, "version": HEADER_VERSION, "store_id": self.store_id,
                "created": self.created, "device_public_key": self.device_public_key.hex(),
                "device_check": self.device_check.hex(), "escrow": self.escrow,
                "officers": [w.to_json() for w in self.officers]}
        return json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8") + b"\n"

    @classmethod
    def from_bytes(cls, raw: bytes) -> "Header":
        try:
            data = json.loads(raw.decode("utf-8"))
            if data.get("format") != HEADER_FORMAT:
                raise ValueError("format")
            if data.get("version") != HEADER_VERSION:
                raise StoreCorrupt(f"证据库格式版本 {data.get('version')} 不受本程序支持，请升级程序。")
            return cls(str(data["store_id"]), str(data["created"]), bytes.fromhex(data["device_public_key"]),
                       bytes.fromhex(data["device_check"]), dict(data["escrow"]),
                       [OfficerWrap.from_json(w) for w in data["officers"]])
        except StoreError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise StoreCorrupt("证据库头文件 store.json 已损坏或不是本程序的文件。", detail=repr(exc)) from exc


def read_header(data_dir: Path) -> Header:
    path = data_dir / HEADER_NAME
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise StoreNotFound(f"目录 {data_dir} 中没有证据库。") from None
    except OSError as exc:
        raise StoreCorrupt(f"无法读取证据库头文件（{exc.strerror}）。", detail=repr(exc)) from exc
    return Header.from_bytes(raw)


def write_header(data_dir: Path, header: Header) -> None:
    """Durably replace the header (old or new version survives a crash, never a mix)."""
    atomic_write(data_dir / HEADER_NAME, header.to_bytes())


def new_store_id() -> str:
    return os.urandom(16).hex()
