"""HTTP to HQ over one persistent connection (stdlib ``http.client``): signed requests, TLS with a
pinned CA, a bandwidth limit, byte counters. No retries here (``engine`` decides); every failure is
either ``TransportError`` (the network: retry may help) or ``ProtocolError`` (HQ's coded answer).

TLS: ``https://`` verifies HQ's certificate against ``ca_file`` (a pinned HQ CA) or, without one, the
system's trust store; hostname checked. Plain ``http://`` is refused except to loopback addresses
(tests, or a TLS-terminating proxy on the same machine): evidence must not cross a network unencrypted.
"""

from __future__ import annotations

import hashlib
import http.client
import ipaddress
import json
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import Callable
from urllib.parse import urlsplit

from sync.protocol import PROTOCOL_VERSION, auth
from sync.protocol.errors import ProtocolError

SEND_PIECE = 256 << 10


class TransportError(Exception):
    """The request did not get an answer (refused, cut, reset, timed out, TLS failure). ``str()`` is
    Chinese. ``retry`` is False for problems a retry cannot fix (bad certificate, bad URL)."""

    def __init__(self, message: str, *, retry: bool = True) -> None:
        super().__init__(message)
        self.retry = retry


def check_url(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, base path) of an HQ URL; TransportError (no retry) if unusable or plain
    HTTP to a non-loopback host."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TransportError(f"局端地址 {url} 不正确，应形如 https://局端主机:端口", retry=False)
    host = parts.hostname
    if parts.scheme == "http" and not _is_loopback(host):
        raise TransportError("局端地址必须使用 https://（加密传输）。只有本机地址可以用 http://。", retry=False)
    return parts.scheme, host, parts.port or (443 if parts.scheme == "https" else 80), parts.path.rstrip("/")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class RateLimit:
    """Token bucket: at most ``bytes_per_second`` on average, bursts of one second."""

    def __init__(self, bytes_per_second: float) -> None:
        self.rate = float(bytes_per_second)
        self._tokens = self.rate
        self._last = time.monotonic()
        self._lock = threading.Lock()

    def take(self, n: int) -> None:
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.rate, self._tokens + (now - self._last) * self.rate)
            self._last = now
            self._tokens -= n
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if wait > 0:
            time.sleep(min(wait, 60.0))


@dataclass
class Counters:
    body_bytes_sent: int = 0       # request bodies handed to the socket (including cut attempts)
    chunk_bytes_sent: int = 0      # of which blob chunk bodies
    requests: int = 0
    per_request: list = field(default_factory=list)  # (method, path, status or error) of each request, for tests
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, n: int, chunk: bool) -> None:
        with self._lock:
            self.body_bytes_sent += n
            if chunk:
                self.chunk_bytes_sent += n


