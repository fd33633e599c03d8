"""The verifier: re-walk a whole store and list every problem found, root causes first.

Checks (in order): the database file (SQLCipher page HMACs, SQLite structure), the chain (entry hashes,
signatures, links, sequence gaps, the log head), stored checkpoints, a known checkpoint (from an HQ
receipt or an export), every referenced media file, the search indexes, the header.

One tampering yields one problem where the cause can be told: a checkpoint that no longer matches
because an entry inside it was already reported as altered, deleted or inserted is not reported
again; the link after an inserted entry is reported as ``entry_inserted``, not as a broken link.

Extending: other packages add checks over the entries without editing this file::

    from field_app.store.verify import Problem, register_check

    @register_check
    def segment_chains(ctx):            # ctx: VerifyContext
        for entry in ctx.iter_entries():
            ...
            yield Problem("segment_gap", "录像分段不连续…", seq=entry.seq)

A package that registers checks must be imported before verifying: the entry point names the modules
(``field_app.cli.VERIFY_PLUGINS`` for ``field-app verify``) and calls ``load_plugins``. The store never
imports them itself (they live in higher layers).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

import sqlcipher3
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from field_app.store import cases, merkle, vault
from field_app.store.errors import MediaCorrupt, MediaMissing, MediaReplaced
from field_app.store.log import ENTRY_DOMAIN, Checkpoint, Entry, genesis_hash, signature_ok
from field_app.store.store import Store


@dataclass(frozen=True)
class Problem:
    """One thing wrong. ``message`` is Chinese; ``kind``/``seq``/``file`` are for machines."""

    kind: str
    message: str
    seq: int | None = None
    file: str | None = None
    # "error": the evidence was damaged or tampered with. "notice": the evidence is intact but shows
    # something a supervisor must see (a pause in a recording, a gap after a crash, a missing notice).
    severity: str = "error"

    def __str__(self) -> str:
        label = "注意" if self.severity == "notice" else "错误"
        where = [f"第 {self.seq} 条记录"] if self.seq is not None else []
        where += [f"文件 {self.file}"] if self.file else []
        head = f"[{label}·{self.kind}]"
        return f"{head} {'，'.join(where)}：{self.message}" if where else f"{head} {self.message}"


Check = Callable[["VerifyContext"], Iterable[Problem]]
_CHECKS: list[tuple[str, Check]] = []


def register_check(fn: Check) -> Check:
    """Add a check run by every ``verify_store`` after the built-in ones (idempotent per function)."""
    name = f"{fn.__module__}.{fn.__qualname__}"
    if all(existing != name for existing, _ in _CHECKS):
        _CHECKS.append((name, fn))
    return fn


def registered_checks() -> list[str]:
    return [name for name, _ in _CHECKS]


def load_plugins(modules: Iterable[str]) -> None:
    """Import modules that register checks. A missing module is an error, not a silent skip: a
    verifier that quietly runs fewer checks is how journald's sealed logs were voided."""
    for module in modules:
        importlib.import_module(module)


