"""Errors of the evidence store. ``str(error)`` is always a plain Simplified Chinese sentence for the user
(what happened and what to do next); technical detail goes into ``error.detail`` for the log file.
"""

from __future__ import annotations


class StoreError(RuntimeError):
    """Base class of every error the store raises on purpose."""

    def __init__(self, message: str, *, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail


class StoreExists(StoreError):
    """``Store.create`` found a store (or an unfinished one) in the directory."""


class StoreNotFound(StoreError):
    """No store in the directory."""


class StoreCorrupt(StoreError):
    """The store's files cannot be read as a store (damaged, wrong format, foreign files)."""


class PlaintextDatabase(StoreCorrupt):
    """The database file is not encrypted: refused, never opened."""


class WrongPassword(StoreError):
    """The password does not unlock this officer's key, or the officer is not enrolled."""


class TooManyAttempts(StoreError):
    """Unlock refused without trying: too many wrong passwords recently."""

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class StoreLocked(StoreError):
    """The operation needs an unlocked store."""


class StoreBusy(StoreError):
    """Another process has the store open."""


class DeviceSecretMissing(StoreError):
    """The OS keyring does not hold this store's device secret (other computer, reinstalled system)."""


class DiskFull(StoreError):
    """No space left: the operation was not saved (nothing acknowledged was lost)."""


class InvalidInput(StoreError):
    """The caller passed something the store does not accept (empty case number, bad payload…)."""


class MediaError(StoreError):
    """Base of media vault errors."""


class MediaMissing(MediaError):
    """No vault file for this SHA-256."""


class MediaCorrupt(MediaError):
    """A vault file fails authentication (changed bits, truncated, not a vault file)."""

    def __init__(self, message: str, *, chunk: int | None = None, detail: str = "") -> None:
        super().__init__(message, detail=detail)
        self.chunk = chunk


class MediaReplaced(MediaError):
    """A vault file is valid but holds other content than the one asked for."""

    def __init__(self, message: str, *, actual_sha256: str) -> None:
        super().__init__(message)
        self.actual_sha256 = actual_sha256
