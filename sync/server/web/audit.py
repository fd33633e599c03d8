"""The web platform's audit log: append-only and hash-chained.

Every row holds ``row_hash = SHA-256(prev_hash ‖ canonical_json(row))`` where ``row`` is every column
except ``row_hash`` itself (``sync.protocol.canonical``, the same canonical JSON as the device logs) and
``prev_hash`` is the previous row's ``row_hash`` (64 zeros for the first). ``verify_audit`` recomputes the
chain: any edited, inserted or removed row in the middle breaks it.

Guaranteed: rows get consecutive ``seq`` numbers; appends are serialised (SQLite: the write transaction;
PostgreSQL: a table lock), so the chain never forks. No code path updates or deletes a row, and the web
platform has no route that could.
Dangerous: removing the *newest* rows cannot be seen from the chain alone — compare the head
(``audit_head``) with a copy kept elsewhere (e.g. printed in the daily report) if that matters.
"""

from __future__ import annotations

import hashlib
import json
import time

from sync.protocol.canonical import canonical_json

ACTIONS = ("login", "login_failed", "logout", "search", "view", "play", "download", "export_request",
           "export_approve", "export_reject", "export_download", "review_sample", "review_result",
           "retention_hold", "retention_delete_request", "retention_delete_approve", "denied")
ACTION_LABELS = {
    "login": "登录", "login_failed": "登录失败", "logout": "退出", "search": "检索", "view": "查看", "play": "播放",
    "download": "下载", "export_request": "申请导出", "export_approve": "批准导出", "export_reject": "驳回导出",
    "export_download": "下载导出包", "review_sample": "抽取抽查样本", "review_result": "登记抽查结果",
    "retention_hold": "诉讼保留", "retention_delete_request": "申请删除", "retention_delete_approve": "批准删除",
    "denied": "拒绝访问",
}
GENESIS = "0" * 64

TABLES = """
CREATE TABLE IF NOT EXISTS web_audit (
    seq BIGINT PRIMARY KEY, at_ns BIGINT NOT NULL, username TEXT NOT NULL, role TEXT NOT NULL,
    department TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL, detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL, row_hash TEXT NOT NULL);
"""
_COLUMNS = ("seq", "at_ns", "username", "role", "department", "action", "target", "detail", "prev_hash")


def row_hash(prev_hash: str, row: dict) -> str:
    return hashlib.sha256(bytes.fromhex(prev_hash) + canonical_json(row)).hexdigest()


def audit_event(hq, user, action: str, target: str, detail: dict | None = None) -> int:
    """Append one event (``user`` may be None, e.g. a failed login: then ``detail["username"]`` names who
    tried). Returns its seq. ``action`` must be one of ACTIONS."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    detail_json = canonical_json(detail or {}).decode("utf-8")
    with hq.db.transaction() as tx:
        if hq.db.postgres:
            tx.execute("LOCK TABLE web_audit IN SHARE ROW EXCLUSIVE MODE")
        last = tx.one("SELECT seq, row_hash FROM web_audit ORDER BY seq DESC LIMIT 1")
        seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
        row = {"seq": seq, "at_ns": time.time_ns(), "username": user.username if user else "",
               "role": user.role if user else "", "department": user.department if user else "",
               "action": action, "target": str(target)[:500], "detail": detail_json, "prev_hash": prev}
        tx.execute("INSERT INTO web_audit (seq, at_ns, username, role, department, action, target, detail, prev_hash, "
                   "row_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   tuple(row[c] for c in _COLUMNS) + (row_hash(prev, row),))
    return seq


def verify_audit(hq_or_db) -> list[str]:
    """Problems of the chain (Chinese sentences); empty when every row links and hashes right."""
    db = getattr(hq_or_db, "db", hq_or_db)
    problems: list[str] = []
    prev, expected, last = GENESIS, 1, 0
    while True:
        with db.transaction() as tx:
            rows = tx.all("SELECT seq, at_ns, username, role, department, action, target, detail, prev_hash, row_hash "
                          "FROM web_audit WHERE seq > ? ORDER BY seq LIMIT 5000", (last,))
        if not rows:
            break
        for r in rows:
            row = dict(zip(_COLUMNS, r[:9]))
            if row["seq"] != expected:
                problems.append(f"审计日志第 {expected} 条缺失（下一条是第 {row['seq']} 条）。")
            if row["prev_hash"] != prev:
                problems.append(f"审计日志第 {row['seq']} 条与前一条的哈希链断开。")
            if row_hash(row["prev_hash"], row) != r[9]:
                problems.append(f"审计日志第 {row['seq']} 条的内容与哈希不符（被改动过）。")
            prev, expected, last = r[9], row["seq"] + 1, row["seq"]
    return problems


def audit_head(db) -> tuple[int, str]:
    """(number of rows, hash of the newest row)."""
    with db.transaction() as tx:
        last = tx.one("SELECT seq, row_hash FROM web_audit ORDER BY seq DESC LIMIT 1")
    return (last[0], last[1]) if last else (0, GENESIS)


def list_events(db, *, limit: int = 200, before: int | None = None, action: str | None = None,
                username: str | None = None) -> list[dict]:
    """Newest first."""
    where, params = ["1 = 1"], []
    if before:
        where.append("seq < ?")
        params.append(before)
    if action:
        where.append("action = ?")
        params.append(action)
    if username:
        where.append("username = ?")
        params.append(username)
    with db.transaction() as tx:
        rows = tx.all(f"SELECT seq, at_ns, username, role, department, action, target, detail, row_hash FROM web_audit "
                      f"WHERE {' AND '.join(where)} ORDER BY seq DESC LIMIT ?", (*params, limit))
    return [{"seq": r[0], "at_ns": r[1], "username": r[2], "role": r[3], "department": r[4], "action": r[5],
             "action_label": ACTION_LABELS.get(r[5], r[5]), "target": r[6], "detail": json.loads(r[7]),
             "row_hash": r[8]} for r in rows]
