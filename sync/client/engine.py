"""One sync: clock → pull → push entries → upload missing media → receipt → prune → record.

Guarantees:
- Nothing is sent twice that HQ acknowledged: entries start at HQ's head; each blob resumes at HQ's
  acknowledged offset, so an interruption re-sends at most the chunk in flight.
- Every step is retried with exponential backoff (``max_attempts``) on network failures and on
  refusals HQ marks ``retry``; other coded refusals stop the sync with HQ's Chinese message.
- A receipt is recorded only after it verifies: signed by the HQ key pinned at enrolment, for this
  device, and its root equals this store's own root at that size.
- A sync with nothing new appends nothing to the log (see ``_record_receipt``), so syncing twice
  sends nothing the second time.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Callable

from sync.client import prune as pruning
from sync.client.config import LAST_RESULT_NAME, SyncConfig, write_json_atomic
from sync.client.enrol import current_enrolment
from sync.client.errors import SyncCancelled, SyncError
from sync.client.progress import Meter, ProgressEvent, SyncResult
from sync.client.pull import pull
from sync.client.storeapi import SyncStore
from sync.client.transport import Transport, TransportError
from sync.protocol.errors import Code, ProtocolError
from sync.protocol.messages import H_BLOB_SIZE, H_PREFIX_SHA256
from sync.protocol.receipt import Receipt

RECEIPT_RECORD = "sync.receipts"
BOOKKEEPING = frozenset({"sync.receipt", "store.media_pruned"})  # written by sync itself
MAX_BATCH_BYTES = 8 << 20


class LocalMediaError(SyncError):
    """A media file HQ lacks cannot be read here (pruned, missing, corrupt): reported, others go on."""


class SyncSession:
    """One run against HQ. Not reusable; ``run()`` once. ``cancel`` (an Event) stops it at the next
    chunk or batch boundary. ``transport`` may be given (tests count bytes on it)."""

    def __init__(self, store: SyncStore, data_dir: Path, config: SyncConfig | None = None, *,
                 on_progress: Callable[[ProgressEvent], None] | None = None, cancel: threading.Event | None = None,
                 transport: Transport | None = None, prune: bool = True) -> None:
        self.store = store
        self.data_dir = Path(data_dir)
        self.config = config or SyncConfig.load(self.data_dir)
        self.cancel = cancel or threading.Event()
        self.meter = Meter(on_progress)
        self.transport = transport
        self.allow_prune = prune
        self.result = SyncResult(False, "")
        self._lock = threading.Lock()
        self._transport_busy = False

    # --- the run -----------------------------------------------------------------------------------

    def run(self) -> SyncResult:
        """Sync once; never raises for expected failures (they are in the result). The result is also
        written to ``sync-last.json`` for the status bar."""
        r = self.result
        r.started = time.time()
        try:
            self._run()
        except SyncError as exc:
            r.ok, r.message, r.error_code = False, str(exc), exc.code
        finally:
            if self.transport is not None:
                self.transport.close()
            r.finished = time.time()
            try:
                write_json_atomic(self.data_dir / LAST_RESULT_NAME, r.to_json())
            except OSError:
                pass  # the status bar shows the result in memory anyway
        return r

    def _run(self) -> None:
        enrolment = current_enrolment(self.store)
        if enrolment is None:
            raise SyncError("本机尚未登记到局端。请先运行 field-app enroll --hq 局端地址 --code 登记码。")
        url = self.config.hq_url or enrolment.hq_url
        if self.transport is None:
            try:
                self.transport = Transport(url, device_id=self.store.store_id,
                                           signer=lambda m: self.store.device_sign("request", m),
                                           ca_file=self.config.ca_file, timeout=self.config.timeout_seconds,
                                           rate_limit=self.config.rate_limit)
            except TransportError as exc:
                raise SyncError(str(exc)) from exc
        self.meter.emit("connect")
        self.result.clock_offset_ms = self._retry("连接局端", self.transport.measure_clock)
        self.meter.emit("pull")
        self._retry("获取名册、表单和案件", lambda: pull(self.store, self.transport, self.data_dir))
        self._push_entries()
        self._upload_blobs()
        receipt = self._receipt()
        if receipt is not None and self.allow_prune:
            self.meter.emit("prune")
            self.result.pruned = self._guard("清理", lambda: pruning.prune(self.store, receipt, self.config))
        if receipt is not None and self._record_receipt(receipt):
            self._push_entries(report=False)       # the receipt (and prune) entries themselves
            receipt = self._receipt() or receipt   # covers them; not recorded again (no ping-pong)
        self._finish(receipt)

    # --- steps -------------------------------------------------------------------------------------

    def _push_entries(self, report: bool = True) -> None:
        state = self._retry("查询局端状态", lambda: self.transport.request("GET", "/v1/device"))
        head, target = state["head_size"], self.store.size
        if head > target:
            raise SyncError(f"局端已有本机的 {head} 条记录，本机却只有 {target} 条：本机证据库可能被换成了旧副本。"
                            "同步已停止，请立即联系局端管理员。", code=int(Code.HISTORY_DIVERGED))
        if head and self.store.entry(head).entry_hash.hex() != state["head_hash"]:
            raise SyncError("本机第 %d 条记录与局端收到的不一致：本机历史被改写过。同步已停止，请立即联系局端管理员。" % head,
                            code=int(Code.HISTORY_DIVERGED))
        start = head
        if report and head < target:
            self.meter.emit("entries", 0, target - start)  # the phase always shows, however fast it is
        for _ in range(target + 10):  # bounded: every round advances head or fails
            if head >= target:
                break
            self._check_cancel()
            batch, size = [], 0
            for entry in self.store.entries_after(head, min(self.config.batch_entries, target - head)):
                item = entry.to_json()
                size += len(item["payload"]) + 600
                if batch and size > MAX_BATCH_BYTES:
                    break
                batch.append(item)
            body = json.dumps({"v": 1, "entries": batch}, ensure_ascii=False).encode("utf-8")
            try:
                answer = self._retry("发送记录", lambda: self.transport.request("POST", "/v1/entries", body),
                                     passthrough=(Code.ENTRY_GAP,))
            except ProtocolError as gap:
                head = int(gap.detail.get("head", head))
                continue
            head = answer["head_size"]
            self.result.entries_sent += answer["accepted"]
            if report:
                self.meter.emit("entries", head - start, target - start, force=False)
        self.result.log_size = self.store.size

    def _upload_blobs(self) -> None:
        seen: set[str] = set()
        for _ in range(1000):  # bounded: each round uploads at least one new blob or stops
            state = self._retry("查询局端缺少的音像资料", lambda: self.transport.request("GET", "/v1/device"))
            todo = [sha for sha in state["missing_blobs"] if sha not in seen]
            if not todo:
                return
            sizes = {}
            for sha in todo:
                seen.add(sha)
                info = self.store.media_info(sha)
                if info is None:
                    self.result.problems.append(f"局端缺少的媒体文件 {sha[:12]}… 在本机证据库中不存在。")
                else:
                    sizes[sha] = info.size
            self.meter.bytes_total += sum(sizes.values())
            done = [0]

            def upload(item: tuple[str, int]) -> None:
                sha, size = item
                transport = self._worker_transport()
                try:
                    self._upload_one(sha, size, transport)
                    with self._lock:
                        self.result.blobs_uploaded += 1
                        done[0] += 1
                except LocalMediaError as exc:
                    with self._lock:
                        self.result.problems.append(str(exc))  # the others still go up; no receipt covers it
                finally:
                    if transport is not self.transport:
                        transport.close()
                self.meter.emit("blobs", done[0], len(sizes), force=False)

            workers = max(1, min(self.config.parallel_uploads, len(sizes)))
            if workers == 1:
                for item in sizes.items():
                    upload(item)
            else:
                with ThreadPoolExecutor(workers, thread_name_prefix="sync-up") as pool:
                    futures = [pool.submit(upload, item) for item in sizes.items()]
                    try:
                        for future in futures:
                            future.result()
                    except BaseException:
                        self.cancel.set()  # stop the other workers at their next chunk, then re-raise
                        raise
            self.meter.emit("blobs", len(sizes), len(sizes))

    def _worker_transport(self) -> Transport:
        """The session's transport for the first worker; a sibling connection (same counters, clock
        offset, limits) for each other one."""
        with self._lock:
            if not self._transport_busy:
                self._transport_busy = True
                return self.transport
        return self.transport.sibling()

    def _upload_one(self, sha: str, size: int, transport: Transport | None = None) -> None:
        transport = transport or self.transport
        path = f"/v1/blobs/{sha}"
        state = self._retry("查询上传进度", lambda: transport.request("GET", path))
        if state["state"] == "complete":
            self.meter.uploaded(size)
            return
        offset, chunk = state["offset"], state["chunk_size"]
        self.meter.uploaded(offset)
        counted = offset  # bytes of this blob counted in the meter
        reader = _ChunkReader(self.store, sha, size, chunk)
        failures, delay = 0, self.config.backoff_seconds
        try:
            while True:
                self._check_cancel()
                data, digest = reader.get(offset)
                try:
                    answer = transport.request(
                        "PUT", f"{path}/chunks/{offset // chunk}", data, body_sha256=digest, chunk=True,
                        headers={H_PREFIX_SHA256: digest, H_BLOB_SIZE: str(size)})
                except (TransportError, ProtocolError) as exc:
                    failures += 1
                    if not exc.retry or failures >= self.config.max_attempts:
                        raise SyncError.wrap(exc, "上传音像资料") from exc
                    self._sleep(delay)
                    delay = min(delay * 2, self.config.backoff_max_seconds)
                    answer = self._retry("查询上传进度", lambda: transport.request("GET", path))
                    answer["complete"] = answer["state"] == "complete"
                else:
                    failures, delay = 0, self.config.backoff_seconds
                    with self._lock:
                        self.result.bytes_uploaded += len(data)
                offset = answer["offset"]
                self.meter.uploaded(offset - counted)
                counted = offset
                self.meter.emit("blobs", force=False)
                if answer["complete"]:
                    return
        finally:
            reader.close()

    def _receipt(self) -> Receipt | None:
        self.meter.emit("receipt")
        body = json.dumps({"v": 1, "clock_offset_ms": self.result.clock_offset_ms}).encode()
        answer = self._retry("获取局端回执", lambda: self.transport.request("POST", "/v1/receipt", body))
        if answer.get("receipt") is None:
            return None
        try:
            receipt = Receipt.from_json(answer["receipt"])
        except ValueError as exc:
            raise SyncError("局端回执格式不正确，没有保存。") from exc
        enrolment = current_enrolment(self.store)
        if not receipt.verify(hq_key=enrolment.hq_key, device_id=self.store.store_id,
                              device_key=self.store.device_public_key):
            raise SyncError("局端回执的签名无效（不是登记时的局端密钥签的），没有保存，也不会清理任何资料。")
        if receipt.size > self.store.size or self.store.root_at(receipt.size) != receipt.root:
            raise SyncError("局端回执与本机记录不一致，没有保存，也不会清理任何资料。请联系局端管理员。",
                            code=int(Code.HISTORY_DIVERGED))
        self.result.receipt_size = receipt.size
        return receipt

    def _record_receipt(self, receipt: Receipt) -> bool:
        """Append a ``sync.receipt`` entry when the receipt covers evidence not covered by the last
        recorded one (anything other than earlier receipt entries). True if it appended."""
        versions = self.store.record_versions(RECEIPT_RECORD)
        last_size = versions[-1].payload["receipt"]["size"] if versions else 0
        if receipt.size <= last_size:
            return False
        news = any(e.entry_type not in BOOKKEEPING for e in self.store.entries_after(last_size, receipt.size - last_size))
        if not news and not self.result.pruned:
            return False
        self.store.append("sync.receipt", {"receipt": receipt.to_json(), "clock_offset_ms": self.result.clock_offset_ms,
                                           "hq_url": self.transport.scheme + "://" + self.transport.host,
                                           "pruned": self.result.pruned},
                          record_id=RECEIPT_RECORD, supersedes=versions[-1].seq if versions else None)
        return True

    def _finish(self, receipt: Receipt | None) -> None:
        r = self.result
        r.log_size = self.store.size
        r.receipt_size = receipt.size if receipt else 0
        r.ok = not r.problems and r.receipt_size == r.log_size
        mb = r.bytes_uploaded / (1 << 20)
        sent = f"发送 {r.entries_sent} 条记录、{r.blobs_uploaded} 个音像文件（{mb:.1f} MB）"
        if r.ok:
            r.message = f"同步完成：{sent}；局端回执覆盖全部 {r.log_size} 条记录。" + (
                f"已清理 {r.pruned} 个已同步的音像文件。" if r.pruned else "")
        else:
            r.message = (f"同步未全部完成：{sent}；局端回执覆盖 {r.receipt_size}/{r.log_size} 条记录。"
                         + ("；".join(r.problems[:3])))
        self.meter.emit("done")

    # --- plumbing ----------------------------------------------------------------------------------

    def _check_cancel(self) -> None:
        if self.cancel.is_set():
            raise SyncCancelled()

    def _sleep(self, seconds: float) -> None:
        if self.cancel.wait(seconds):
            raise SyncCancelled()

    def _guard(self, doing: str, fn):
        try:
            return fn()
        except Exception as exc:  # store errors (disk, locked) become a SyncError; bugs propagate
            raise SyncError.wrap(exc, doing) from exc

    def _retry(self, doing: str, fn, passthrough: tuple[Code, ...] = ()):
        """Call ``fn`` until it succeeds, retrying network failures and retryable refusals with
        exponential backoff, at most ``max_attempts`` times. ProtocolErrors with a code in
        ``passthrough`` are raised as they are (the caller handles them)."""
        delay = self.config.backoff_seconds
        for attempt in range(1, self.config.max_attempts + 1):
            self._check_cancel()
            try:
                return fn()
            except ProtocolError as exc:
                if exc.code in passthrough:
                    raise
                if not exc.retry or attempt == self.config.max_attempts:
                    raise SyncError.wrap(exc, doing) from exc
            except TransportError as exc:
                if not exc.retry or attempt == self.config.max_attempts:
                    raise SyncError.wrap(exc, doing) from exc
            except Exception as exc:
                raise SyncError.wrap(exc, doing) from exc
            self._sleep(delay)
            delay = min(delay * 2, self.config.backoff_max_seconds)
        raise AssertionError("unreachable")


PREFIX_READ = 8 << 20  # bytes read at a time when re-hashing an upload's first part


class _ChunkReader:
    """Reads the chunk at an offset from the store with its prefix hash — the SHA-256 of the blob from
    its first byte to the chunk's end, which HQ checks as it writes — prefetching the next one on a
    helper thread while the current one is on the wire. The file handle and the running hashes are
    used only by the helper thread.

    Resuming at an offset this reader has not passed (an upload begun in an earlier session) first
    hashes the blob's bytes below it: local work, nothing is sent again."""

    KEPT_STATES = 4  # running hashes kept at the last chunk ends (a retry resumes at one of them)

    def __init__(self, store: SyncStore, sha: str, size: int, chunk: int) -> None:
        self.size, self.chunk = size, chunk
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="sync-read")
        self._fh = None
        self._store, self._sha = store, sha
        self._pending: dict[int, Future] = {}
        self._states: dict[int, "hashlib._Hash"] = {}  # offset → SHA-256 state over bytes [0, offset)

    def _incomplete(self) -> LocalMediaError:
        return LocalMediaError(f"本机媒体文件 {self._sha[:12]}… 读取不完整，没有上传。请运行 field-app verify 检查。")

    def _prefix_state(self, offset: int):
        state = self._states.get(offset)
        if state is not None:
            return state.copy()
        digest = hashlib.sha256()
        self._fh.seek(0)
        left = offset
        while left:
            block = self._fh.read(min(PREFIX_READ, left))
            if not block:
                raise self._incomplete()
            digest.update(block)
            left -= len(block)
        return digest

    def _read(self, offset: int) -> tuple[bytes, str]:
        if self._fh is None:
            # the prefix hashes cover every byte and HQ checks the blob against its name: no extra
            # whole-file pass in the vault
            self._fh = self._store.open_media(self._sha, whole_file_check=False)
        digest = self._prefix_state(offset)
        self._fh.seek(offset)
        want = min(self.chunk, self.size - offset)
        data = self._fh.read(want)
        if len(data) != want:
            raise self._incomplete()
        digest.update(data)
        self._states[offset + want] = digest.copy()
        for stale in sorted(self._states)[:-self.KEPT_STATES]:
            del self._states[stale]
        return data, digest.hexdigest()

    def get(self, offset: int) -> tuple[bytes, str]:
        future = self._pending.pop(offset, None) or self._pool.submit(self._read, offset)
        for stale in self._pending.values():
            stale.cancel()
        self._pending.clear()
        try:
            data, digest = future.result()
        except SyncError:
            raise
        except Exception as exc:
            raise LocalMediaError(f"无法读取本机媒体文件 {self._sha[:12]}…（{exc}），没有上传。") from exc
        following = offset + len(data)
        if following < self.size:
            self._pending[following] = self._pool.submit(self._read, following)
        return data, digest

    def close(self) -> None:
        for future in self._pending.values():
            future.cancel()
        self._pool.shutdown(wait=True)
        if self._fh is not None:
            self._fh.close()


def sync_once(store: SyncStore, data_dir: Path, config: SyncConfig | None = None, **kwargs) -> SyncResult:
    """Convenience: one ``SyncSession(...).run()``."""
    return SyncSession(store, data_dir, config, **kwargs).run()
