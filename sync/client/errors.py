"""Errors of the sync client. ``str()`` is a Chinese sentence: what happened and what to do."""

from __future__ import annotations

from sync.protocol.errors import ProtocolError


class SyncError(Exception):
    def __init__(self, message: str, *, code: int | None = None, retry: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.retry = retry

    @classmethod
    def wrap(cls, exc: Exception, doing: str) -> "SyncError":
        """A SyncError for ``exc`` raised while ``doing`` (Chinese verb phrase)."""
        from sync.client.transport import TransportError

        if isinstance(exc, SyncError):
            return exc
        if isinstance(exc, ProtocolError):
            return cls(f"{doing}失败：{exc}", code=exc.code, retry=exc.retry)
        if isinstance(exc, TransportError):
            return cls(f"{doing}失败：{exc}", retry=exc.retry)
        store_error = type(exc).__name__
        if store_error in ("StoreLocked",):
            return cls("证据库已锁定，同步已暂停。解锁后会从断点继续。", retry=True)
        if hasattr(exc, "detail"):  # a StoreError (field_app.store.errors), by duck typing
            return cls(f"{doing}失败：{exc}")
        raise exc


class SyncCancelled(SyncError):
    def __init__(self) -> None:
        super().__init__("同步已取消。已确认的部分不会丢失，下次从断点继续。", retry=True)
