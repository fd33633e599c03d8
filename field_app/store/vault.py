"""The media vault: large files (video segments, photos, scans) as encrypted files outside the database.

File layout (``vault/<2 hex>/<64 hex>.frv``; the name is an HMAC of the plaintext SHA-256 under a key
derived from the data key, so names reveal nothing about the content)::

    header   "FRVAULT1" ‖ file id (16 random bytes) ‖ chunk size (u32) ‖ len (u16)
             ‖ AES-256-GCM(media type, UTF-8)                           the media type is not readable
    chunk i  AES-256-GCM(plaintext[i·C : (i+1)·C]) ‖ tag      every chunk full-size except the last
    trailer  AES-256-GCM(SHA-256 of plaintext ‖ size as u64)  ‖ tag

Per-file key = HKDF(media key, salt = file id); nonce = chunk index ‖ final flag; associated data =
the whole header ‖ chunk index ‖ final flag. So a chunk cannot be moved, dropped, swapped with another
file's chunk or have its header edited without failing authentication, and a truncated file has no
valid trailer. The trailer names the content, so a valid file put in place of another is recognised.

Writes go to ``vault/tmp/*.part`` (fsync) and are renamed into place (fsync dir): after a crash a file
is either complete under its final name or a partial in ``vault/tmp`` whose complete chunks can still
be decrypted and sealed in place (``seal_partial``). Nothing here ever holds a whole file in memory (one chunk at a time).
"""

from __future__ import annotations

import hashlib
import hmac
import io
import os
import secrets
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from field_app.store.errors import InvalidInput, MediaCorrupt, MediaMissing, MediaReplaced, StoreError
from field_app.store.fsutil import fsync_dir, raise_os_error
from field_app.store.keys import subkey

MAGIC = b"FRVAULT1"
CHUNK_SIZE = 1 << 20
TAG = 16
_TRAILER = struct.Struct(">32sQ")
TRAILER_LEN = _TRAILER.size + TAG
SUFFIX = ".frv"


class SourceError(StoreError):
    """Reading the media source (camera encoder pipe, a file on a USB stick…) failed."""


@dataclass(frozen=True)
class MediaRef:
    sha256: str  # hex SHA-256 of the plaintext: the file's identity in the log
    size: int
    media_type: str


class VaultKeys:
    """Keys for the vault, derived from the data key."""

    def __init__(self, data_key: bytes | bytearray) -> None:
        self._name_key = subkey(data_key, "media-name")
        self._file_root = subkey(data_key, "media-file")

    def file_name(self, sha256_hex: str) -> str:
        return hmac.new(self._name_key, bytes.fromhex(sha256_hex), hashlib.sha256).hexdigest()

    def file_cipher(self, file_id: bytes) -> AESGCM:
        key = HKDF(hashes.SHA256(), 32, file_id, b"field-recorder/vault-file/v1").derive(self._file_root)
        return AESGCM(key)


def media_path(vault_dir: Path, keys: VaultKeys, sha256_hex: str) -> Path:
    name = keys.file_name(sha256_hex)
    return vault_dir / name[:2] / (name + SUFFIX)


_FIXED = struct.Struct(">8s16sIH")  # magic, file id, chunk size, length of the encrypted media type
_META_NONCE = b"\xff" * 11 + b"\x02"  # never a chunk nonce (chunk indexes < 2**64, flags 0/1)


def new_file(keys: VaultKeys, chunk_size: int, media_type: str) -> tuple[bytes, AESGCM]:
    """A fresh file's header (fixed part ‖ encrypted media type) and its cipher. Every chunk's
    associated data starts with this header."""
    check_media_type(media_type)
    file_id = secrets.token_bytes(16)
    cipher = keys.file_cipher(file_id)
    mt = media_type.encode("utf-8")
    fixed = _FIXED.pack(MAGIC, file_id, chunk_size, len(mt) + TAG)
    return fixed + cipher.encrypt(_META_NONCE, mt, fixed), cipher


def read_header(fh: BinaryIO, keys: VaultKeys, name: str) -> tuple[bytes, int, str, AESGCM]:
    """(header bytes, chunk size, media type, cipher) of a vault file, or MediaCorrupt."""
    fixed = fh.read(_FIXED.size)
    if len(fixed) < _FIXED.size or fixed[:8] != MAGIC:
        raise MediaCorrupt(f"媒体文件 {name} 不是本程序的加密文件或文件头已损坏。", chunk=0)
    _, file_id, chunk_size, meta_len = _FIXED.unpack(fixed)
    meta = fh.read(meta_len)
    cipher = keys.file_cipher(file_id)
    try:
        media_type = cipher.decrypt(_META_NONCE, meta, fixed).decode("utf-8")
    except (InvalidTag, ValueError, UnicodeDecodeError):
        raise MediaCorrupt(f"媒体文件 {name} 的文件头校验失败（内容被改动或损坏）。", chunk=0) from None
    if chunk_size == 0:
        raise MediaCorrupt(f"媒体文件 {name} 的文件头已损坏。", chunk=0)
    return fixed + meta, chunk_size, media_type, cipher


