"""Web users of the HQ platform, their passwords, sessions and the brute-force lockout.

Guaranteed:
- passwords are stored only as argon2id hashes (argon2-cffi; RFC 9106 "second recommended" cost:
  64 MiB, 3 passes, 4 lanes); a login with an unknown user name spends the same work as a known one;
- after ``MAX_FAILURES`` wrong passwords within ``LOCKOUT_NS`` a user name (known or not) is locked for
  ``LOCKOUT_NS`` — even the right password is refused meanwhile, with the same Chinese message;
- a session is a random 256-bit token kept only by the browser (cookie); the database holds its
  SHA-256, so a copy of the database cannot be used to log in. A session ends after ``IDLE_NS`` without
  requests or ``ABSOLUTE_NS`` after login, whichever comes first, and at logout.

Dangerous: ``User`` values are trusted by every query scope (catalog.Scope) — build them only from a
row of ``web_users`` via ``session_user`` / ``authenticate``, never from request data.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import unicodedata
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

ROLES = ("admin", "head", "legal", "unit_head", "officer")
ROLE_LABELS = {"admin": "管理员", "head": "负责人", "legal": "法制机构", "unit_head": "办案机构负责人",
               "officer": "执法人员"}
ALL_DEPARTMENT_ROLES = ("admin", "head", "legal")

MAX_FAILURES = 5
LOCKOUT_NS = 15 * 60 * 1_000_000_000
IDLE_NS = 30 * 60 * 1_000_000_000
ABSOLUTE_NS = 12 * 3600 * 1_000_000_000
MIN_PASSWORD = 10

TABLES = """
CREATE TABLE IF NOT EXISTS web_users (
    username TEXT PRIMARY KEY, display_name TEXT NOT NULL, role TEXT NOT NULL, department TEXT NOT NULL,
    cert_no TEXT, password_hash TEXT NOT NULL, active INTEGER NOT NULL, created_ns BIGINT NOT NULL,
    updated_ns BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS web_login_failures (
    username TEXT PRIMARY KEY, failures BIGINT NOT NULL, first_ns BIGINT NOT NULL, locked_until_ns BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS web_sessions (
    token_hash TEXT PRIMARY KEY, username TEXT NOT NULL, csrf TEXT NOT NULL, created_ns BIGINT NOT NULL,
    last_seen_ns BIGINT NOT NULL, ended_ns BIGINT);
CREATE INDEX IF NOT EXISTS web_sessions_by_user ON web_sessions (username);
"""

_HASHER = PasswordHasher(time_cost=3, memory_cost=64 * 1024, parallelism=4, hash_len=32, salt_len=16)
_DUMMY_HASH = _HASHER.hash("field-hq: no such user")

LOGIN_REFUSED = "用户名或密码不正确。"
LOCKED = "登录失败次数过多，该账号已暂时锁定 15 分钟，请稍后再试或联系管理员。"


class AccountError(ValueError):
    """A request about accounts that cannot be done. ``str()`` is Chinese and safe to show."""


@dataclass(frozen=True)
class User:
    username: str
    display_name: str
    role: str
    department: str
    cert_no: str | None = None

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)

    @property
    def sees_all_departments(self) -> bool:
        return self.role in ALL_DEPARTMENT_ROLES


@dataclass(frozen=True)
class Session:
    token_hash: str
    user: User
    csrf: str
    created_ns: int
    last_seen_ns: int


def now_ns() -> int:
    return time.time_ns()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _clean(text: str | None, what: str, limit: int = 100) -> str:
    text = unicodedata.normalize("NFC", str(text or "")).strip()
    if not text or len(text) > limit:
        raise AccountError(f"{what}不能为空，且不超过 {limit} 个字。")
    return text


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"密码至少 {MIN_PASSWORD} 个字符。")
    return _HASHER.hash(password)


def create_user(db, username: str, display_name: str, role: str, department: str, password: str,
                cert_no: str | None = None) -> User:
    """Create a web user, or update the name/role/department/password of an existing one.
    The department must exist (``field-hq add-department``); an officer needs a 执法证号."""
    username = _clean(username, "用户名", 64)
    if not all(c.isalnum() or c in "._-" for c in username) or not username.isascii():
        raise AccountError("用户名只能由英文字母、数字和 . _ - 组成。")
    display_name = _clean(display_name, "姓名")
    department = _clean(department, "部门")
    if role not in ROLES:
        raise AccountError(f"角色只能是 {'、'.join(f'{r}（{ROLE_LABELS[r]}）' for r in ROLES)} 之一。")
    cert_no = (cert_no or "").strip() or None
    if role == "officer" and not cert_no:
        raise AccountError("执法人员账号必须填写执法证号（用于限定只能查看本人参与的记录）。")
    hashed = hash_password(password)
    stamp = now_ns()
    with db.transaction() as tx:
        if tx.one("SELECT 1 FROM departments WHERE name = ?", (department,)) is None:
            raise AccountError(f"部门「{department}」不存在，请先用 field-hq add-department 新建。")
        if tx.one("SELECT 1 FROM web_users WHERE username = ?", (username,)) is None:
            tx.execute("INSERT INTO web_users (username, display_name, role, department, cert_no, password_hash, active, "
                       "created_ns, updated_ns) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?)",
                       (username, display_name, role, department, cert_no, hashed, stamp, stamp))
        else:
            tx.execute("UPDATE web_users SET display_name = ?, role = ?, department = ?, cert_no = ?, password_hash = ?, "
                       "active = 1, updated_ns = ? WHERE username = ?",
                       (display_name, role, department, cert_no, hashed, stamp, username))
            tx.execute("UPDATE web_sessions SET ended_ns = ? WHERE username = ? AND ended_ns IS NULL", (stamp, username))
        tx.execute("DELETE FROM web_login_failures WHERE username = ?", (username,))
    return User(username, display_name, role, department, cert_no)


def _user(row) -> User:
    return User(row[0], row[1], row[2], row[3], row[4])


def get_user(db, username: str) -> User | None:
    with db.transaction() as tx:
        row = tx.one("SELECT username, display_name, role, department, cert_no FROM web_users "
                     "WHERE username = ? AND active = 1", (username,))
    return _user(row) if row else None


def list_users(db) -> list[User]:
    with db.transaction() as tx:
        rows = tx.all("SELECT username, display_name, role, department, cert_no FROM web_users WHERE active = 1 "
                      "ORDER BY department, role, username")
    return [_user(r) for r in rows]


class LoginRefused(Exception):
    """Login refused; ``str()`` is the Chinese message to show; ``locked`` tells which kind."""

    def __init__(self, message: str, locked: bool) -> None:
        super().__init__(message)
        self.locked = locked


def authenticate(db, username: str, password: str) -> User:
    """The user if the password is right and the name is not locked; LoginRefused otherwise
    (the message never says whether the user exists)."""
    username = unicodedata.normalize("NFC", str(username or "")).strip()[:64]
    stamp = now_ns()
    with db.transaction() as tx:
        lock = tx.one("SELECT failures, first_ns, locked_until_ns FROM web_login_failures WHERE username = ?",
                      (username,))
        row = tx.one("SELECT username, display_name, role, department, cert_no, password_hash FROM web_users "
                     "WHERE username = ? AND active = 1", (username,))
    if lock is not None and lock[2] > stamp:
        _HASHER.verify(_DUMMY_HASH, "field-hq: no such user")  # same work: no timing oracle
        raise LoginRefused(LOCKED, True)
    ok = False
    try:
        ok = _HASHER.verify(row[5] if row else _DUMMY_HASH, password or "") and row is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    if ok:
        with db.transaction() as tx:
            tx.execute("DELETE FROM web_login_failures WHERE username = ?", (username,))
            if _HASHER.check_needs_rehash(row[5]):
                tx.execute("UPDATE web_users SET password_hash = ? WHERE username = ?", (_HASHER.hash(password), username))
        return _user(row)
    with db.transaction() as tx:
        lock = tx.one("SELECT failures, first_ns, locked_until_ns FROM web_login_failures WHERE username = ?",
                      (username,))
        if lock is None or stamp - lock[1] > LOCKOUT_NS:
            failures, first = 1, stamp
        else:
            failures, first = lock[0] + 1, lock[1]
        locked_until = stamp + LOCKOUT_NS if failures >= MAX_FAILURES else 0
        tx.execute("DELETE FROM web_login_failures WHERE username = ?", (username,))
        tx.execute("INSERT INTO web_login_failures (username, failures, first_ns, locked_until_ns) VALUES (?, ?, ?, ?)",
                   (username, failures if not locked_until else 0, first if not locked_until else stamp, locked_until))
    if locked_until:
        raise LoginRefused(LOCKED, True)
    raise LoginRefused(LOGIN_REFUSED, False)


def start_session(db, user: User) -> tuple[str, Session]:
    """A new session: (cookie token, session). Only the token's hash is stored."""
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    stamp = now_ns()
    with db.transaction() as tx:
        tx.execute("INSERT INTO web_sessions (token_hash, username, csrf, created_ns, last_seen_ns) VALUES (?, ?, ?, ?, ?)",
                   (token_hash(token), user.username, csrf, stamp, stamp))
        tx.execute("DELETE FROM web_sessions WHERE last_seen_ns < ? OR created_ns < ?",
                   (stamp - 7 * 24 * 3600 * 1_000_000_000, stamp - ABSOLUTE_NS - IDLE_NS))
    return token, Session(token_hash(token), user, csrf, stamp, stamp)


def session_user(db, token: str | None) -> Session | None:
    """The live session of a cookie token (its idle clock restarted), or None: unknown, ended, idle for
    longer than IDLE_NS, older than ABSOLUTE_NS, or its user deactivated."""
    if not token or len(token) > 200:
        return None
    hashed, stamp = token_hash(token), now_ns()
    with db.transaction() as tx:
        row = tx.one("SELECT s.csrf, s.created_ns, s.last_seen_ns, s.ended_ns, u.username, u.display_name, u.role, "
                     "u.department, u.cert_no FROM web_sessions s JOIN web_users u ON u.username = s.username "
                     "WHERE s.token_hash = ? AND u.active = 1", (hashed,))
        if row is None or row[3] is not None:
            return None
        if stamp - row[2] > IDLE_NS or stamp - row[1] > ABSOLUTE_NS:
            tx.execute("UPDATE web_sessions SET ended_ns = ? WHERE token_hash = ?", (stamp, hashed))
            return None
        if stamp - row[2] > 5_000_000_000:  # at most one write per 5 s per session
            tx.execute("UPDATE web_sessions SET last_seen_ns = ? WHERE token_hash = ?", (stamp, hashed))
    return Session(hashed, User(row[4], row[5], row[6], row[7], row[8]), row[0], row[1], stamp)


def end_session(db, token_hash_: str) -> None:
    with db.transaction() as tx:
        tx.execute("UPDATE web_sessions SET ended_ns = ? WHERE token_hash = ? AND ended_ns IS NULL",
                   (now_ns(), token_hash_))