@dataclass
class VerifyContext:
    """What checks see: the unlocked store, the known checkpoint, a fresh entry stream, and the results
    of the chain walk (done once before the checks run)."""

    store: Store
    known_checkpoint: Checkpoint | None = None
    count: int = 0
    last: Entry | None = None
    flagged: set[int] = field(default_factory=set)  # seqs with a chain problem (root causes)
    chain_problems: dict[tuple[str, int], Problem] = field(default_factory=dict)
    roots: dict[int, bytes] = field(default_factory=dict)  # tree size → root over the rows as stored
    media_refs: dict[str, int] = field(default_factory=dict)  # sha256 → first seq referring to it
    pruned: set[str] = field(default_factory=set)  # sha256 of media removed after HQ held it (store.media_pruned)
    case_rows: dict[str, tuple] = field(default_factory=dict)
    enrolled: dict[str, tuple] = field(default_factory=dict)

    def iter_entries(self) -> Iterator[Entry]:
        return self.store._require().iter_entries()

    @property
    def last_seq(self) -> int:
        return self.last.seq if self.last else 0

    def problem_at_or_before(self, tree_size: int) -> bool:
        return any(seq <= tree_size for seq in self.flagged)

    def walk(self) -> None:
        ledger = self.store._require()
        wanted = {cp.tree_size for cp in ledger.checkpoints()}
        if self.known_checkpoint:
            wanted.add(self.known_checkpoint.tree_size)
        public = Ed25519PublicKey.from_public_bytes(ledger.public_key)
        genesis = genesis_hash(self.store.store_id)
        frontier = merkle.Frontier()
        prev: Entry | None = None
        before_prev = None  # the hash an entry inserted after ``prev`` would have linked to
        for entry in ledger.iter_entries():
            self._check_entry(entry, prev, genesis if prev is None else prev.entry_hash, before_prev, public)
            before_prev = genesis if prev is None else prev.entry_hash
            prev = entry
            frontier.append(entry.entry_hash)
            self.count += 1
            if self.count in wanted:
                self.roots[self.count] = frontier.root()
            for sha in entry.media:
                self.media_refs.setdefault(sha, entry.seq)
            if entry.entry_type == "store.media_pruned" and entry.seq not in self.flagged:
                try:
                    self.pruned.add(str(entry.payload["sha256"]))
                except (ValueError, KeyError, TypeError):
                    pass
            if entry.entry_type == "store.officer_enrolled":
                try:
                    p = entry.payload
                    self.enrolled[p["cert_no"]] = (p["name"], p["cert_no"], p["department"], entry.seq)
                except (ValueError, KeyError, TypeError):
                    pass
        self.last = prev
        self.case_rows = cases.expected_index(ledger.iter_entries())

    def _add(self, problem: Problem) -> None:
        self.chain_problems[(problem.kind, problem.seq)] = problem
        self.flagged.add(problem.seq)

    def _check_entry(self, entry: Entry, prev: Entry | None, link: bytes, before_prev: bytes | None,
                     public: Ed25519PublicKey) -> None:
        expected_seq = prev.seq + 1 if prev else 1
        gap = entry.seq > expected_seq
        if gap:
            span = f"第 {expected_seq} 条" if entry.seq - 1 == expected_seq else f"第 {expected_seq}–{entry.seq - 1} 条"
            self._add(Problem("entry_missing", f"{span}记录不见了（被删除）。", seq=expected_seq))
        if entry.computed_hash() != entry.entry_hash:
            self._add(Problem("entry_altered", "记录内容与它的哈希不符：这条记录在保存后被改动过。", seq=entry.seq))
        elif not signature_ok(public, ENTRY_DOMAIN, entry.entry_hash, entry.signature):
            self._add(Problem("bad_signature", "记录的设备签名无效：记录被改动或伪造。", seq=entry.seq))
        if entry.prev_hash == link or gap:
            return
        if prev is not None and before_prev is not None and entry.prev_hash == before_prev:
            # The entry before this one was slipped in between two genuine entries.
            for key in [k for k in self.chain_problems if k[1] == prev.seq]:
                del self.chain_problems[key]
            self._add(Problem("entry_inserted", "这条记录是后来插进日志中间的（前后记录的链接绕过了它）。", seq=prev.seq))
        elif prev is not None and prev.seq in self.flagged:
            return  # a consequence of the problem already reported for the previous entry
        else:
            self._add(Problem("chain_broken", "与前一条记录的哈希链断开：前一条被替换，或两条之间的记录被删除后重新编号。",
                              seq=entry.seq))


# --- built-in checks -------------------------------------------------------------------------------

def check_database(ctx: VerifyContext) -> Iterator[Problem]:
    conn = ctx.store._require().conn
    for (row,) in conn.execute("PRAGMA cipher_integrity_check").fetchall():
        yield Problem("db_corrupt", f"数据库文件的加密校验失败：{row}", file="evidence.db")
    result = [r[0] for r in conn.execute("PRAGMA quick_check").fetchall()]
    if result != ["ok"]:
        yield Problem("db_corrupt", f"数据库结构损坏：{'; '.join(result[:5])}", file="evidence.db")


def check_chain(ctx: VerifyContext) -> Iterator[Problem]:
    yield from ctx.chain_problems.values()
    size, head_hash = ctx.store._require().head()
    last_hash = ctx.last.entry_hash if ctx.last else genesis_hash(ctx.store.store_id)
    last_seq = ctx.last.seq if ctx.last else 0
    if head_hash != last_hash and last_seq not in ctx.flagged:
        if size < last_seq:
            yield Problem("log_head_mismatch", f"日志中有 {last_seq} 条记录，登记的总数却只有 {size} 条"
                          "（有记录绕过程序被追加？）。", seq=size + 1)
        else:
            yield Problem("log_truncated", f"日志末尾被截掉：应有 {size} 条记录，现在最后一条是第 {last_seq} 条。",
                          seq=last_seq + 1)
    elif size != last_seq and not ctx.flagged:
        yield Problem("log_head_mismatch", f"日志记录数（{last_seq}）与登记的总数（{size}）不符。")


