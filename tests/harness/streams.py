"""Deterministic pseudo-random byte streams: content depends only on (seed, position), so a test can
recompute any prefix's SHA-256 later (e.g. of a media file a killed process was writing)."""

from __future__ import annotations

import errno
import hashlib
import io
import random

BLOCK = 64 * 1024


def block(seed: int, index: int) -> bytes:
    """Block ``index`` of the content for ``seed``."""
    return random.Random(f"{seed}:{index}").randbytes(BLOCK)


def prefix_digest(seed: int, length: int) -> str:
    """Hex SHA-256 of the first ``length`` bytes of the content for ``seed``."""
    digest = hashlib.sha256()
    for index in range(length // BLOCK):
        digest.update(block(seed, index))
    digest.update(block(seed, length // BLOCK)[:length % BLOCK])
    return digest.hexdigest()


class GeneratedStream(io.RawIOBase):
    """``size`` bytes of the content for ``seed``, produced on the fly (never whole in memory).

    ``fail_after``: raise OSError(EIO) once that many bytes were delivered, like a camera pipe that dies.
    """

    def __init__(self, size: int, seed: int, fail_after: int | None = None) -> None:
        super().__init__()
        self.size, self.seed, self.pos, self.fail_after = size, seed, 0, fail_after
        self.digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.fail_after is not None and self.pos >= self.fail_after:
            raise OSError(errno.EIO, "Input/output error")
        index, offset = divmod(self.pos, BLOCK)
        n = min(len(buffer), self.size - self.pos, BLOCK - offset)
        if self.fail_after is not None:
            n = min(n, self.fail_after - self.pos)
        data = block(self.seed, index)[offset:offset + n]
        buffer[:n] = data
        self.digest.update(data)
        self.pos += n
        return n