def _nonce_aad(header: bytes, index: int, final: bool) -> tuple[bytes, bytes]:
    flag = b"\x01" if final else b"\x00"
    return index.to_bytes(11, "big") + flag, header + index.to_bytes(8, "big") + flag


def check_media_type(media_type: str) -> None:
    if not isinstance(media_type, str) or not 0 < len(media_type.encode("utf-8")) <= 255 or "/" not in media_type:
        raise InvalidInput("媒体类型格式不正确（例如 video/mp4、image/jpeg、application/pdf）。")


def _read_full(src: BinaryIO, n: int) -> bytes:
    """Exactly n bytes unless the source ends (pipes and sockets may return less per read)."""
    parts, got = [], 0
    while got < n:
        part = src.read(n - got)
        if not part:
            break
        parts.append(part)
        got += len(part)
    return b"".join(parts)


def write_temp(tmp_path: Path, keys: VaultKeys, src: BinaryIO, media_type: str,
               chunk_size: int = CHUNK_SIZE) -> MediaRef:
    """Stream ``src`` encrypted into ``tmp_path`` (created, must not exist) and fsync it.

    On error the partial file is left in place (the caller decides whether it is worth keeping).
    """
    header, cipher = new_file(keys, chunk_size, media_type)
    digest, size, index = hashlib.sha256(), 0, 0
    fd = os.open(tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(header)
        while True:
            try:
                block = _read_full(src, chunk_size)
            except OSError as exc:  # the source failed, not the disk: say so
                raise SourceError(f"读取要保存的媒体数据时出错（{exc.strerror or exc}）。已写入的部分可以恢复。",
                                  detail=repr(exc)) from exc
            if not block:
                break
            digest.update(block)
            size += len(block)
            nonce, aad = _nonce_aad(header, index, False)
            out.write(cipher.encrypt(nonce, block, aad))
            index += 1
            if len(block) < chunk_size:
                break
        nonce, aad = _nonce_aad(header, index, True)
        out.write(cipher.encrypt(nonce, _TRAILER.pack(digest.digest(), size), aad))
        out.flush()
        os.fsync(out.fileno())
    return MediaRef(digest.hexdigest(), size, media_type)


def install(tmp_path: Path, final_path: Path, keys: VaultKeys, ref: MediaRef) -> None:
    """Move a complete temp file to its final name durably. If a valid file for the same content is
    already there it is kept (vault files are never overwritten) and the temp file is removed."""
    if final_path.exists():
        try:
            with VaultReader(final_path, keys, ref.sha256):
                pass
        except (MediaCorrupt, MediaReplaced) as exc:
            tmp_path.unlink(missing_ok=True)
            raise MediaCorrupt("库中已有同一内容的媒体文件，但它已损坏。请运行 field-app verify 检查。",
                               detail=str(exc)) from exc
        tmp_path.unlink()
        return
    created_dir = not final_path.parent.exists()
    try:
        final_path.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp_path, final_path)
        fsync_dir(final_path.parent)
        if created_dir:
            fsync_dir(final_path.parent.parent)
    except OSError as exc:
        raise_os_error(exc, "无法把媒体文件存入证据库")