def check_checkpoints(ctx: VerifyContext) -> Iterator[Problem]:
    # A shortfall is only news when the chain walk found nothing that explains it.
    truncated = bool(ctx.flagged) or any(p.kind == "log_truncated" for p in check_chain(ctx))
    for cp in ctx.store.checkpoints():
        if not cp.signature_ok():
            yield Problem("checkpoint_invalid", f"检查点（{cp.tree_size} 条）的签名无效。")
        elif cp.tree_size > ctx.last_seq:
            if not truncated:
                truncated = True
                yield Problem("log_truncated", f"检查点证明曾有 {cp.tree_size} 条记录，现在最后一条是第 {ctx.last_seq} 条。",
                              seq=ctx.last_seq + 1)
        elif ctx.roots.get(cp.tree_size) != cp.root_hash and not ctx.problem_at_or_before(cp.tree_size):
            yield Problem("checkpoint_mismatch", f"前 {cp.tree_size} 条记录与当时签名的检查点不一致。")


def check_known_checkpoint(ctx: VerifyContext) -> Iterator[Problem]:
    cp = ctx.known_checkpoint
    if cp is None:
        return
    if cp.store_id != ctx.store.store_id or cp.device_public_key != ctx.store._require().public_key:
        yield Problem("known_checkpoint_foreign", "提供的检查点属于另一个证据库或另一台设备。")
    elif not cp.signature_ok():
        yield Problem("checkpoint_invalid", "提供的检查点签名无效（文件被改动？）。")
    elif cp.tree_size > ctx.last_seq:
        if not ctx.flagged and not any(p.kind == "log_truncated" for p in check_chain(ctx)):
            yield Problem("store_rolled_back", f"检查点证明曾有 {cp.tree_size} 条记录，现在只有 {ctx.last_seq} 条："
                          "数据库可能被换成了旧的副本，或末尾的记录被删除。", seq=ctx.last_seq + 1)
    elif ctx.roots.get(cp.tree_size) != cp.root_hash and not ctx.problem_at_or_before(cp.tree_size):
        yield Problem("history_rewritten", f"前 {cp.tree_size} 条记录与提供的检查点不一致：日志被改写过。")


def check_media(ctx: VerifyContext) -> Iterator[Problem]:
    store = ctx.store
    for sha, seq in ctx.media_refs.items():
        try:
            path = store.media_path(sha)
        except Exception:  # an unreadable reference is already an altered entry
            continue
        name = str(path.relative_to(store.data_dir))
        if store.media_info(sha) is None:
            yield Problem("media_unregistered", f"记录引用的媒体文件 {sha[:12]}… 在媒体登记表中不存在。", seq=seq, file=name)
        try:
            vault.check_file(path, store._media_store().keys, sha)
        except MediaMissing:
            if sha in ctx.pruned:
                continue  # removed on purpose after HQ's receipt covered it (logged before deletion)
            yield Problem("media_missing", f"媒体文件 {sha[:12]}… 不见了（被删除或移走）。", seq=seq, file=name)
        except MediaReplaced as exc:
            yield Problem("media_replaced", f"媒体文件 {sha[:12]}… 被换成了另一个文件（{exc.actual_sha256[:12]}…）。",
                          seq=seq, file=name)
        except MediaCorrupt as exc:
            yield Problem("media_corrupt", str(exc), seq=seq, file=name)


def check_indexes(ctx: VerifyContext) -> Iterator[Problem]:
    ledger = ctx.store._require()
    stored = {r[0]: tuple(r) for r in ledger.conn.execute(
        "SELECT record_id, case_no, party_name, credit_code, legal_rep, address, latest_seq, search_text FROM cases")}
    # After a chain problem, positions (seq) may have shifted: then compare the content only.
    same = (lambda a, b: a == b) if not ctx.flagged else (lambda a, b: a is not None and b is not None
                                                            and a[:6] + a[7:] == b[:6] + b[7:])
    for record_id in sorted(set(stored) | set(ctx.case_rows)):
        if not same(stored.get(record_id), ctx.case_rows.get(record_id)):
            seq = (ctx.case_rows.get(record_id) or stored[record_id])[6]
            yield Problem("index_mismatch", f"案件检索表中的 {record_id} 与日志不一致（检索表被改动）。", seq=seq)
    officers = {r[1]: tuple(r) for r in ledger.conn.execute("SELECT name, cert_no, department, enrolled_seq FROM officers")}
    if ctx.flagged:
        officers = {k: v[:3] for k, v in officers.items()}
        enrolled = {k: v[:3] for k, v in ctx.enrolled.items()}
    else:
        enrolled = ctx.enrolled
    if officers != enrolled:
        yield Problem("index_mismatch", "执法人员表与日志中的登记记录不一致（人员表被改动）。")


