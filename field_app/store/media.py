"""Putting media into the vault and getting it back, for an unlocked store (see vault.py for the format)."""

from __future__ import annotations

import io
import os
import secrets
import threading
from pathlib import Path
from typing import BinaryIO

from field_app.store import vault
from field_app.store.errors import InvalidInput, MediaError
from field_app.store.fsutil import raise_os_error
from field_app.store.ledger import Ledger
from field_app.store.vault import MediaRef, VaultKeys

_SHA_CHARS = set("0123456789abcdef")


def _check_sha(sha256: str) -> str:
    if not isinstance(sha256, str) or len(sha256) != 64 or not set(sha256) <= _SHA_CHARS:
        raise InvalidInput(f"媒体文件标识 {sha256!r} 不是 SHA-256（64 位小写十六进制）。")
    return sha256


class MediaStore:
    def __init__(self, vault_dir: Path, keys: VaultKeys, ledger: Ledger) -> None:
        self.vault_dir = vault_dir
        self.tmp_dir = vault_dir / "tmp"
        self.keys = keys
        self.ledger = ledger
        self._active: set[Path] = set()  # temp files being written by this process right now
        self._active_lock = threading.Lock()

    def path(self, sha256: str) -> Path:
        return vault.media_path(self.vault_dir, self.keys, _check_sha(sha256))

    def _new_temp(self) -> Path:
        try:
            self.tmp_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise_os_error(exc, "无法创建媒体文件目录")
        tmp = self.tmp_dir / f"{secrets.token_hex(12)}.part"
        with self._active_lock:
            self._active.add(tmp)
        return tmp

    def _done(self, tmp: Path) -> None:
        with self._active_lock:
            self._active.discard(tmp)

    def put(self, src: Path | BinaryIO, *, media_type: str) -> MediaRef:
        """Stream ``src`` into the vault and register it; durable when this returns.

        If the source is a stream (e.g. the encoder) and writing fails half-way (disk full), the
        encrypted part already written stays in vault/tmp and ``recover_partials`` can save it later.
        """
        vault.check_media_type(media_type)
        self.ledger.conn  # noqa: B018 - StoreLocked before any work when locked
        if isinstance(src, (str, os.PathLike)):
            try:
                source = open(src, "rb")
            except OSError as exc:
                raise InvalidInput(f"无法读取要保存的文件 {src}（{exc.strerror}）。") from exc
            keep_partial = False
        else:
            source, keep_partial = src, True
        tmp = self._new_temp()
        try:
            try:
                ref = vault.write_temp(tmp, self.keys, source, media_type)
            except (OSError, vault.SourceError) as exc:
                if not keep_partial or not tmp.exists() or tmp.stat().st_size <= 64:
                    tmp.unlink(missing_ok=True)  # nothing worth recovering, or the source file still exists
                if isinstance(exc, vault.SourceError):
                    raise
                raise_os_error(exc, "保存媒体文件失败")
            vault.install(tmp, self.path(ref.sha256), self.keys, ref)
            self.ledger.add_media(ref)
            return ref
        finally:
            self._done(tmp)
            if source is not src:
                source.close()

    def writer(self, media_type: str, chunk_size: int):
        from field_app.store.vault_stream import VaultStreamWriter

        self.ledger.conn  # noqa: B018 - StoreLocked before creating anything when locked
        tmp = self._new_temp()

        def complete(path: Path, ref: MediaRef) -> None:
            try:
                vault.install(path, self.path(ref.sha256), self.keys, ref)
                self.ledger.add_media(ref)
            finally:
                self._done(path)

        try:
            return VaultStreamWriter(tmp, self.keys, media_type, chunk_size, complete, self._done)
        except BaseException:
            self._done(tmp)
            raise

    def open(self, sha256: str, *, whole_file_check: bool = True) -> BinaryIO:
        reader = vault.VaultReader(self.path(sha256), self.keys, sha256, whole_file_check=whole_file_check)
        return io.BufferedReader(reader, vault.CHUNK_SIZE)

    def recover_partials(self, officers: tuple[str, ...]) -> list[MediaRef]:
        """Save what crash-cut writes left in vault/tmp as media, each with a ``store.media_recovered``
        entry. Each is completed in place (no extra disk space needed). A partial with nothing
        authenticated in it is renamed ``*.unreadable`` (kept, not retried)."""
        recovered = []
        for part in sorted(self.tmp_dir.glob("*.part")) if self.tmp_dir.is_dir() else []:
            with self._active_lock:
                if part in self._active:
                    continue
            ref, complete = self._recover_one(part)
            if ref is None:
                part.rename(part.with_suffix(".unreadable"))
                continue
            self.ledger.append("store.media_recovered",
                               {"sha256": ref.sha256, "size": ref.size, "media_type": ref.media_type,
                                "complete": complete, "partial_file": part.name},
                               media=[ref.sha256], officers=officers, internal=True)
            part.unlink(missing_ok=True)
            recovered.append(ref)
        for ref in self._unregistered():
            self.ledger.add_media(ref)
            self.ledger.append("store.media_recovered",
                               {"sha256": ref.sha256, "size": ref.size, "media_type": ref.media_type,
                                "complete": True, "partial_file": None},
                               media=[ref.sha256], officers=officers, internal=True)
            recovered.append(ref)
        return recovered

    def _unregistered(self) -> list[MediaRef]:
        """Complete vault files with no media row (the process died between rename and registration).
        Reads only each file's trailer; a file that does not authenticate is left for the verifier."""
        found = []
        for path in sorted(self.vault_dir.glob("??/*" + vault.SUFFIX)):
            try:
                with vault.VaultReader(path, self.keys) as reader:
                    ref = MediaRef(reader.sha256, reader.size, reader.media_type)
            except MediaError:
                continue
            if self.ledger.media_row(ref.sha256) is None and path == self.path(ref.sha256):
                found.append(ref)
        return found

    def _recover_one(self, part: Path) -> tuple[MediaRef | None, bool]:
        try:  # finished but not yet renamed when the crash came?
            with vault.VaultReader(part, self.keys) as reader:
                ref, complete = MediaRef(reader.sha256, reader.size, reader.media_type), True
            vault.check_file(part, self.keys, ref.sha256)
        except MediaError:
            try:
                ref, complete = vault.seal_partial(part, self.keys), False
            except OSError as exc:
                raise_os_error(exc, "恢复未完成的媒体文件失败")
            if ref is None:
                return None, False
        vault.install(part, self.path(ref.sha256), self.keys, ref)
        self.ledger.add_media(ref)
        return ref, complete
