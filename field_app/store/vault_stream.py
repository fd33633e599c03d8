"""Push-style writing into the media vault, for producers that generate bytes over time (the video
encoder): the same file format as ``vault.write_temp`` (see vault.py), but the producer calls
``write`` and each chunk is sealed and handed to the OS as soon as it is full.

Why: a recording must survive SIGKILL with at most about a second lost and never touch the disk in
plaintext. With small chunks (e.g. 32 KiB ≈ 0.1–1 s of video) everything but the last unsealed chunk
is on disk, encrypted and authenticated; ``MediaStore.recover_partials`` turns it into media.
"""

from __future__ import annotations

import hashlib
import io
import os
import secrets
from pathlib import Path
from typing import Callable

from field_app.store import vault
from field_app.store.fsutil import raise_os_error
from field_app.store.vault import MediaRef, VaultKeys


class VaultStreamWriter(io.RawIOBase):
    """Encrypts what is written into ``tmp_path``; ``close()`` finishes the file and calls
    ``on_complete(tmp_path, ref)`` (which installs it) and returns the MediaRef.

    Not thread-safe. After an OSError (disk full) the writer is broken: the sealed chunks stay in the
    temp file for recovery and ``close()`` raises again."""

    def __init__(self, tmp_path: Path, keys: VaultKeys, media_type: str, chunk_size: int,
                 on_complete: Callable[[Path, MediaRef], None],
                 on_abandon: Callable[[Path], None] = lambda path: None) -> None:
        super().__init__()
        vault.check_media_type(media_type)
        if not 1024 <= chunk_size <= vault.CHUNK_SIZE:
            raise ValueError("chunk_size out of range")
        self.tmp_path, self.media_type, self.chunk_size = tmp_path, media_type, chunk_size
        self._on_complete, self._on_abandon = on_complete, on_abandon
        self._header, self._cipher = vault.new_file(keys, chunk_size, media_type)
        self._digest = hashlib.sha256()
        self._size = 0
        self._index = 0
        self._buf = bytearray()
        self._broken: OSError | None = None
        self.ref: MediaRef | None = None
        try:
            self._fd = os.open(tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
            self._write_all(self._header)
        except OSError as exc:
            on_abandon(tmp_path)
            raise_os_error(exc, "无法创建录像文件")

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def _write_all(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            n = os.write(self._fd, view)
            view = view[n:]

    def _seal(self, block: bytes, final: bool = False) -> None:
        nonce, aad = vault._nonce_aad(self._header, self._index, final)
        self._write_all(self._cipher.encrypt(nonce, bytes(block), aad))
        self._index += 1

    def write(self, b) -> int:
        if self._broken is not None:
            raise self._broken
        if self.closed:
            raise ValueError("write to a closed vault writer")
        data = bytes(b)
        self._digest.update(data)
        self._size += len(data)
        self._buf += data
        try:
            while len(self._buf) >= self.chunk_size:
                self._seal(self._buf[: self.chunk_size])
                del self._buf[: self.chunk_size]
        except OSError as exc:
            self._broken = exc
            raise
        return len(data)

    def close(self) -> MediaRef | None:  # type: ignore[override]
        """Seal the rest, write the trailer, fsync, install. Returns the MediaRef (also ``self.ref``)."""
        if self.closed:
            return self.ref
        try:
            if self._broken is not None:
                raise self._broken
            if self._buf:
                self._seal(self._buf)
                self._buf.clear()
            nonce, aad = vault._nonce_aad(self._header, self._index, True)
            self._write_all(self._cipher.encrypt(nonce, vault._TRAILER.pack(self._digest.digest(), self._size), aad))
            os.fsync(self._fd)
        except OSError as exc:
            os.close(self._fd)
            super().close()
            self._on_abandon(self.tmp_path)
            raise_os_error(exc, "保存录像文件失败")
        os.close(self._fd)
        super().close()
        self.ref = MediaRef(self._digest.hexdigest(), self._size, self.media_type)
        self._on_complete(self.tmp_path, self.ref)
        return self.ref
