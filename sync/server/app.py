"""The HQ HTTP API (FastAPI). Endpoints under ``/v1`` (docs/protocol.md); the OpenAPI schema is
published at ``/v1/openapi.json``. No interactive docs page: it would load scripts from the internet,
which government intranets do not have.

Every handler reads the raw body once (the signature covers its hash), authenticates, then runs the
blocking work (database, fsync) in the thread pool — except a media chunk, which is authenticated
against the prefix hash it declares (SHA-256 of the blob up to the chunk's end) and then streamed to disk as it arrives (``_put_chunk``). Any
refusal is a coded JSON error
(``sync.protocol.errors``); an unexpected exception is logged with its traceback and answered with
SERVER_ERROR — never a Python trace to the client.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from sync.protocol import PROTOCOL_VERSION, auth, messages as m
from sync.protocol.chain import SHA_RE
from sync.protocol.errors import Code, ProtocolError
from sync.server import __version__, admin
from sync.server.blobstore import FileBlobStore
from sync.server.db import Database, DatabaseError
from sync.server.identity import Identity
from sync.server.ingest import ChunkStream, Ingest, now_ns
from sync.server.web import mount_web

log = logging.getLogger("field-hq")
MAX_JSON_BODY = 32 << 20
BODY_IDLE_TIMEOUT = 30.0  # s without a byte of a chunk's body before HQ gives up on it (frees the upload)
HANDOFF_BYTES = 1 << 20   # received chunk bytes handed to the writing thread at a time


@dataclass
class HQ:
    """Everything a request handler needs."""

    db: Database
    blobs: FileBlobStore
    identity: Identity
    ingest: Ingest
    forms_root: Path
    raw_upload_dir: Path | None = None  # only for bench/sync.py (serve --enable-raw-upload)
    _purged_at: float = 0.0


def _error(exc: ProtocolError) -> JSONResponse:
    return JSONResponse(exc.to_json(), status_code=exc.status)


def _schema(model: type[BaseModel]) -> dict:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": model.model_json_schema()}}}}


def _parse(model: type[BaseModel], body: bytes):
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        errors = [{"loc": list(map(str, e["loc"])), "msg": e["msg"]} for e in exc.errors()[:10]]
        if any(e["loc"] == ["v"] for e in errors):
            raise ProtocolError(Code.UNSUPPORTED_VERSION, detail={"supported": [PROTOCOL_VERSION]}) from None
        raise ProtocolError(Code.MALFORMED_REQUEST, detail={"errors": errors}) from None


def _content_length(request: Request, limit: int) -> int | None:
    """The declared body length (None without one); BODY_TOO_LARGE if it is over ``limit`` or garbled."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise ProtocolError(Code.BODY_TOO_LARGE, detail={"max": limit})
    return None if declared is None else int(declared)


async def _read_body(request: Request, limit: int) -> bytes:
    _content_length(request, limit)
    body, size = bytearray(), 0
    try:
        async for part in request.stream():
            size += len(part)
            if size > limit:
                raise ProtocolError(Code.BODY_TOO_LARGE, detail={"max": limit})
            body += part
    except ClientDisconnect:
        raise ProtocolError(Code.MALFORMED_REQUEST, detail={"why": "client disconnected"}) from None
    return bytes(body)


