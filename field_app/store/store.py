"""``Store``: one officer-unlocked evidence store in a data directory.

Data directory layout::

    store.json            header: store id, device public key, key wraps, HQ escrow (no case data)
    evidence.db (-wal)    SQLCipher database: the log, media index, checkpoints, officers, cases
    vault/xx/<hmac>.frv   encrypted media files; vault/tmp/*.part = writes in progress or cut by a crash
    .lock                 held (OS lock) while a process has the store unlocked

Lifecycle: ``Store.create`` (returns it unlocked) or ``Store.open`` (locked) → ``unlock`` → work →
``lock`` / ``close``. All methods are safe to call from several threads; writes are serialised.
Nothing is ever updated or deleted in the log: corrections are new entries that supersede.
"""

from __future__ import annotations

import secrets
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO, Callable, Iterable, Iterator

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from field_app.store import cases, keys, vault
from field_app.store.db import DB_NAME, is_plaintext_sqlite, open_database
from field_app.store.errors import (DeviceSecretMissing, InvalidInput, PlaintextDatabase, StoreCorrupt, StoreError,
                                    StoreExists, StoreLocked, WrongPassword)
from field_app.store.escrow import load_hq_public_key, seal
from field_app.store.fsutil import ProcessLock
from field_app.store.ledger import Ledger
from field_app.store.log import Checkpoint, Entry
from field_app.store.merkle import InclusionProof
from field_app.store.media import MediaStore
from field_app.store.schema import migrate
from field_app.store.secrets import require_safe_keyring
from field_app.store.throttle import FREE_ATTEMPTS, UnlockThrottle

FORMAT_VERSION = 1
DEFAULT_IDLE_TIMEOUT = 600.0


@dataclass(frozen=True)
class Officer:
    """An enforcement officer (执法人员). ``password`` is only used when enrolling; never stored."""

    name: str
    cert_no: str  # 执法证号
    department: str
    password: str | None = field(default=None, repr=False, compare=False)


def _as_officer(item) -> Officer:
    if isinstance(item, Officer):
        officer = item
    elif isinstance(item, (tuple, list)) and len(item) == 4:
        officer = Officer(*item)
    else:
        officer = Officer(getattr(item, "name", ""), getattr(item, "cert_no", ""),
                          getattr(item, "department", ""), getattr(item, "password", None))
    name, cert_no, dept = (str(v or "").strip() for v in (officer.name, officer.cert_no, officer.department))
    if not name or not cert_no:
        raise InvalidInput("登记执法人员需要姓名和执法证号。")
    if any(c.isspace() for c in cert_no):
        raise InvalidInput(f"执法证号 {cert_no} 中不能有空格。")
    keys.check_password_rules(officer.password)
    return Officer(name, cert_no, dept, officer.password)


