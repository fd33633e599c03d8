"""Content-addressed blob storage behind a small interface, so an S3-compatible backend can replace the
filesystem at province scale (not part of this issue).

``FileBlobStore`` layout under the data directory::

    blobs/ab/cd/<sha256>          complete blobs, named by the SHA-256 of their content (read-only)
    uploads/<device>/<sha256>.part uploads in progress, one per (device, blob)

Guarantees: ``write_chunk`` returns only after the bytes are fsynced; ``commit`` re-hashes the whole
upload, fsyncs it, renames it into ``blobs/`` and fsyncs the directories before returning — so a blob
the database records as complete is on disk under its final name with the right content. Nothing is
ever modified in place under ``blobs/``.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from typing import BinaryIO, Iterator, Protocol

READ_SIZE = 1 << 20


class BlobHashMismatch(Exception):
    """The finished upload does not hash to the blob's name (the upload was discarded)."""


class BlobStore(Protocol):
    def has(self, sha256: str) -> bool: ...
    def size(self, sha256: str) -> int | None: ...
    def open(self, sha256: str) -> BinaryIO: ...
    def partial_size(self, key: str) -> int: ...
    def write_chunk(self, key: str, offset: int, data: bytes) -> None: ...
    def commit(self, key: str, sha256: str, size: int) -> None: ...
    def discard(self, key: str) -> None: ...
    def iter_blobs(self) -> Iterator[str]: ...
    def hash_blob(self, sha256: str) -> str: ...


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FileBlobStore:
    """Blobs as files (see module docstring). Thread-safe; keeps a running hash per upload in memory so
    a finished upload is not read back twice (rebuilt from the file after a restart)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.blob_dir = self.root / "blobs"
        self.upload_dir = self.root / "uploads"
        self.blob_dir.mkdir(parents=True, exist_ok=True)
        self.upload_dir.mkdir(parents=True, exist_ok=True)
        self._hashers: dict[str, tuple[int, "hashlib._Hash"]] = {}
        self._lock = threading.Lock()

    # --- complete blobs ----------------------------------------------------------------------------

    def path(self, sha256: str) -> Path:
        return self.blob_dir / sha256[:2] / sha256[2:4] / sha256

    def has(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def size(self, sha256: str) -> int | None:
        try:
            return self.path(sha256).stat().st_size
        except FileNotFoundError:
            return None

    def open(self, sha256: str) -> BinaryIO:
        return open(self.path(sha256), "rb")

    def iter_blobs(self) -> Iterator[str]:
        for path in sorted(self.blob_dir.glob("??/??/*")):
            if path.is_file() and len(path.name) == 64:
                yield path.name

    def hash_blob(self, sha256: str) -> str:
        """The SHA-256 of the stored content (for ``field-hq verify``)."""
        digest = hashlib.sha256()
        with self.open(sha256) as fh:
            while block := fh.read(READ_SIZE):
                digest.update(block)
        return digest.hexdigest()

    # --- uploads -----------------------------------------------------------------------------------

    def _part(self, key: str) -> Path:
        device, sha = key.split("/")
        return self.upload_dir / device / f"{sha}.part"

    def partial_size(self, key: str) -> int:
        try:
            return self._part(key).stat().st_size
        except FileNotFoundError:
            return 0

    def write_chunk(self, key: str, offset: int, data: bytes) -> None:
        """Write ``data`` at ``offset`` (dropping anything after it: a torn earlier attempt) and fsync."""
        part = self._part(key)
        part.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(part, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            os.ftruncate(fd, offset)
            written = 0
            view = memoryview(data)
            while written < len(data):
                written += os.pwrite(fd, view[written:], offset + written)
            os.fsync(fd)
        finally:
            os.close(fd)
        with self._lock:
            running = self._hashers.get(key)
            if running is not None and running[0] == offset:
                running[1].update(data)
                self._hashers[key] = (offset + len(data), running[1])
            else:
                self._hashers.pop(key, None)  # rebuilt from the file at commit

    def commit(self, key: str, sha256: str, size: int) -> None:
        """Check the finished upload against its name and move it into ``blobs/`` durably.
        BlobHashMismatch (upload discarded) if the content is not ``sha256`` of ``size`` bytes."""
        part = self._part(key)
        with self._lock:
            running = self._hashers.pop(key, None)
        if running is not None and running[0] == size:
            actual = running[1].hexdigest()
        else:
            digest = hashlib.sha256()
            with open(part, "rb") as fh:
                while block := fh.read(READ_SIZE):
                    digest.update(block)
            actual = digest.hexdigest()
        if actual != sha256 or part.stat().st_size != size:
            self.discard(key)
            raise BlobHashMismatch(actual)
        final = self.path(sha256)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(part, 0o400)
        os.replace(part, final)
        _fsync_dir(final.parent)
        _fsync_dir(part.parent)

    def discard(self, key: str) -> None:
        with self._lock:
            self._hashers.pop(key, None)
        self._part(key).unlink(missing_ok=True)

    def start_hash(self, key: str) -> None:
        """Begin a running hash for an upload starting at offset 0 (called for the first chunk)."""
        with self._lock:
            self._hashers[key] = (0, hashlib.sha256())
