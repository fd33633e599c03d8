"""Supervision reviews (第七十二条（三）): periodic random samples of records, reviewed by playback.

A sample is drawn from the population of finalized records (latest version of each ``record`` entry)
whose time lies in the period and scope. The population is sorted by (device, record id) and the
draw is ``random.Random(seed).sample(population, size)`` — Python's documented, platform-independent
Mersenne Twister with a string seed — so anyone holding the seed and parameters can redraw the same
list (``redraw``). The seed, the parameters, a SHA-256 of the population and the drawn list are stored.

Reviewers (legal office / unit heads) are assigned per item; each records once, after playback, the
checklist (``CHECKLIST``) and 合格/不合格 with notes. Results are never changed (a correction is a new
sample). Guarantees: everything is in the HQ database; nothing here checks roles — the routes do.
Dangerous: a redraw gives the same list only while the population is the same; late uploads into the
period change it — ``redraw`` then says so (population hash differs) instead of pretending.
"""

from __future__ import annotations

import hashlib
import json
import random
import secrets
import time
from dataclasses import dataclass, field

from sync.server.web.compliance import Filter, document_title, load_logs, ns_text, _registry

CHECKLIST = ("告知录音录像", "出示执法证件", "连续未中断", "关键画面", "文书与录像一致", "签名齐全")
RESULTS = ("合格", "不合格")
MAX_SAMPLE = 500

TABLES = """
CREATE TABLE IF NOT EXISTS review_samples (
    id TEXT PRIMARY KEY, title TEXT NOT NULL, seed TEXT NOT NULL, params TEXT NOT NULL, population BIGINT NOT NULL,
    population_hash TEXT NOT NULL, created_by TEXT NOT NULL, created_ns BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS review_items (
    sample_id TEXT NOT NULL, position BIGINT NOT NULL, device_id TEXT NOT NULL, record_id TEXT NOT NULL,
    title TEXT NOT NULL, department TEXT NOT NULL, officers TEXT NOT NULL, at_ns BIGINT NOT NULL,
    reviewer TEXT, assigned_by TEXT, assigned_ns BIGINT, PRIMARY KEY (sample_id, position));
CREATE TABLE IF NOT EXISTS review_results (
    sample_id TEXT NOT NULL, position BIGINT NOT NULL, reviewer TEXT NOT NULL, result TEXT NOT NULL,
    checklist TEXT NOT NULL, notes TEXT NOT NULL, at_ns BIGINT NOT NULL, PRIMARY KEY (sample_id, position, reviewer));
"""


class ReviewError(ValueError):
    """A refused review action; ``str()`` is Chinese for the user."""


@dataclass(frozen=True)
class Candidate:
    device_id: str
    record_id: str
    title: str
    department: str
    officers: tuple[str, ...]
    at_ns: int


@dataclass
class Sample:
    id: str
    title: str
    seed: str
    params: dict
    population: int
    population_hash: str
    created_by: str
    created_ns: int
    items: list[dict] = field(default_factory=list)


def population(hq, flt: Filter) -> list[Candidate]:
    """Every finalized record in the period and scope, in the canonical (device, record id) order."""
    with hq.db.transaction() as tx:
        logs = load_logs(tx, flt.departments, 0)
    reg = _registry(hq)
    out = [Candidate(r.device_id, r.record_id, document_title(reg, r.payload), r.department, tuple(r.officers), r.at_ns)
           for r in logs.records.values() if flt.allows(r.department, r.officers, r.at_ns)]
    return sorted(out, key=lambda c: (c.device_id, c.record_id))


def population_hash(cands: list[Candidate]) -> str:
    return hashlib.sha256("\n".join(f"{c.device_id} {c.record_id}" for c in cands).encode()).hexdigest()


def draw(cands: list[Candidate], seed: str, size: int) -> list[Candidate]:
    """The sample for ``seed``: deterministic for the same population, seed and size."""
    return random.Random(seed).sample(cands, min(size, len(cands)))


