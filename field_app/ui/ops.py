"""The ops runner: the one way screens run slow work (Argon2id unlock, encoder start/stop, printing,
verification) off the GUI thread. Modelled on Anki's CollectionOp: a screen hands over a plain
function plus what to do with its result or its error; both callbacks run on the GUI thread.

Guarantees:
- ``run`` never blocks the GUI thread; ``on_done``/``on_error`` are called on the GUI thread, exactly
  one of them, once, unless the runner was shut down.
- Errors are turned into plain Chinese (``user_message``) and the traceback goes to the log, never to
  the screen.
- ``busy`` counts running ops; ``changed`` is emitted after every successful op with its ``what``
  tag (e.g. "cases", "store") so other screens can refresh.

Dangerous: the function runs on a worker thread. It must not touch widgets, and must not call the
procedure engine (not thread-safe) — do engine calls on the GUI thread, they are fast appends.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

log = logging.getLogger(__name__)


def user_message(exc: BaseException) -> str:
    """A Chinese sentence for the officer. Errors of our packages already carry Chinese text
    (StoreError, Refused, RecordingError, PrintError); anything else becomes a generic sentence and
    its details stay in the log."""
    text = str(exc).strip()
    if text and any("\u4e00" <= ch <= "\u9fff" for ch in text):
        return text
    return "操作没有完成：程序内部出错，详细信息已写入日志。请重试；仍不成功请联系信息技术人员。"


class _Relay(QObject):
    """Lives on the GUI thread; worker threads emit into it (queued connection)."""

    finished = Signal(object, object, object)  # (op, result, exception)


class _Task(QRunnable):
    def __init__(self, op: "_Op", relay: _Relay) -> None:
        super().__init__()
        self.op = op
        self.relay = relay

    def run(self) -> None:  # worker thread
        try:
            result = self.op.fn()
        except BaseException as exc:  # noqa: BLE001 - delivered to the GUI thread, logged there
            self.relay.finished.emit(self.op, None, exc)
        else:
            self.relay.finished.emit(self.op, result, None)


class _Op:
    def __init__(self, fn, on_done, on_error, what, label) -> None:
        self.fn, self.on_done, self.on_error, self.what, self.label = fn, on_done, on_error, what, label


class OpRunner(QObject):
    """Runs functions on a small thread pool and reports back on the GUI thread."""

    changed = Signal(str)        # what changed, after a successful op
    busy_changed = Signal(int)   # number of ops running
    failed = Signal(str)         # Chinese message of an op without its own on_error

    def __init__(self, parent: QObject | None = None, max_threads: int = 2) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max_threads)
        self._relay = _Relay(self)
        self._relay.finished.connect(self._finished)
        self.busy = 0
        self._closed = False

    def run(self, fn: Callable[[], Any], *, on_done: Callable[[Any], None] | None = None,
            on_error: Callable[[str], None] | None = None, what: str = "",
            label: str = "") -> None:
        """Run ``fn()`` on a worker; then ``on_done(result)`` or ``on_error(chinese_message)`` on
        the GUI thread. Without ``on_error`` the message goes out through ``failed``."""
        if self._closed:
            return
        self.busy += 1
        self.busy_changed.emit(self.busy)
        self.pool.start(_Task(_Op(fn, on_done, on_error, what, label), self._relay))

    @Slot(object, object, object)
    def _finished(self, op: _Op, result: Any, exc: BaseException | None) -> None:
        self.busy -= 1
        self.busy_changed.emit(self.busy)
        if self._closed:
            return
        if exc is not None:
            message = user_message(exc)
            name = op.label or getattr(op.fn, "__name__", "?")
            if message == str(exc).strip():  # an expected refusal with its Chinese reason
                log.warning("op %s refused: %s", name, message)
            else:
                log.error("op %s failed", name, exc_info=(type(exc), exc, exc.__traceback__))
            (op.on_error or self.failed.emit)(message)
            return
        if op.on_done is not None:
            op.on_done(result)
        if op.what:
            self.changed.emit(op.what)

    def wait(self, msecs: int = 30000) -> bool:
        """Block until every queued op has run (for shutdown and tests). Results are still
        delivered through the event loop afterwards."""
        return self.pool.waitForDone(msecs)

    def shutdown(self) -> None:
        """Stop delivering results and wait for running work (called when the window closes)."""
        self.wait()
        self._closed = True