def _authenticate(hq: HQ, method: str, path: str, headers, body_sha: str) -> str:
    """The device id of a correctly signed, fresh, first-seen request; ProtocolError otherwise.
    Blocking (database): call in the thread pool."""
    device, stamp, nonce, signature = (headers.get(h) for h in (auth.H_DEVICE, auth.H_TIME, auth.H_NONCE,
                                                                 auth.H_SIGNATURE))
    if not (device and stamp and nonce and signature):
        raise ProtocolError(Code.AUTH_MISSING)
    if not stamp.isdigit() or not auth.NONCE_RE.match(nonce) or len(device) > 64:
        raise ProtocolError(Code.MALFORMED_REQUEST, detail={"why": "auth headers"})
    now_ms = now_ns() // 1_000_000
    if abs(int(stamp) - now_ms) > auth.MAX_SKEW_MS:
        raise ProtocolError(Code.AUTH_CLOCK_SKEW, detail={"server_time_ms": now_ms})
    with hq.db.transaction() as tx:
        row = tx.one("SELECT public_key, active FROM devices WHERE device_id = ?", (device,))
        if row is None:
            raise ProtocolError(Code.AUTH_UNKNOWN_DEVICE)
        if not auth.signature_valid(bytes.fromhex(row[0]), method, path, int(stamp), nonce, body_sha, signature):
            raise ProtocolError(Code.AUTH_BAD_SIGNATURE)
        if not row[1]:
            raise ProtocolError(Code.DEVICE_DISABLED)
        expires = now_ns() + 3 * auth.MAX_SKEW_MS * 1_000_000
        if tx.execute("INSERT INTO nonces (device_id, nonce, expires_ns) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                      (device, nonce, expires)) != 1:
            raise ProtocolError(Code.AUTH_REPLAYED)
    if time.monotonic() - hq._purged_at > 60:
        hq._purged_at = time.monotonic()
        with hq.db.transaction() as tx:
            tx.execute("DELETE FROM nonces WHERE expires_ns < ?", (now_ns(),))
    return device


def _signed_path(request: Request) -> str:
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


async def _authed(hq: HQ, request: Request, limit: int = MAX_JSON_BODY) -> tuple[str, bytes, str]:
    body = await _read_body(request, limit)
    path = _signed_path(request)

    def work() -> tuple[str, str]:  # hashing a multi-MiB body and the database stay off the event loop
        body_sha = hashlib.sha256(body).hexdigest()
        return _authenticate(hq, request.method, path, request.headers, body_sha), body_sha

    device, body_sha = await run_in_threadpool(work)
    return device, body, body_sha


async def _put_chunk(hq: HQ, request: Request, sha256: str, index: int) -> dict:
    """``PUT /v1/blobs/{sha256}/chunks/{index}``, streamed to disk. Order: Content-Length within the
    chunk size (413) → signature checked against the declared ``X-FR-Prefix-SHA256`` and the nonce
    consumed, before a byte of the body is read (a signature over anything else: 2002, see
    ``_refuse_badly_signed_chunk``) → blob id and size headers → upload state under the upload's
    lock (``Ingest.begin_chunk``) → body written at the acknowledged offset as it arrives
    (``_stream_chunk``) → hash, fsync, record, answer. Nothing reaches the disk for a request that is
    not authenticated or not the next chunk; the blocking steps run in the thread pool."""
    limit = hq.ingest.chunk_size
    length = _content_length(request, limit)
    declared = request.headers.get(m.H_PREFIX_SHA256, "")
    path = _signed_path(request)

    begun: list = []  # what start() returned, even if this task is cancelled while it ran

    def start() -> ChunkStream | dict | None:
        try:
            device = _authenticate(hq, request.method, path, request.headers, declared)
        except ProtocolError as exc:
            if exc.code == Code.AUTH_BAD_SIGNATURE:
                return None
            raise
        _check_sha(sha256)
        size = request.headers.get(m.H_BLOB_SIZE, "")
        if not size.isdigit():
            raise ProtocolError(Code.MALFORMED_REQUEST, detail={"why": f"{m.H_BLOB_SIZE} header"})
        begun.append(hq.ingest.begin_chunk(device, sha256, index, int(size), declared, length))
        return begun[0]

    try:
        started = await run_in_threadpool(start)
    except BaseException:
        if begun and isinstance(begun[0], ChunkStream):
            begun[0].abort()  # never leave the upload locked
        raise
    if started is None:
        await _refuse_badly_signed_chunk(hq, request)
    if isinstance(started, dict):
        return started
    return await _stream_chunk(started, request)


async def _refuse_badly_signed_chunk(hq: HQ, request: Request) -> None:
    """The signature does not cover the declared prefix hash: AUTH_BAD_SIGNATURE (always raises). The
    body is read first (into memory only, at most one chunk, like every other endpoint's body) so the
    client gets the coded answer rather than a connection reset mid-send; nothing is written."""
    await _read_body(request, hq.ingest.chunk_size)
    raise ProtocolError(Code.AUTH_BAD_SIGNATURE)


async def _stream_chunk(stream: ChunkStream, request: Request) -> dict:
    """Feed the request body into ``stream`` as it arrives, then finish it (hash check, fsync, record).
    One worker thread (``ChunkStream.drain``) writes and hashes what has arrived, handed over about
    ``HANDOFF_BYTES`` at a time, while the event loop only moves bytes; then it finishes the chunk.
    A client that disconnects, sends nothing for ``BODY_IDLE_TIMEOUT`` s or sends more than the
    chunk, and any error, stop the stream: the file is cut back to the acknowledged offset and the
    upload's lock released before the answer."""
    loop = asyncio.get_running_loop()
    writer = asyncio.ensure_future(run_in_threadpool(stream.drain))
    writer.add_done_callback(lambda f: f.cancelled() or f.exception())  # raised below when it matters
    received, parts, held = 0, [], 0
    try:
        try:
            async with asyncio.timeout(BODY_IDLE_TIMEOUT) as idle:
                more = True
                while more and not writer.done():  # done early only if writing failed
                    message = await request.receive()
                    if message["type"] == "http.disconnect":
                        raise ClientDisconnect()
                    body, more = message.get("body", b""), message.get("more_body", False)
                    if body:
                        received += len(body)
                        if received > stream.length:
                            raise ProtocolError(Code.CHUNK_SIZE_WRONG, detail={"expected": stream.length})
                        parts.append(body)
                        held += len(body)
                        if held >= HANDOFF_BYTES:  # fewer, larger hand-offs: less thread switching
                            stream.put(parts)
                            parts, held = [], 0
                        idle.reschedule(loop.time() + BODY_IDLE_TIMEOUT)
        except TimeoutError:
            raise ProtocolError(Code.SERVER_BUSY, detail={"why": "request body stalled"}) from None
        except ClientDisconnect:
            raise ProtocolError(Code.MALFORMED_REQUEST, detail={"why": "client disconnected"}) from None
        if not writer.done():
            stream.put(parts)
            stream.end()
        return await writer
    finally:
        if not writer.done():
            stream.stop()
            await asyncio.wait([writer])  # it aborts: file cut back, lock released
        if not stream.ended:  # e.g. cancelled before the writing thread started
            stream.abort()


class _ProtocolVersion:
    """Refuses a request that names another protocol version in ``X-FR-Protocol`` (error 1002). Pure
    ASGI on purpose: a ``BaseHTTPMiddleware`` would wrap every body part of a media upload in a task."""

    HEADER = auth.H_PROTOCOL.lower().encode("latin-1")

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            wanted = next((v for k, v in scope["headers"] if k == self.HEADER), None)
            if wanted is not None and wanted != str(PROTOCOL_VERSION).encode():
                refusal = _error(ProtocolError(Code.UNSUPPORTED_VERSION, detail={"supported": [PROTOCOL_VERSION]}))
                await refusal(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_app(hq: HQ) -> FastAPI:
    app = FastAPI(title="执法全过程记录 局端同步接口 (field-hq)", version=__version__, openapi_url="/v1/openapi.json",
                  docs_url=None, redoc_url=None,
                  description="Sync protocol v1 between field laptops and HQ. See docs/protocol.md.")
    app.state.hq = hq
    errors = {"model": m.ErrorAnswer}

    @app.exception_handler(ProtocolError)
    async def _protocol_error(_request: Request, exc: ProtocolError):
        return _error(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError):
        return _error(ProtocolError(Code.MALFORMED_REQUEST, detail={"errors": str(exc)[:500]}))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException):
        code = {404: Code.NOT_FOUND, 405: Code.METHOD_NOT_ALLOWED}.get(exc.status_code, Code.MALFORMED_REQUEST)
        return _error(ProtocolError(code))

    @app.exception_handler(DatabaseError)
    async def _db_error(_request: Request, exc: DatabaseError):
        log.error("database: %s", exc)
        return _error(ProtocolError(Code.SERVER_BUSY))

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception):
        log.exception("unexpected error")
        return _error(ProtocolError(Code.SERVER_ERROR))

    app.add_middleware(_ProtocolVersion)

    @app.get("/v1/time", response_model=m.TimeAnswer, summary="HQ clock (unauthenticated)")
    def get_time():
        return {"v": 1, "time_ns": now_ns(), "protocol": PROTOCOL_VERSION, "hq_id": hq.identity.hq_id}

    @app.post("/v1/enrol", summary="Register a device with a one-time code", openapi_extra=_schema(m.EnrolRequest),
              responses={200: {"model": m.EnrolAnswer}, 400: errors, 403: errors, 409: errors})
    async def enrol(request: Request):
        body = await _read_body(request, 1 << 20)
        try:
            raw = json.loads(body)
        except ValueError:
            raise ProtocolError(Code.MALFORMED_REQUEST, detail={"why": "not JSON"}) from None
        _parse(m.EnrolRequest, body)
        return await run_in_threadpool(admin.enrol, hq.db, hq.identity, raw)

    @app.get("/v1/device", summary="What HQ holds for this device", responses={200: {"model": m.DeviceState}, 401: errors})
    async def device_state(request: Request):
        device, _, _ = await _authed(hq, request)
        return await run_in_threadpool(hq.ingest.state, device)

    @app.post("/v1/entries", summary="Push log entries (in sequence order)", openapi_extra=_schema(m.PushRequest),
              responses={200: {"model": m.PushAnswer}, 400: errors, 409: errors, 422: errors})
    async def push(request: Request):
        device, body, _ = await _authed(hq, request)
        parsed = _parse(m.PushRequest, body)
        result = await run_in_threadpool(hq.ingest.push, device, parsed.entries)
        return {"v": 1, "accepted": result.accepted, "duplicates": result.duplicates, "head_size": result.head_size,
                "head_hash": result.head_hash, "missing_blobs": result.missing, "missing_total": result.missing_total}

    @app.get("/v1/blobs/{sha256}", summary="Upload state of one blob", responses={200: {"model": m.BlobState}})
    async def blob_state(sha256: str, request: Request):
        device, _, _ = await _authed(hq, request)
        _check_sha(sha256)
        return await run_in_threadpool(hq.ingest.blob_state, device, sha256)

    @app.put("/v1/blobs/{sha256}/chunks/{index}", summary="Upload one chunk (application/octet-stream)",
             responses={200: {"model": m.ChunkAnswer}, 409: errors, 422: errors})
    async def put_chunk(sha256: str, index: int, request: Request):
        return await _put_chunk(hq, request, sha256, index)

    @app.post("/v1/receipt", summary="Signed receipt over what HQ fully holds", openapi_extra=_schema(m.ReceiptRequest),
              responses={200: {"model": m.ReceiptAnswer}})
    async def receipt(request: Request):
        device, body, _ = await _authed(hq, request)
        parsed = _parse(m.ReceiptRequest, body)
        return await run_in_threadpool(hq.ingest.receipt, device, parsed.clock_offset_ms)

    def _department(device: str) -> str:
        with hq.db.transaction() as tx:
            return tx.one("SELECT department FROM devices WHERE device_id = ?", (device,))[0]

    @app.get("/v1/roster", summary="Officers and departments", responses={200: {"model": m.RosterAnswer}})
    async def get_roster(request: Request):
        device, _, _ = await _authed(hq, request)

        def work():
            department = _department(device)
            with hq.db.transaction() as tx:
                return admin.roster(tx, department)
        return await run_in_threadpool(work)

    @app.get("/v1/assignments", summary="Case assignments for the device's department",
             responses={200: {"model": m.AssignmentsAnswer}})
    async def get_assignments(request: Request):
        device, _, _ = await _authed(hq, request)

        def work():
            department = _department(device)
            with hq.db.transaction() as tx:
                return {"v": 1, "assignments": admin.assignments(tx, department)}
        return await run_in_threadpool(work)

    @app.post("/v1/definitions", summary="Form and procedure definitions the device lacks",
              openapi_extra=_schema(m.DefinitionsRequest), responses={200: {"model": m.DefinitionsAnswer}})
    async def get_definitions(request: Request):
        _, body, _ = await _authed(hq, request)
        parsed = _parse(m.DefinitionsRequest, body)
        return await run_in_threadpool(admin.definitions, hq.forms_root, parsed.have)

    if hq.raw_upload_dir is not None:
        @app.put("/v1/bench/raw-upload", include_in_schema=False)
        async def raw_upload(request: Request):
            """Benchmark baseline only: stream the body to a file, fsync, delete. No auth, no checks."""
            fd, name = tempfile.mkstemp(dir=hq.raw_upload_dir)
            size = 0
            try:
                async for part in request.stream():
                    size += len(part)
                    os.write(fd, part)
                os.fsync(fd)
            finally:
                os.close(fd)
                os.unlink(name)
            return {"v": 1, "size": size}

    mount_web(app, hq)  # the HQ web platform (issue 9) on the same app; /v1 keeps its own errors
    return app


def _check_sha(sha256: str) -> None:
    if not SHA_RE.match(sha256):
        raise ProtocolError(Code.MALFORMED_REQUEST, detail={"why": "blob id must be a SHA-256 (64 hex)"})
