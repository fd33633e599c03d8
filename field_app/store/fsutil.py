"""Small file-system guarantees the store relies on: durable atomic replace and a process lock."""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path

from field_app.store.errors import DiskFull, StoreBusy, StoreError


def fsync_dir(path: Path) -> None:
    """Make a rename or create inside ``path`` durable (no-op where directories cannot be fsynced)."""
    if sys.platform == "win32":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data``: afterwards the file holds either the old or the new bytes, even
    across a crash or power loss (temp file in the same directory + fsync + rename + fsync dir)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise_os_error(exc, f"无法写入文件 {path.name}")
    fsync_dir(path.parent)


def raise_os_error(exc: OSError, what: str) -> None:
    """Re-raise an OSError as a StoreError with a Chinese message (DiskFull for ENOSPC/EFBIG)."""
    if exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
        raise DiskFull(f"{what}：磁盘空间不足。请清理磁盘或更换存储后重试，已保存的记录不受影响。",
                       detail=repr(exc)) from exc
    raise StoreError(f"{what}（{exc.strerror or exc}）。", detail=repr(exc)) from exc


class ProcessLock:
    """An exclusive OS lock on ``path`` held while a process has the store unlocked.

    The OS drops it when the process dies (even by SIGKILL), so a crash never leaves the store stuck.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            _lock(fd)
        except OSError as exc:
            os.close(fd)
            raise StoreBusy("证据库正被另一个程序使用（可能是另一个窗口或命令）。请先关闭它再试。",
                            detail=repr(exc)) from exc
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            _unlock(self._fd)
            os.close(self._fd)
            self._fd = None


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _lock(fd: int) -> None:
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
else:
    import fcntl

    def _lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