def _params(flt: Filter, size: int) -> dict:
    return {"start_ns": flt.start_ns, "end_ns": flt.end_ns, "size": size, "officer": flt.officer,
            "departments": None if flt.departments is None else sorted(flt.departments)}


def filter_of(params: dict) -> Filter:
    deps = params.get("departments")
    return Filter(int(params["start_ns"]), int(params["end_ns"]), None if deps is None else frozenset(deps),
                  params.get("officer"))


def create_sample(hq, created_by: str, flt: Filter, size: int, *, title: str = "", seed: str | None = None) -> Sample:
    """Draw and store a sample. ``seed`` defaults to 16 random hex digits (recorded)."""
    if not 1 <= size <= MAX_SAMPLE:
        raise ReviewError(f"抽查数量应在 1 到 {MAX_SAMPLE} 之间。")
    if flt.end_ns <= flt.start_ns:
        raise ReviewError("抽查期间的结束日期应晚于开始日期。")
    seed = seed or secrets.token_hex(8)
    cands = population(hq, flt)
    if not cands:
        raise ReviewError("所选期间和范围内没有文书记录，无法抽取。")
    drawn = draw(cands, seed, size)
    sample_id = "S" + time.strftime("%Y%m%d") + "-" + secrets.token_hex(3)
    title = title.strip()[:100] or f"{ns_text(flt.start_ns)[:10]} 至 {ns_text(flt.end_ns - 1)[:10]} 执法记录抽查"
    now = time.time_ns()
    with hq.db.transaction() as tx:
        tx.execute("INSERT INTO review_samples (id, title, seed, params, population, population_hash, created_by, "
                   "created_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   (sample_id, title, seed, json.dumps(_params(flt, size), ensure_ascii=False), len(cands),
                    population_hash(cands), created_by, now))
        tx.executemany("INSERT INTO review_items (sample_id, position, device_id, record_id, title, department, officers, "
                       "at_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       [(sample_id, i, c.device_id, c.record_id, c.title, c.department, json.dumps(list(c.officers)),
                         c.at_ns) for i, c in enumerate(drawn, 1)])
    return get_sample(hq, sample_id)  # type: ignore[return-value]


def get_sample(hq, sample_id: str) -> Sample | None:
    """The sample with its items; each item has ``results`` (list of dicts) and ``reviewer``."""
    with hq.db.transaction() as tx:
        row = tx.one("SELECT id, title, seed, params, population, population_hash, created_by, created_ns "
                     "FROM review_samples WHERE id = ?", (sample_id,))
        if row is None:
            return None
        items = tx.all("SELECT position, device_id, record_id, title, department, officers, at_ns, reviewer, "
                       "assigned_by, assigned_ns FROM review_items WHERE sample_id = ? ORDER BY position", (sample_id,))
        results = tx.all("SELECT position, reviewer, result, checklist, notes, at_ns FROM review_results "
                         "WHERE sample_id = ? ORDER BY at_ns", (sample_id,))
    sample = Sample(row[0], row[1], row[2], json.loads(row[3]), row[4], row[5], row[6], row[7])
    by_pos: dict[int, list[dict]] = {}
    for pos, reviewer, result, checklist, notes, at in results:
        by_pos.setdefault(pos, []).append({"reviewer": reviewer, "result": result, "checklist": json.loads(checklist),
                                           "notes": notes, "at_ns": at, "at": ns_text(at)})
    for pos, device, record, title, dept, officers, at, reviewer, by, assigned in items:
        sample.items.append({"position": pos, "device_id": device, "record_id": record, "title": title,
                             "department": dept, "officers": json.loads(officers), "at_ns": at, "at": ns_text(at),
                             "reviewer": reviewer, "assigned_by": by, "assigned_ns": assigned,
                             "results": by_pos.get(pos, [])})
    return sample