class Transport:
    """One HQ connection. ``signer(message) -> signature`` signs with the device key (the store's
    ``device_sign("request", …)``); unsigned requests (time, enrolment) pass ``signed=False``."""

    def __init__(self, url: str, *, device_id: str | None = None, signer: Callable[[bytes], bytes] | None = None,
                 ca_file: str | None = None, timeout: float = 30.0, rate_limit: float | None = None) -> None:
        self.scheme, self.host, self.port, self.base = check_url(url)
        self.device_id = device_id
        self.signer = signer
        self.timeout = timeout
        self.clock_offset_ms = 0
        self.limit = RateLimit(rate_limit) if rate_limit else None
        self.counters = Counters()
        self._conn: http.client.HTTPConnection | None = None
        if self.scheme == "https":
            try:
                self._ssl = ssl.create_default_context(cafile=ca_file) if ca_file else ssl.create_default_context()
            except (OSError, ssl.SSLError) as exc:
                raise TransportError(f"无法读取局端 CA 证书文件 {ca_file}（{exc}）。", retry=False) from exc

    def sibling(self) -> "Transport":
        """Another connection to the same HQ with the same identity, clock offset, rate limit (shared)
        and counters (shared), for parallel uploads."""
        twin = object.__new__(Transport)
        twin.__dict__.update(self.__dict__)
        twin._conn = None
        return twin

    # --- connection --------------------------------------------------------------------------------

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            if self.scheme == "https":
                self._conn = http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout, context=self._ssl)
            else:
                self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None

    # --- requests ----------------------------------------------------------------------------------

    def now_ms(self) -> int:
        """HQ's time as this laptop estimates it (used in request signatures)."""
        return time.time_ns() // 1_000_000 + self.clock_offset_ms

    def measure_clock(self) -> int:
        """Ask HQ for its time; set and return the offset (HQ − laptop, ms, midpoint of the round trip)."""
        t0 = time.time_ns()
        answer = self.request("GET", "/v1/time", signed=False)
        t1 = time.time_ns()
        self.clock_offset_ms = (int(answer["time_ns"]) - (t0 + t1) // 2) // 1_000_000
        return self.clock_offset_ms

    def request(self, method: str, path: str, body: bytes = b"", *, signed: bool = True,
                headers: dict[str, str] | None = None, body_sha256: str | None = None, chunk: bool = False) -> dict:
        """Send one request and return HQ's JSON answer; ProtocolError for a coded refusal,
        TransportError when no complete answer arrived (the connection is then closed)."""
        full_path = self.base + path
        head = {"Host": f"{self.host}:{self.port}", "Content-Length": str(len(body)), "Accept": "application/json",
                auth.H_PROTOCOL: str(PROTOCOL_VERSION), **(headers or {})}
        if body and not chunk:
            head["Content-Type"] = "application/json"
        elif chunk:
            head["Content-Type"] = "application/octet-stream"
        if signed:
            if self.signer is None or self.device_id is None:
                raise TransportError("本机尚未登记到局端，请先运行 field-app enroll。", retry=False)
            stamp, nonce = self.now_ms(), auth.new_nonce()
            digest = body_sha256 or hashlib.sha256(body).hexdigest()
            message = auth.signing_string(method, full_path, stamp, nonce, digest)
            head.update({auth.H_DEVICE: self.device_id, auth.H_TIME: str(stamp), auth.H_NONCE: nonce,
                         auth.H_SIGNATURE: self.signer(message).hex()})
        return self._send(method, full_path, head, body, chunk)

    def _send(self, method: str, path: str, head: dict[str, str], body: bytes, chunk: bool) -> dict:
        self.counters.requests += 1
        try:
            conn = self._connection()
            conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            for key, value in head.items():
                conn.putheader(key, value)
            conn.endheaders()
            view = memoryview(body)
            for start in range(0, len(body), SEND_PIECE):
                piece = view[start:start + SEND_PIECE]
                if self.limit:
                    self.limit.take(len(piece))
                conn.send(piece)
                self.counters.add(len(piece), chunk)
            response = conn.getresponse()
            raw = response.read()
            status = response.status
            if response.will_close:
                self.close()
        except ssl.SSLCertVerificationError as exc:
            self.close()
            raise TransportError(f"局端证书验证失败（{exc.verify_message}）：可能连到了假冒的局端，已停止同步。"
                                 "请核对局端地址和 CA 证书。", retry=False) from exc
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            self.counters.per_request.append((method, path, type(exc).__name__))
            raise TransportError(_network_message(exc)) from exc
        self.counters.per_request.append((method, path, status))
        try:
            answer = json.loads(raw)
        except ValueError:
            raise TransportError(f"局端的回答不是有效数据（HTTP {status}），请检查局端地址。") from None
        if status >= 400:
            error = ProtocolError.from_json(answer)
            if error is None:
                raise TransportError(f"局端返回错误（HTTP {status}）。")
            raise error
        return answer


def _network_message(exc: Exception) -> str:
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "连接局端超时（网络太慢或中断），稍后会从断点继续。"
    if isinstance(exc, ConnectionRefusedError):
        return "无法连接局端（对方拒绝连接：局端服务可能没有运行，或地址、端口不对）。"
    if isinstance(exc, socket.gaierror):
        return "找不到局端主机（域名无法解析），请检查局端地址和网络。"
    return f"与局端的连接中断（{exc.__class__.__name__}），稍后会从断点继续。"