def check_header(ctx: VerifyContext) -> Iterator[Problem]:
    store = ctx.store
    if store.header.device_public_key != store._require().public_key:
        yield Problem("device_key_mismatch", "头文件中的设备公钥与数据库中的不一致。", file="store.json")
    for wrap in store.header.officers:
        if wrap.cert_no not in ctx.enrolled:
            yield Problem("officer_unknown", f"头文件中有执法证号 {wrap.cert_no} 的解锁密钥，但日志中没有登记这名人员。",
                          file="store.json")


for _check in (check_database, check_chain, check_checkpoints, check_known_checkpoint, check_media,
               check_indexes, check_header):
    register_check(_check)


# --- entry points ----------------------------------------------------------------------------------

@dataclass
class Report:
    problems: list[Problem]
    entries: int
    media: int
    checkpoints: int
    checks: list[str]

    @property
    def errors(self) -> list[Problem]:
        """Problems that mean damage or tampering (notices excluded)."""
        return [p for p in self.problems if p.severity != "notice"]

    def summary(self) -> str:
        notices = len(self.problems) - len(self.errors)
        if not self.errors and notices:
            return (f"校验通过：{self.entries} 条记录、{self.media} 个媒体文件均完好；"
                    f"另有 {notices} 条需要注意的情况（见上）。")
        if not self.problems:
            return (f"校验通过：{self.entries} 条记录、{self.media} 个媒体文件、{self.checkpoints} 个检查点，"
                    f"{len(self.checks)} 项检查均未发现问题。")
        return f"校验发现 {len(self.errors)} 个问题（共 {self.entries} 条记录、{self.media} 个媒体文件）。"


def verify_report(source: Path | Store, password: str | None = None, *, officer: str | None = None,
                  known_checkpoint: Checkpoint | None = None) -> Report:
    """Like ``verify_store`` with counts for a summary line. Opens and closes the store if given a path
    (read-only: a clean verification writes nothing)."""
    if isinstance(source, Store):
        return _run(source, known_checkpoint)
    store = Store.open(Path(source))
    try:
        if officer is None:
            if len(store.enrolled_cert_nos) != 1:
                from field_app.store.errors import InvalidInput

                raise InvalidInput("请指定执法证号（本证据库登记了多名执法人员）："
                                   + "、".join(store.enrolled_cert_nos))
            officer = store.enrolled_cert_nos[0]
        store.unlock(officer, password or "")
        return _run(store, known_checkpoint)
    finally:
        store.close()


def verify_store(source: Path | Store, password: str | None = None, *, officer: str | None = None,
                 known_checkpoint: Checkpoint | None = None) -> list[Problem]:
    """Every problem in the store (empty list = clean). ``source`` is an unlocked Store, or a data
    directory plus the password of ``officer`` (执法证号; may be omitted when only one is enrolled)."""
    return verify_report(source, password, officer=officer, known_checkpoint=known_checkpoint).problems


def _run(store: Store, known_checkpoint: Checkpoint | None) -> Report:
    ctx = VerifyContext(store, known_checkpoint)
    problems: list[Problem] = []
    try:
        problems.extend(check_database(ctx))
    except sqlcipher3.DatabaseError as exc:
        problems.append(Problem("db_corrupt", f"数据库文件损坏，无法做完整性检查（{exc}）。", file="evidence.db"))
    try:
        ctx.walk()
    except sqlcipher3.DatabaseError as exc:  # damaged pages: every other check would build on sand
        problems.append(Problem("db_corrupt", f"日志无法完整读出（{exc}），其余检查无法进行。请用局端保存的副本核对。",
                                file="evidence.db"))
        return Report(problems, ctx.count, len(ctx.media_refs), 0, registered_checks())
    for name, check in list(_CHECKS):
        if check is check_database:
            continue
        try:
            problems.extend(check(ctx))
        except sqlcipher3.DatabaseError as exc:
            problems.append(Problem("db_corrupt", f"检查 {name.rsplit('.', 1)[-1]} 时数据库出错（{exc}）。",
                                    file="evidence.db"))
    problems.sort(key=lambda p: (p.seq is None, p.seq or 0, p.kind))
    return Report(problems, ctx.count, len(ctx.media_refs), len(store.checkpoints()), registered_checks())