class Store:
    def __init__(self, data_dir: Path, header: keys.Header, *, clock: Callable[[], float] = time.time) -> None:
        """Use ``Store.create`` or ``Store.open``."""
        self.data_dir = data_dir
        self.header = header
        self._clock = clock
        self._state = threading.RLock()
        self._ledger: Ledger | None = None
        self._media: MediaStore | None = None
        self._data_key: bytearray | None = None
        self._process_lock = ProcessLock(data_dir / ".lock")
        self._unlocked: dict[str, Officer] = {}
        self._holds = 0
        self._last_activity = time.monotonic()
        self.idle_timeout = DEFAULT_IDLE_TIMEOUT
        self.recovered = False

    # --- creating and opening ---------------------------------------------------------------------

    @classmethod
    def create(cls, data_dir: Path, *, officers: Iterable, hq_public_key: bytes,
               kdf: keys.KdfParams | None = None) -> "Store":
        """Create a new encrypted store and return it unlocked by all the enrolled officers.

        Refuses (StoreExists) if a store or leftovers of one are in ``data_dir``; fails closed
        (KeyringUnavailable) without a safe OS keyring. Nothing is left half-made that could be
        mistaken for a store: the header, written last, is what makes the directory a store.

        ``kdf``: Argon2id cost for the officers' wraps; leave it to the default (production cost).
        Only tests of something else than the KDF (the crash loop) pass a cheaper one, to stay fast.
        """
        return cls._create(Path(data_dir), officers, hq_public_key, unkeyed=False, kdf=kdf)

    @classmethod
    def _unkeyed_for_benchmark(cls, data_dir: Path, *, officers: Iterable, hq_public_key: bytes) -> "Store":
        """TEST/BENCH ONLY: the same store on an *unencrypted* database, as the baseline of bench/store.py.

        The result works only in this process: ``Store.open`` refuses its plaintext database, so it can
        never be used as a real store. Product code must never call this.
        """
        return cls._create(Path(data_dir), officers, hq_public_key, unkeyed=True)

    @classmethod
    def _create(cls, data_dir: Path, officers: Iterable, hq_public_key: bytes, *, unkeyed: bool,
                kdf: keys.KdfParams | None = None) -> "Store":
        enrolled = [_as_officer(o) for o in officers]
        if not enrolled:
            raise InvalidInput("新建证据库至少需要登记一名执法人员。")
        certs = [o.cert_no for o in enrolled]
        if len(set(certs)) != len(certs):
            raise InvalidInput("执法证号重复，每名执法人员只能登记一次。")
        load_hq_public_key(hq_public_key)
        if (data_dir / keys.HEADER_NAME).exists():
            raise StoreExists(f"目录 {data_dir} 中已有证据库，不能再新建。")
        if (data_dir / DB_NAME).exists():
            raise StoreExists(f"目录 {data_dir} 中有未完成的证据库文件 {DB_NAME}。请检查后移走它再新建。")
        require_safe_keyring()
        data_dir.mkdir(parents=True, exist_ok=True)
        data_dir.chmod(0o700)  # other local users see nothing, not even file names and sizes
        store_id = keys.new_store_id()
        device_secret = keys.create_device_secret(store_id)
        data_key = bytearray(secrets.token_bytes(32))
        signing = Ed25519PrivateKey.generate()
        public = signing.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        created = datetime.now(timezone.utc).isoformat(timespec="seconds")
        header = keys.Header(store_id, created, public, keys.device_check(device_secret),
                             seal(hq_public_key, bytes(data_key), store_id.encode()))
        store = cls(data_dir, header)
        store._process_lock.acquire()
        try:
            db = open_database(data_dir / DB_NAME, None if unkeyed else keys.subkey(data_key, "sqlcipher"), create=True)
            migrate(db.conn)
            ledger = Ledger(db, store_id, signing, public)
            ledger.initialize(signing.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                                    serialization.NoEncryption()),
                              {"store_id": store_id, "format": FORMAT_VERSION, "device_public_key": public.hex(),
                               "hq_public_key": bytes(hq_public_key).hex(), "created": created})
            for officer in enrolled:
                store._enrol(ledger, officer, data_key, device_secret, kdf)
            store._attach(ledger, data_key)
            keys.write_header(data_dir, header)  # the commit point: now it is a store
        except BaseException:
            store._detach()
            # Nothing in it is evidence yet (no header was written): do not leave a half-made store.
            for suffix in ("", "-wal", "-shm"):
                (data_dir / (DB_NAME + suffix)).unlink(missing_ok=True)
            raise
        store._unlocked = {o.cert_no: Officer(o.name, o.cert_no, o.department) for o in enrolled}
        return store

    @classmethod
    def open(cls, data_dir: Path, *, clock: Callable[[], float] = time.time) -> "Store":
        """The store in ``data_dir``, locked. Reads the header only; writes nothing."""
        data_dir = Path(data_dir)
        header = keys.read_header(data_dir)
        db_path = data_dir / DB_NAME
        if not db_path.exists():
            raise StoreCorrupt(f"证据库文件 {DB_NAME} 不见了（头文件还在）。请不要移动或删除数据目录中的文件。")
        if is_plaintext_sqlite(db_path):
            raise PlaintextDatabase(f"{DB_NAME} 是未加密的数据库。本程序只使用加密的证据库，拒绝打开。")
        return cls(data_dir, header, clock=clock)

    # --- unlocking and locking --------------------------------------------------------------------

    @property
    def store_id(self) -> str:
        return self.header.store_id

    @property
    def enrolled_cert_nos(self) -> list[str]:
        """执法证号 of the officers who can unlock (readable while locked)."""
        return [w.cert_no for w in self.header.officers]

    @property
    def is_unlocked(self) -> bool:
        return self._ledger is not None

    @property
    def unlocked_officers(self) -> tuple[Officer, ...]:
        return tuple(self._unlocked.values())

    def unlock(self, cert_no: str, password: str) -> Officer:
        """Unlock with one officer's password (call again for a second officer).

        Wrong password or unknown 执法证号 → WrongPassword, counted; after FREE_ATTEMPTS failures
        further tries must wait (TooManyAttempts). A failed attempt writes nothing in the data directory.
        """
        cert_no = str(cert_no).strip()
        with self._state:
            throttle = UnlockThrottle(self.store_id, self._clock)
            throttle.check()
            device_secret = keys.load_device_secret(self.store_id, self.header.device_check)
            wrap = self.header.wrap_for(cert_no)
            try:
                if wrap is None:
                    raise WrongPassword(f"本证据库没有登记执法证号为 {cert_no} 的执法人员。")
                data_key = keys.unwrap_for_officer(wrap, self.store_id, password, device_secret)
            except WrongPassword as exc:
                failures = throttle.failed()
                left = FREE_ATTEMPTS - failures
                hint = f"还可再试 {left} 次，之后每次需要等待。" if left > 0 else "再次尝试前需要等待。"
                raise WrongPassword(f"{exc} {hint}") from None
            throttle.succeeded()
            if self._ledger is None:
                self._unlock_with_data_key(data_key)
            elif data_key != self._data_key:
                raise StoreCorrupt("这名执法人员的密钥属于另一个证据库（头文件被改动？）。")
            officer = self._officer_record(cert_no)
            self._unlocked = {**self._unlocked, cert_no: officer}  # replaced, never mutated: other threads read it
            self.touch()
            return officer

    def _unlock_with_data_key(self, data_key: bytearray, *, recovered: bool = False,
                              method: str = "hq-escrow") -> None:
        with self._state:
            if self._ledger is not None:
                return
            self._process_lock.acquire()
            try:
                db = open_database(self.data_dir / DB_NAME, keys.subkey(data_key, "sqlcipher"), create=False)
                try:
                    migrate(db.conn)
                    meta = {k: bytes(v) for k, v in db.conn.execute("SELECT key, value FROM meta")}
                    if meta.get("store_id", b"").decode() != self.store_id:
                        raise StoreCorrupt("数据库与头文件 store.json 不属于同一个证据库。")
                    signing = Ed25519PrivateKey.from_private_bytes(meta["device_private_key"])
                    ledger = Ledger(db, self.store_id, signing, meta["device_public_key"])
                except BaseException:
                    db.conn.close()
                    raise
            except BaseException:
                self._process_lock.release()
                raise
            self._attach(ledger, data_key)
            self.recovered = recovered
            if recovered:
                ledger.append("store.recovered", {"method": method}, internal=True)

    def _attach(self, ledger: Ledger, data_key: bytearray) -> None:
        self._ledger = ledger
        self._data_key = data_key
        self._media = MediaStore(self.data_dir / "vault", vault.VaultKeys(data_key), ledger)
        self._last_activity = time.monotonic()

    def _detach(self) -> None:
        if self._ledger is not None:
            self._ledger.close()
        if self._data_key is not None:
            self._data_key[:] = bytes(len(self._data_key))  # best effort: Python may hold other copies
        self._ledger = self._media = self._data_key = None
        self._unlocked = {}
        self.recovered = False
        self._process_lock.release()

    def lock(self, *, force: bool = False) -> None:
        """Forget the keys and close the database (a checkpoint is written first if anything changed).

        Refused while ``keep_unlocked`` holds are active (recording in progress) unless ``force``.
        Media streams opened before keep working until closed.
        """
        with self._state:
            if self._ledger is None:
                return
            if self._holds and not force:
                raise StoreError("正在录制或保存，不能锁定证据库。请先停止录制。")
            if self._ledger.dirty:
                try:
                    self._ledger.checkpoint()
                except StoreError:
                    pass  # e.g. disk full: the entries are safe, the next session checkpoints them
            self._detach()

    def close(self) -> None:
        self.lock(force=True)

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- idle lock --------------------------------------------------------------------------------

    def touch(self) -> None:
        """Record user activity (the UI calls this on input); appends do not count as activity."""
        self._last_activity = time.monotonic()

    def check_idle(self) -> bool:
        """Lock if unlocked, not held, and idle for ``idle_timeout`` seconds. True if it locked now."""
        with self._state:
            if self._ledger is None or self._holds:
                return False
            if time.monotonic() - self._last_activity < self.idle_timeout:
                return False
            self.lock()
            return True

    @contextmanager
    def keep_unlocked(self) -> Iterator[None]:
        """While inside, idle locking and plain ``lock()`` are refused (use around a recording)."""
        with self._state:
            self._require()
            self._holds += 1
        try:
            yield
        finally:
            with self._state:
                self._holds -= 1
                self.touch()

    # --- officers ---------------------------------------------------------------------------------

    def _require(self) -> Ledger:
        ledger = self._ledger
        if ledger is None:
            raise StoreLocked("证据库已锁定，请先输入执法证号和密码解锁。")
        return ledger

    def _officer_record(self, cert_no: str) -> Officer:
        rows = self._require().query("SELECT name, cert_no, department FROM officers WHERE cert_no = ?", (cert_no,))
        if not rows:
            return Officer("", cert_no, "")
        return Officer(rows[0]["name"], rows[0]["cert_no"], rows[0]["department"])

    def officers(self) -> list[Officer]:
        """Every officer ever enrolled (from the log's index), in enrolment order."""
        return [Officer(r["name"], r["cert_no"], r["department"])
                for r in self._require().query("SELECT * FROM officers ORDER BY enrolled_seq")]

    def _enrol(self, ledger: Ledger, officer: Officer, data_key: bytearray, device_secret: bytes,
               kdf: keys.KdfParams | None = None) -> Entry:
        entry = ledger.append("store.officer_enrolled", {"name": officer.name, "cert_no": officer.cert_no,
                                                         "department": officer.department},
                              officers=self._actor_certs(), internal=True)
        self.header.officers.append(keys.wrap_for_officer(data_key, self.store_id, officer.cert_no,
                                                          officer.password, device_secret, kdf))
        return entry

    def enrol_officer(self, name: str, cert_no: str, department: str, password: str) -> Officer:
        """Enrol another officer on this store (needs the store unlocked)."""
        officer = _as_officer(Officer(name, cert_no, department, password))
        with self._state:
            ledger = self._require()
            if self.header.wrap_for(officer.cert_no) or self._officer_record(officer.cert_no).name:
                raise InvalidInput(f"执法证号 {officer.cert_no} 已经登记过。")
            device_secret = keys.load_device_secret(self.store_id, self.header.device_check)
            self._enrol(ledger, officer, self._data_key, device_secret)
            keys.write_header(self.data_dir, self.header)
            return Officer(officer.name, officer.cert_no, officer.department)

    def change_password(self, cert_no: str, old_password: str, new_password: str) -> None:
        """Re-wrap the data key under a new password (nothing is re-encrypted). Needs the store unlocked
        and the officer's current password (a wrong one counts like a failed unlock)."""
        keys.check_password_rules(new_password)
        with self._state:
            ledger = self._require()
            wrap = self.header.wrap_for(cert_no)
            if wrap is None:
                raise InvalidInput(f"本证据库没有登记执法证号为 {cert_no} 的执法人员。")
            throttle = UnlockThrottle(self.store_id, self._clock)
            throttle.check()
            device_secret = keys.load_device_secret(self.store_id, self.header.device_check)
            try:
                keys.unwrap_for_officer(wrap, self.store_id, old_password, device_secret)
            except WrongPassword:
                throttle.failed()
                raise WrongPassword("原密码不正确，密码没有修改。") from None
            ledger.append("store.password_changed", {"cert_no": cert_no}, officers=self._actor_certs(), internal=True)
            self._replace_wrap(keys.wrap_for_officer(self._data_key, self.store_id, cert_no, new_password, device_secret))

    def reset_password(self, cert_no: str, new_password: str) -> None:
        """Give an officer a new password after HQ recovery (``escrow.recover_store``) only.

        If this computer's keyring has no device secret for the store, a new one is made; officers whose
        wraps used the old secret can no longer unlock here and are dropped from the header (logged).
        """
        keys.check_password_rules(new_password)
        with self._state:
            ledger = self._require()
            if not self.recovered:
                raise StoreError("只有用局端恢复密钥恢复证据库后才能重设密码；平时请用“修改密码”。")
            if not self._officer_record(cert_no).name:
                raise InvalidInput(f"本证据库没有登记执法证号为 {cert_no} 的执法人员。")
            try:
                device_secret = keys.load_device_secret(self.store_id, self.header.device_check)
            except DeviceSecretMissing:
                device_secret = keys.create_device_secret(self.store_id)
                dropped = [w.cert_no for w in self.header.officers]
                ledger.append("store.device_secret_replaced", {"dropped_wraps": dropped}, internal=True)
                self.header.device_check = keys.device_check(device_secret)
                self.header.officers = []
            ledger.append("store.password_reset", {"cert_no": cert_no}, internal=True)
            self._replace_wrap(keys.wrap_for_officer(self._data_key, self.store_id, cert_no, new_password, device_secret))

    def _replace_wrap(self, wrap: keys.OfficerWrap) -> None:
        self.header.officers = [w for w in self.header.officers if w.cert_no != wrap.cert_no] + [wrap]
        keys.write_header(self.data_dir, self.header)

    def _actor_certs(self) -> tuple[str, ...]:
        return tuple(sorted(self._unlocked))

    # --- the log ----------------------------------------------------------------------------------

    def append(self, entry_type: str, payload: dict, *, record_id: str | None = None,
               supersedes: int | None = None, media: list[str] | None = None) -> Entry:
        """Append one evidence entry; durable when it returns.

        ``record_id`` groups the entries of one record (a form's versions, a recording's parts); a
        correction passes ``supersedes=<seq>`` of the record's latest entry (forks are refused).
        ``media`` lists SHA-256s of files already stored with ``put_media``. Entry types starting with
        ``store.`` are reserved.
        """
        return self._require().append(entry_type, payload, record_id=record_id, supersedes=supersedes,
                                      media=media, officers=self._actor_certs())

    def entries_after(self, seq: int, limit: int = 1000) -> list[Entry]:
        """Entries with sequence number > ``seq``, oldest first (for sync)."""
        return self._require().entries_after(seq, limit)

    def entry(self, seq: int) -> Entry | None:
        return self._require().entry(seq)

    def record_versions(self, record_id: str) -> list[Entry]:
        """All entries of a record, oldest first (for a versioned record each later one supersedes
        the one before; ``Entry.supersedes`` says which)."""
        return self._require().record_versions(record_id)

    @property
    def size(self) -> int:
        """Number of entries in the log."""
        return self._require().head()[0]

    # --- cases ------------------------------------------------------------------------------------

    def add_case(self, case_no: str, party_name: str, credit_code: str = "", *, legal_rep: str = "",
                 address: str = "", **extra) -> Entry:
        """Open a case (案件) with its party (当事人): a ``case`` entry, indexed for search."""
        payload = cases.build_payload(case_no, party_name, credit_code, legal_rep=legal_rep, address=address, **extra)
        cases.check_payload(payload)
        return self.append(cases.CASE_ENTRY, payload, record_id="case-" + secrets.token_hex(8))

    def correct_case(self, record_id: str, *, reason: str, **changes) -> Entry:
        """A new version of a case that supersedes the latest one (``reason`` is required and kept)."""
        if not str(reason or "").strip():
            raise InvalidInput("更正案件信息必须写明原因。")
        versions = self.record_versions(record_id)
        if not versions or versions[-1].entry_type != cases.CASE_ENTRY:
            raise InvalidInput(f"没有编号为 {record_id} 的案件。")
        current = versions[-1].payload
        current.pop("correction_reason", None)
        fields = {k: current.pop(k) for k in cases.FIELDS if k in current}
        fields.update({k: changes.pop(k) for k in list(changes) if k in cases.FIELDS})
        payload = cases.build_payload(**fields, **{**current, **changes, "correction_reason": str(reason).strip()})
        return self.append(cases.CASE_ENTRY, payload, record_id=record_id, supersedes=versions[-1].seq)

    def search(self, text: str, limit: int = 50) -> list[cases.CaseRow]:
        """Cases whose number, party name, credit code, legal representative or address contains ``text``."""
        return self._require().search_cases(text, limit)

    # --- media ------------------------------------------------------------------------------------

    def _media_store(self) -> MediaStore:
        self._require()
        media = self._media
        if media is None:
            raise StoreLocked("证据库已锁定，请先解锁。")
        return media

    def put_media(self, src: Path | BinaryIO, *, media_type: str) -> vault.MediaRef:
        """Encrypt a file or stream into the vault (streaming, never whole in memory); durable on return."""
        return self._media_store().put(src, media_type=media_type)

    def media_writer(self, media_type: str, *, chunk_size: int = vault.CHUNK_SIZE):
        """A push-style writer into the vault (for the video encoder): ``write`` bytes as they are
        produced, ``close()`` seals, installs and registers the file and returns its MediaRef. Each
        chunk is encrypted and handed to the OS as soon as it is full, so a crash loses at most one
        chunk; ``recover_partials`` saves the rest. Not thread-safe (one writer per thread)."""
        return self._media_store().writer(media_type, chunk_size)

    def open_media(self, sha256: str, *, whole_file_check: bool = True) -> BinaryIO:
        """A seekable binary stream of the file's plaintext; every chunk is authenticated before use.
        ``whole_file_check=False`` skips the SHA-256 re-check at the end of a sequential read — only
        for callers that hash what they read themselves (see ``vault.VaultReader``)."""
        return self._media_store().open(sha256, whole_file_check=whole_file_check)

    def media_path(self, sha256: str) -> Path:
        """Where the encrypted file for ``sha256`` lives (for the verifier and tests)."""
        return self._media_store().path(sha256)

    def media_info(self, sha256: str) -> vault.MediaRef | None:
        return self._require().media_row(sha256)

    def media_with_type_prefix(self, prefix: str) -> list[vault.MediaRef]:
        """Registered media whose media type starts with ``prefix`` (e.g. one recording's segments),
        in the order they were stored — whether or not a log entry references them yet."""
        return self._require().media_with_type_prefix(prefix)

    def recover_partials(self) -> list[vault.MediaRef]:
        """Turn media writes cut by a crash into stored media (``store.media_recovered`` entries): partial
        files in vault/tmp, and complete vault files whose registration the crash prevented."""
        return self._media_store().recover_partials(self._actor_certs())

    # --- checkpoints ------------------------------------------------------------------------------

    def checkpoint(self) -> Checkpoint:
        """A signed checkpoint over the whole log now (stored; export it with ``to_json``)."""
        return self._require().checkpoint()

    def checkpoints(self) -> list[Checkpoint]:
        return self._require().checkpoints()

    def inclusion_proof(self, seq: int, tree_size: int) -> InclusionProof:
        """Proof that entry ``seq`` is in the tree of the first ``tree_size`` entries (verify with
        ``merkle.verify_inclusion(entry.entry_hash, proof, checkpoint.root_hash)``)."""
        return self._require().inclusion_proof(seq, tree_size)

    def root_at(self, tree_size: int) -> bytes:
        return self._require().root_at(tree_size)

    @property
    def device_public_key(self) -> bytes:
        return self.header.device_public_key

    # --- sync hooks (used by sync.client, which is handed this object) -----------------------------

    def device_sign(self, purpose: str, message: bytes) -> bytes:
        """Sign ``message`` with the device key for sync authentication; ``purpose`` is "request" or
        "enrol" (``sync.protocol.auth.DOMAINS``). The domain prefix is added here and differs from the
        log's entry and checkpoint domains, so nothing signed through this can pass for a log entry or
        a checkpoint. Needs the store unlocked."""
        from sync.protocol.auth import DOMAINS

        domain = DOMAINS.get(purpose)
        if domain is None:
            raise InvalidInput(f"不支持的签名用途 {purpose!r}。")
        return self._require()._key.sign(domain + bytes(message))

    def prune_media(self, sha256: str, *, evidence: dict) -> bool:
        """Remove the local vault file of ``sha256`` after logging why; False if it was already gone.

        Writes a ``store.media_pruned`` entry (payload: sha256, size, ``evidence``) first, then deletes
        the file and fsyncs its directory. A crash in between leaves the file and the entry (pruning
        again completes it); never a missing file without its entry. The verifier accepts a missing
        file that has such an entry; ``open_media`` then raises MediaMissing.

        Dangerous: the store cannot judge ``evidence``. The caller (``sync.client.prune``) must have
        proved that HQ holds the file (a verified HQ receipt covering an entry that references it) and
        that the laptop's retention setting allows deleting it.
        """
        from field_app.store.fsutil import fsync_dir

        media = self._media_store()
        ref = self.media_info(sha256)
        if ref is None:
            raise InvalidInput(f"媒体文件 {sha256[:12]}… 不在本证据库中。")
        path = media.path(sha256)
        if not path.exists():
            return False
        with self._state:
            self._require().append("store.media_pruned", {"sha256": sha256, "size": ref.size, "evidence": evidence},
                                   officers=self._actor_certs(), internal=True)
            try:
                path.unlink()
                fsync_dir(path.parent)
            except FileNotFoundError:
                return False
            except OSError as exc:
                raise StoreError(f"无法删除已同步的媒体文件（{exc.strerror}）。", detail=str(exc)) from exc
        return True
