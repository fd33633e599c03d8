"""HQ's identity in its data directory: an id, the Ed25519 key that signs receipts and enrolment answers,
and (optionally) the X25519 escrow public key that laptops seal their store keys to.

Files::

    hq.json           {"hq_id", "signing_public_key", "escrow_public_key" | null, "created"}
    hq-signing.key    the Ed25519 private key (64 hex characters), mode 0600

Dangerous: whoever has ``hq-signing.key`` can issue receipts that let laptops prune media. Back it up
with the data directory and keep the directory readable by the server account only. The escrow
*private* key is never stored here: it is only read, from a file an administrator brings, by
``field-hq recover-key``.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

IDENTITY = "hq.json"
SIGNING_KEY = "hq-signing.key"


class IdentityError(RuntimeError):
    """The data directory's identity files are missing or damaged. ``str()`` is Chinese."""


@dataclass
class Identity:
    hq_id: str
    signing_key: Ed25519PrivateKey
    escrow_public_key: bytes | None

    @property
    def public_key(self) -> bytes:
        return self.signing_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    def sign(self, domain_and_message: bytes) -> bytes:
        return self.signing_key.sign(domain_and_message)


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())


def _write_json_atomic(path: Path, data: dict) -> None:
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False, indent=2)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def load_or_create(data_dir: Path) -> Identity:
    """The identity in ``data_dir``, created on first use (directory mode 0700)."""
    data_dir = Path(data_dir)
    if not (data_dir / IDENTITY).exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        data_dir.chmod(0o700)
        key = Ed25519PrivateKey.generate()
        raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                serialization.NoEncryption())
        if not (data_dir / SIGNING_KEY).exists():
            _write_private(data_dir / SIGNING_KEY, raw.hex() + "\n")
        else:
            raw = bytes.fromhex((data_dir / SIGNING_KEY).read_text(encoding="ascii").strip())
            key = Ed25519PrivateKey.from_private_bytes(raw)
        public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        _write_json_atomic(data_dir / IDENTITY, {
            "hq_id": "hq-" + secrets.token_hex(8), "signing_public_key": public.hex(), "escrow_public_key": None,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
    return load(data_dir)


def load(data_dir: Path) -> Identity:
    data_dir = Path(data_dir)
    try:
        meta = json.loads((data_dir / IDENTITY).read_text(encoding="utf-8"))
        raw = bytes.fromhex((data_dir / SIGNING_KEY).read_text(encoding="ascii").strip())
        key = Ed25519PrivateKey.from_private_bytes(raw)
    except FileNotFoundError as exc:
        raise IdentityError(f"{data_dir} 不是局端数据目录（缺少 {Path(exc.filename).name}）。"
                            "请先运行 field-hq init --data-dir 目录。") from exc
    except (OSError, ValueError, TypeError) as exc:
        raise IdentityError(f"局端身份文件已损坏（{exc}），请从备份恢复数据目录。") from exc
    public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    if meta.get("signing_public_key") != public.hex():
        raise IdentityError("局端签名私钥与 hq.json 中的公钥不一致，请从备份恢复数据目录。")
    escrow = meta.get("escrow_public_key")
    return Identity(str(meta["hq_id"]), key, bytes.fromhex(escrow) if escrow else None)


def set_escrow_public_key(data_dir: Path, public: bytes) -> None:
    """Record the escrow public key laptops must seal to (enrolment refuses other keys afterwards)."""
    if len(public) != 32:
        raise IdentityError("托管公钥格式不正确：应为 32 字节的 X25519 公钥。")
    path = Path(data_dir) / IDENTITY
    meta = json.loads(path.read_text(encoding="utf-8"))
    meta["escrow_public_key"] = public.hex()
    _write_json_atomic(path, meta)
