"""Content-addressed blob storage behind a small interface, so an S3-compatible backend can replace the
filesystem at province scale (not part of this issue).

``FileBlobStore`` layout under the data directory::

    blobs/ab/cd/<sha256>          complete blobs, named by the SHA-256 of their content (read-only)
    uploads/<device>/<sha256>.part uploads in progress, one per (device, blob)

Guarantees: a chunk is streamed in through a ``PartWriter`` (``open_chunk``), which advances the
upload's running SHA-256 (from the blob's first byte) as the bytes are written and makes them durable
only in ``sync()`` (fsync); ``abort()`` cuts the file back
to where the chunk began, so a refused or cut chunk leaves nothing past the acknowledged offset.
``write_chunk`` (a whole chunk in memory) returns only after the bytes are fsynced. ``commit`` checks
the whole upload against its name (the running hash, or the file re-read after a restart), fsyncs it,
renames it into ``blobs/`` and fsyncs the directories before returning — so a blob the database records
as complete is on disk under its final name with the right content. Nothing is ever modified in place
under ``blobs/``.

Dangerous: nothing here serialises writers of one upload — the caller (``Ingest``) must hold its
per-upload lock from ``open_chunk`` until ``keep``/``abort``, and through ``commit``.
"""

from __future__ import annotations

import errno
import hashlib
import os
import threading
from pathlib import Path
from typing import BinaryIO, Iterator, Protocol

READ_SIZE = 1 << 20
MAX_IOVECS = 256
WRITE_GROUP = 1 << 20  # bytes hashed then written together (fits a core's L2 cache)


class BlobHashMismatch(Exception):
    """The finished upload does not hash to the blob's name (the upload was discarded)."""