class _Layout:
    """Header fields and chunk geometry of a vault file (parsed from the file, validated)."""

    def __init__(self, fh: BinaryIO, file_size: int, name: str, keys: VaultKeys) -> None:
        self.header, self.chunk_size, self.media_type, self.cipher = read_header(fh, keys, name)
        self.data_start = len(self.header)
        data_len = file_size - self.data_start - TRAILER_LEN
        full = self.chunk_size + TAG
        self.chunks = -(-data_len // full) if data_len > 0 else 0
        last = data_len - (self.chunks - 1) * full if self.chunks else 0
        if data_len < 0 or (self.chunks and not TAG < last <= full):
            raise MediaCorrupt(f"媒体文件 {name} 长度不对（被截断或被改动）。", chunk=self.chunks)
        self.trailer_offset = file_size - TRAILER_LEN


class VaultReader(io.RawIOBase):
    """A seekable, readable stream of one vault file's plaintext.

    Opening authenticates the trailer and checks it names ``expected_sha256`` (MediaReplaced otherwise).
    Every chunk is authenticated before any of its bytes are returned (MediaCorrupt otherwise). Reading
    the whole file in order also re-checks the SHA-256 at the end (a read past the last byte), unless
    ``whole_file_check`` is False: for readers that hash what they read themselves (sync, whose
    receiver re-hashes everything) this saves one SHA-256 pass over the file.
    """

    def __init__(self, path: Path, keys: VaultKeys, expected_sha256: str | None = None, *,
                 whole_file_check: bool = True) -> None:
        super().__init__()
        self.name = path.name
        try:
            self._fh = open(path, "rb")
        except FileNotFoundError:
            raise MediaMissing(f"媒体文件缺失：{path.name}。") from None
        try:
            self._layout = _Layout(self._fh, os.fstat(self._fh.fileno()).st_size, path.name, keys)
            self._cipher = self._layout.cipher
            self._fh.seek(self._layout.trailer_offset)
            trailer = self._decrypt(self._layout.chunks, self._fh.read(TRAILER_LEN), final=True)
            sha, self.size = _TRAILER.unpack(trailer)
            self.sha256 = sha.hex()
            if self._layout.chunks != -(-self.size // self._layout.chunk_size):
                raise MediaCorrupt(f"媒体文件 {path.name} 的长度与记录不符。", chunk=self._layout.chunks)
            if expected_sha256 is not None and self.sha256 != expected_sha256:
                raise MediaReplaced(f"媒体文件 {path.name} 被换成了另一个文件的内容。", actual_sha256=self.sha256)
        except BaseException:
            self._fh.close()
            raise
        self.media_type = self._layout.media_type
        self._pos = 0
        self._chunk_index = -1
        self._chunk = b""
        self._digest = hashlib.sha256() if whole_file_check else None
        self._hashed_upto = 0

    def _decrypt(self, index: int, blob: bytes, final: bool) -> bytes:
        nonce, aad = _nonce_aad(self._layout.header, index, final)
        try:
            return self._cipher.decrypt(nonce, blob, aad)
        except (InvalidTag, ValueError):
            part = "结尾校验块" if final else f"第 {index + 1} 块"
            raise MediaCorrupt(f"媒体文件 {self.name} 的{part}校验失败（内容被改动或损坏）。", chunk=index) from None

    def _load(self, index: int) -> None:
        if index == self._chunk_index:
            return
        full = self._layout.chunk_size + TAG
        self._fh.seek(self._layout.data_start + index * full)
        self._chunk = self._decrypt(index, self._fh.read(full if index < self._layout.chunks - 1 else
                                                         self._layout.trailer_offset - self._fh.tell()), False)
        self._chunk_index = index
        if self._digest is not None and index * self._layout.chunk_size == self._hashed_upto:
            self._digest.update(self._chunk)
            self._hashed_upto += len(self._chunk)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer) -> int:
        if self._pos >= self.size:
            if self._digest is not None and self._hashed_upto == self.size and self._digest.hexdigest() != self.sha256:
                raise MediaCorrupt(f"媒体文件 {self.name} 解密后的内容与其 SHA-256 不符。")
            return 0
        index, offset = divmod(self._pos, self._layout.chunk_size)
        self._load(index)
        n = min(len(buffer), len(self._chunk) - offset)
        buffer[:n] = self._chunk[offset:offset + n]
        self._pos += n
        return n

    def close(self) -> None:
        if not self.closed:
            self._fh.close()
        super().close()


def check_file(path: Path, keys: VaultKeys, expected_sha256: str) -> None:
    """Read and authenticate the whole file; raise MediaMissing / MediaCorrupt / MediaReplaced."""
    with VaultReader(path, keys, expected_sha256) as reader:
        while reader.read(CHUNK_SIZE):
            pass
        if reader._hashed_upto != reader.size:  # pragma: no cover - sequential read hashes everything
            raise MediaCorrupt(f"媒体文件 {path.name} 未能完整校验。")


def seal_partial(path: Path, keys: VaultKeys) -> MediaRef | None:
    """Turn a crash-cut temp file into a complete vault file *in place*: keep the authenticated prefix
    (every whole chunk, and a short last one if it authenticates), cut off the rest, append the trailer,
    fsync. Needs no extra disk space (it works on a full disk once a few bytes are free) and can be
    repeated if it is itself interrupted. Returns None if not even one chunk authenticates.
    """
    with open(path, "r+b") as fh:
        try:
            header, chunk_size, media_type, cipher = read_header(fh, keys, path.name)
            check_media_type(media_type)
        except (MediaCorrupt, InvalidInput):
            return None
        digest, size, index, end = hashlib.sha256(), 0, 0, len(header)
        while True:
            blob = fh.read(chunk_size + TAG)
            plain = _decrypt_prefix(cipher, header, index, blob)
            if plain is None:
                break
            digest.update(plain)
            size += len(plain)
            end += len(plain) + TAG
            index += 1
            if len(plain) < chunk_size:
                break
        if size == 0:
            return None
        fh.truncate(end)
        fh.seek(end)
        nonce, aad = _nonce_aad(header, index, True)
        fh.write(cipher.encrypt(nonce, _TRAILER.pack(digest.digest(), size), aad))
        fh.flush()
        os.fsync(fh.fileno())
    return MediaRef(digest.hexdigest(), size, media_type)


def _decrypt_prefix(cipher: AESGCM, header: bytes, index: int, blob: bytes) -> bytes | None:
    """Chunk ``index`` from ``blob`` (read as a whole chunk), or None. A short last chunk may be followed
    by part of a trailer (< TRAILER_LEN bytes), so at most TRAILER_LEN possible ends are tried."""
    if len(blob) <= TAG:
        return None
    nonce, aad = _nonce_aad(header, index, False)
    for cut in range(len(blob), max(TAG, len(blob) - TRAILER_LEN), -1):
        try:
            return cipher.decrypt(nonce, blob[:cut], aad)
        except InvalidTag:
            continue
    return None
