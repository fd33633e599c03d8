"""A real HQ server (``field-hq serve``) in a child process on a random loopback port, a throwaway
PostgreSQL database, and a fault-injecting TCP proxy. Used by tests/sync and bench/sync.py.

Every wait is bounded in time; processes are ended by PID.
"""

from __future__ import annotations

import os
import secrets
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.harness.system import in_ci

FIELD_HQ = str(Path(sys.executable).parent / "field-hq")
PG_ADMIN_DSN = os.environ.get("FIELD_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


def field_hq(*args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run one ``field-hq`` admin command; returns the completed process (text)."""
    return subprocess.run([FIELD_HQ, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


@dataclass
class HQProcess:
    data_dir: Path
    db: str | None = None
    chunk_mib: int = 8
    extra: tuple[str, ...] = ()
    proc: subprocess.Popen | None = None
    url: str = ""
    port: int = 0
    log: list[str] = field(default_factory=list)

    def db_args(self) -> list[str]:
        return ["--db", self.db] if self.db else []

    def start(self, timeout: float = 30) -> "HQProcess":
        cmd = [FIELD_HQ, "serve", "--data-dir", str(self.data_dir), "--port", str(self.port),
               "--chunk-mib", str(self.chunk_mib), *self.db_args(), *self.extra]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + timeout
        line = ""
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if ready:
                line = self.proc.stdout.readline()
                break
            if self.proc.poll() is not None:
                break
        if "://" not in line:
            self.stop()
            raise RuntimeError(f"field-hq serve did not start: {line!r} {self.proc.stderr.read() if self.proc else ''}")
        self.url = line.split("：", 1)[1].split("（", 1)[0].strip()
        self.port = int(self.url.rsplit(":", 1)[1])
        return self

    def admin(self, *args: str) -> str:
        result = field_hq(*args, "--data-dir", str(self.data_dir), *self.db_args())
        if result.returncode != 0:
            raise RuntimeError(f"field-hq {' '.join(args)} failed: {result.stderr}")
        return result.stdout

    def kill(self) -> None:
        """SIGKILL (the crash case)."""
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.proc:
            for stream in (self.proc.stdout, self.proc.stderr):
                if stream:
                    stream.close()


def setup_hq(data_dir: Path, escrow_public: bytes, db: str | None = None, department: str = "长安区人社局劳动保障监察大队",
             officers: tuple = ()) -> None:
    """``init`` with the escrow key, a department, officers (name, cert_no)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    key_file = data_dir.parent / f"escrow-{secrets.token_hex(4)}.pub"
    key_file.write_text(escrow_public.hex())
    hq = HQProcess(data_dir, db)
    result = field_hq("init", "--data-dir", str(data_dir), "--escrow-public-key", str(key_file))
    if result.returncode != 0:
        raise RuntimeError(result.stderr)
    hq.admin("add-department", "--name", department)
    for name, cert in officers:
        hq.admin("add-user", "--name", name, "--cert-no", cert, "--department", department)


# --- PostgreSQL --------------------------------------------------------------------------------------

def postgres_available() -> str | None:
    """None if PostgreSQL answers at PG_ADMIN_DSN, else the reason."""
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_DSN, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not available"
        return f"PostgreSQL at {PG_ADMIN_DSN}: {exc}"


class ThrowawayDatabase:
    """``CREATE DATABASE fr_test_<random>`` on enter, ``DROP … WITH (FORCE)`` on exit."""

    def __init__(self) -> None:
        self.name = "fr_test_" + secrets.token_hex(6)
        base = PG_ADMIN_DSN.rsplit("/", 1)[0]
        self.dsn = f"{base}/{self.name}"

    def __enter__(self) -> str:
        import psycopg

        with psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')
        return self.dsn

    def __exit__(self, *exc) -> None:
        import psycopg

        with psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def require_postgres() -> None:
    import pytest

    reason = postgres_available()
    if reason:
        message = f"missing system dependency: {reason} (make test starts it; see docs/operations.md)"
        if in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


# --- fault proxy -------------------------------------------------------------------------------------

class FaultProxy:
    """A TCP proxy on 127.0.0.1 to ``target_port`` that can break the client→server stream once per
    ``arm``: after ``after`` more bytes it cuts (FIN both ways), resets (RST to the client) or stalls
    (stops forwarding until the client gives up). Counts every byte it forwards upstream."""

    def __init__(self, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.upstream_bytes = 0
        self.faults_fired: list[tuple[str, int]] = []
        self._budget: int | None = None
        self._mode = "cut"
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def arm(self, after: int, mode: str = "cut") -> None:
        assert mode in ("cut", "reset", "stall")
        with self._lock:
            self._budget, self._mode = after, mode

    def schedule(self, faults: list[tuple[int, str]]) -> None:
        """Fire each (gap, mode) in turn: the next is armed ``gap`` bytes after the previous fired."""
        self._queue = list(faults)
        gap, mode = self._queue.pop(0)
        self.arm(gap, mode)

    @property
    def armed(self) -> bool:
        return self._budget is not None

    def _accept(self) -> None:
        self.listener.settimeout(0.2)
        while not self._stop.is_set():
            try:
                client, _ = self.listener.accept()
            except (socket.timeout, OSError):
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            t = threading.Thread(target=self._pipe, args=(client, upstream), daemon=True)
            t.start()
            self._threads.append(t)

    def _pipe(self, client: socket.socket, upstream: socket.socket) -> None:
        sockets = [client, upstream]
        deadline = time.monotonic() + 600
        try:
            while not self._stop.is_set() and time.monotonic() < deadline:
                ready, _, _ = select.select(sockets, [], [], 0.2)
                for sock in ready:
                    try:
                        data = sock.recv(65536)
                    except OSError:
                        return
                    if not data:
                        return
                    if sock is client:
                        data, fault = self._take(data)
                        if data:
                            upstream.sendall(data)
                            with self._lock:
                                self.upstream_bytes += len(data)
                        if fault:
                            self._fire(fault, client, upstream)
                            return
                    else:
                        client.sendall(data)
        except OSError:
            return
        finally:
            for sock in sockets:
                try:
                    sock.close()
                except OSError:
                    pass

    def _take(self, data: bytes) -> tuple[bytes, str | None]:
        with self._lock:
            if self._budget is None:
                return data, None
            if len(data) < self._budget:
                self._budget -= len(data)
                return data, None
            head, mode = data[:self._budget], self._mode
            self._budget = None
            self.faults_fired.append((mode, self.upstream_bytes + len(head)))
            queue = getattr(self, "_queue", None)
            if queue:
                self._budget, self._mode = queue.pop(0)
            return head, mode

    def _fire(self, mode: str, client: socket.socket, upstream: socket.socket) -> None:
        if mode == "reset":
            import struct

            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif mode == "stall":
            # Hold the connection open, forwarding nothing, until the client gives up (bounded).
            end = time.monotonic() + 120
            while not self._stop.is_set() and time.monotonic() < end:
                ready, _, _ = select.select([client], [], [], 0.2)
                if ready:
                    try:
                        if not client.recv(65536):
                            break
                    except OSError:
                        break
        upstream.close()
        client.close()

    def close(self) -> None:
        self._stop.set()
        self.listener.close()
        self._thread.join(timeout=5)
        for t in self._threads:
            t.join(timeout=5)