class BlobStore(Protocol):
    def has(self, sha256: str) -> bool: ...
    def size(self, sha256: str) -> int | None: ...
    def open(self, sha256: str) -> BinaryIO: ...
    def partial_size(self, key: str) -> int: ...
    def write_chunk(self, key: str, offset: int, data: bytes) -> None: ...
    def open_chunk(self, key: str, offset: int) -> "PartWriter": ...
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

    def open_chunk(self, key: str, offset: int) -> "PartWriter":
        """A writer for the chunk that starts at ``offset`` of upload ``key``. The file is cut to
        ``offset`` first (dropping a torn earlier attempt). The writer continues the upload's running
        hash (the SHA-256 of bytes ``[0, offset)``); when HQ does not hold it at that offset (after a
        restart) it is rebuilt by reading the file's first ``offset`` bytes — once per upload and
        restart. OSError if the file cannot be opened, cut or read."""
        part = self._part(key)
        part.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(part, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            os.ftruncate(fd, offset)
            with self._lock:
                running = self._hashers.get(key)
                if running is not None and running[0] == offset:
                    prefix_hash = running[1].copy()  # a refused chunk must not advance the upload's hash
                else:
                    prefix_hash = None
            if prefix_hash is None:
                prefix_hash = _hash_fd(fd, offset)
        except BaseException:
            os.close(fd)
            raise
        return PartWriter(self, key, fd, offset, prefix_hash)

    def write_chunk(self, key: str, offset: int, data: bytes) -> None:
        """Write ``data`` at ``offset`` (dropping anything after it: a torn earlier attempt) and fsync."""
        writer = self.open_chunk(key, offset)
        try:
            writer.write([data])
            writer.sync()
        except BaseException:
            writer.abort()
            raise
        writer.keep()

    def _keep_hash(self, key: str, end: int, prefix_hash) -> None:
        with self._lock:
            self._hashers[key] = (end, prefix_hash)

    def commit(self, key: str, sha256: str, size: int) -> None:
        """Check the finished upload against its name and move it into ``blobs/`` durably.
        BlobHashMismatch (upload discarded) if the content is not ``sha256`` of ``size`` bytes."""
        part = self._part(key)
        with self._lock:
            running = self._hashers.pop(key, None)
        if running is not None and running[0] == size:
            actual = running[1].hexdigest()
        else:
            with open(part, "rb") as fh:
                actual = _hash_fd(fh.fileno(), size).hexdigest()
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


def _hash_fd(fd: int, length: int):
    """SHA-256 object over the first ``length`` bytes of the open file ``fd`` (OSError if shorter)."""
    digest = hashlib.sha256()
    position = 0
    while position < length:
        block = os.pread(fd, min(READ_SIZE, length - position), position)
        if not block:
            raise OSError(errno.EIO, "upload file shorter than its acknowledged offset")
        digest.update(block)
        position += len(block)
    return digest


class PartWriter:
    """One chunk being written into an upload's ``.part`` file at ``offset`` (see ``open_chunk``).

    ``write`` puts received pieces after the previous ones and advances, on a *copy* of the upload's
    running hash, the SHA-256 of the blob from its first byte: ``prefix_sha256()`` is then the hash
    of the blob up to the end of what was written — what the client declares for the chunk (one hash
    pass per byte at HQ, and a chunk is bound to everything before it). Then exactly one of:
    ``sync()`` + ``keep()`` (chunk accepted: durable, and the copy becomes the running hash) or
    ``abort()`` (the file is cut back to ``offset``; the running hash is untouched). ``abort`` after
    ``keep`` does nothing, so it belongs in a ``finally``.

    Not thread-safe: one call at a time (the caller serialises; successive calls may come from
    different threads). Dangerous: bytes are in the file before they are checked — until the caller
    compared the hash and called ``sync``, only the bytes below ``offset`` are acknowledged.
    """

    def __init__(self, store: FileBlobStore, key: str, fd: int, offset: int, prefix_hash) -> None:
        self._store, self.key, self._fd, self.offset = store, key, fd, offset
        self._prefix_hash = prefix_hash
        self.written = 0

    @property
    def closed(self) -> bool:
        return self._fd < 0

    def write(self, parts: list) -> None:
        """Write ``parts`` (bytes-like, in order) after what was written so far. OSError from the disk
        (the caller then aborts).

        Works through the pieces in groups of about ``WRITE_GROUP`` bytes: hashes a group, then writes
        it while it is still in this core's cache (the pieces arrive from the event-loop thread; the
        copy into the page cache from cold memory costs more than the hash)."""
        if self.closed:
            raise ValueError("chunk writer is closed")
        views = [memoryview(p).cast("B") for p in parts if len(p)]
        position = self.offset + self.written
        start = 0
        while start < len(views):
            end, size = start, 0
            while end < len(views) and (end == start or size + len(views[end]) <= WRITE_GROUP) \
                    and end - start < MAX_IOVECS:  # pwritev takes at most IOV_MAX buffers
                size += len(views[end])
                end += 1
            group = views[start:end]
            for view in group:
                self._prefix_hash.update(view)
            self._write_all(group, size, position)
            position += size
            start = end
        self.written = position - self.offset

    def _write_all(self, group: list, size: int, position: int) -> None:
        done = os.pwritev(self._fd, group, position)
        if done < size:  # a short write (rare for regular files): finish the rest piece by piece
            rest = memoryview(b"".join(group))[done:]
            while len(rest):
                n = os.pwrite(self._fd, rest, position + done)
                if n <= 0:
                    raise OSError(errno.EIO, "short write")
                done += n
                rest = rest[n:]

    def prefix_sha256(self) -> str:
        """SHA-256 (hex) of the blob from its first byte to the end of what was written so far."""
        return self._prefix_hash.hexdigest()

    def sync(self) -> None:
        """fsync: the written bytes are durable when this returns."""
        os.fsync(self._fd)

    def keep(self) -> None:
        """Accept the chunk (after ``sync``): close; the upload's running hash now ends after it."""
        if self.closed:
            return
        self._close()
        self._store._keep_hash(self.key, self.offset + self.written, self._prefix_hash)

    def abort(self) -> None:
        """Cut the file back to ``offset`` and close; the running hash stays as it was. Does not raise
        for a disk error (the next attempt cuts the file to the acknowledged offset again)."""
        if self.closed:
            return
        try:
            os.ftruncate(self._fd, self.offset)
        except OSError:
            pass
        finally:
            self._close()

    def _close(self) -> None:
        fd, self._fd = self._fd, -1
        os.close(fd)