def list_samples(hq, limit: int = 100) -> list[dict]:
    with hq.db.transaction() as tx:
        rows = tx.all("SELECT s.id, s.title, s.created_by, s.created_ns, s.population, "
                      "(SELECT count(*) FROM review_items i WHERE i.sample_id = s.id), "
                      "(SELECT count(DISTINCT r.position) FROM review_results r WHERE r.sample_id = s.id) "
                      "FROM review_samples s ORDER BY s.created_ns DESC LIMIT ?", (limit,))
    return [{"id": r[0], "title": r[1], "created_by": r[2], "created": ns_text(r[3]), "population": r[4],
             "size": r[5], "reviewed": r[6]} for r in rows]


def redraw(hq, sample_id: str) -> tuple[bool, bool, list[tuple[str, str]]]:
    """Draw again from the stored seed and parameters: (same population?, same list?, the new list)."""
    sample = get_sample(hq, sample_id)
    if sample is None:
        raise ReviewError("没有这个抽查样本。")
    cands = population(hq, filter_of(sample.params))
    again = [(c.device_id, c.record_id) for c in draw(cands, sample.seed, int(sample.params["size"]))]
    stored = [(i["device_id"], i["record_id"]) for i in sample.items]
    return population_hash(cands) == sample.population_hash, again == stored, again


def assign(hq, sample_id: str, positions: list[int], reviewer: str, assigned_by: str) -> int:
    """Assign ``reviewer`` (a username) to the items; returns how many were assigned. Items already
    reviewed keep their reviewer."""
    if not reviewer:
        raise ReviewError("请选择复查人员。")
    now, changed = time.time_ns(), 0
    with hq.db.transaction() as tx:
        for pos in positions:
            if tx.one("SELECT 1 FROM review_results WHERE sample_id = ? AND position = ?", (sample_id, pos)):
                continue
            changed += tx.execute("UPDATE review_items SET reviewer = ?, assigned_by = ?, assigned_ns = ? "
                                  "WHERE sample_id = ? AND position = ?", (reviewer, assigned_by, now, sample_id, pos))
    return changed


def record_result(hq, sample_id: str, position: int, reviewer: str, result: str, checklist: dict[str, bool],
                  notes: str = "") -> dict:
    """Store one reviewer's result for one item. Refused unless assigned to ``reviewer``, for an unknown
    result, an incomplete checklist, 不合格 without notes, or a second result by the same reviewer."""
    if result not in RESULTS:
        raise ReviewError("复查结论只能是“合格”或“不合格”。")
    missing = [c for c in CHECKLIST if c not in checklist]
    if missing:
        raise ReviewError("请逐项填写检查项目：" + "、".join(missing))
    notes = (notes or "").strip()[:2000]
    failed = [c for c in CHECKLIST if not checklist[c]]
    if result == "合格" and failed:
        raise ReviewError("有未通过的检查项目（" + "、".join(failed) + "），结论不能为“合格”。")
    if (result == "不合格" or failed) and not notes:
        raise ReviewError("不合格或有未通过的检查项目时，请写明问题。")
    with hq.db.transaction() as tx:
        item = tx.one("SELECT reviewer FROM review_items WHERE sample_id = ? AND position = ?", (sample_id, position))
        if item is None:
            raise ReviewError("样本中没有这一项。")
        if item[0] != reviewer:
            raise ReviewError("这一项没有分配给您复查。")
        if tx.execute("INSERT INTO review_results (sample_id, position, reviewer, result, checklist, notes, at_ns) "
                      "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                      (sample_id, position, reviewer, result,
                       json.dumps({c: bool(checklist[c]) for c in CHECKLIST}, ensure_ascii=False), notes,
                       time.time_ns())) != 1:
            raise ReviewError("您已经登记过这一项的复查结论，不能修改。")
    return {"sample": sample_id, "position": position, "result": result, "failed": failed}
