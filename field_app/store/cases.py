"""Cases and parties: a searchable index derived from ``case`` log entries.

A case entry's payload: ``case_no`` (案号, e.g. 长人社监〔2026〕第0117号), ``party_name`` (当事人),
``credit_code`` (统一社会信用代码, may be empty for a natural person), ``legal_rep``, ``address``, plus
any further fields the caller adds. A correction is a new ``case`` entry that supersedes the latest
version; the index always shows the latest version.

Search: FTS5 with the trigram tokenizer for queries of 3+ characters (the default tokenizer finds
nothing in Chinese), LIKE for 1–2 characters (trigram cannot match those). Text is NFKC-normalised
for the index and the query, so full-width digits and letters typed by an IME still match.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any, Iterable

from field_app.store.errors import InvalidInput

CASE_ENTRY = "case"
FIELDS = ("case_no", "party_name", "credit_code", "legal_rep", "address")


@dataclass(frozen=True)
class CaseRow:
    record_id: str
    case_no: str
    party_name: str
    credit_code: str
    legal_rep: str
    address: str
    latest_seq: int


def normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def normalize_credit_code(code: str) -> str:
    """统一社会信用代码 as typed → canonical form (NFKC, no spaces, upper case). Does not validate."""
    return "".join(normalize(code).split()).upper()


def build_payload(case_no: str, party_name: str, credit_code: str = "", *, legal_rep: str = "",
                  address: str = "", **extra: Any) -> dict[str, Any]:
    payload = {"case_no": normalize(case_no), "party_name": normalize(party_name),
               "credit_code": normalize_credit_code(credit_code), "legal_rep": normalize(legal_rep),
               "address": normalize(address)}
    clash = set(extra) & set(payload)
    if clash:
        raise InvalidInput(f"字段重复：{', '.join(sorted(clash))}")
    payload.update(extra)
    return payload


def check_payload(payload: dict[str, Any]) -> None:
    for name in FIELDS:
        if not isinstance(payload.get(name, ""), str):
            raise InvalidInput(f"案件字段 {name} 必须是文字。")
    if not payload.get("case_no"):
        raise InvalidInput("案号不能为空。")
    if not payload.get("party_name"):
        raise InvalidInput("当事人名称不能为空。")


def _search_text(payload: dict[str, Any]) -> str:
    return "\n".join(normalize(str(payload.get(name, ""))) for name in FIELDS)


def index_row(record_id: str, seq: int, payload: dict[str, Any]) -> tuple:
    return (record_id, *(str(payload.get(name, "")) for name in FIELDS), seq, _search_text(payload))


def project(conn, record_id: str, seq: int, payload: dict[str, Any], *, new: bool) -> None:
    """Update the index for a case entry, inside the caller's transaction. Refuses a case number that
    another case already uses (InvalidInput), which rolls the whole append back."""
    check_payload(payload)
    clash = conn.execute("SELECT record_id FROM cases WHERE case_no = ? AND record_id != ?",
                         (payload["case_no"], record_id)).fetchone()
    if clash:
        raise InvalidInput(f"案号 {payload['case_no']} 已被另一个案件使用。")
    row = index_row(record_id, seq, payload)
    if new:
        conn.execute("INSERT INTO cases (record_id, case_no, party_name, credit_code, legal_rep, address, "
                     "latest_seq, search_text) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", row)
    else:
        conn.execute("UPDATE cases SET case_no = ?, party_name = ?, credit_code = ?, legal_rep = ?, address = ?, "
                     "latest_seq = ?, search_text = ? WHERE record_id = ?", (*row[1:], record_id))


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search(db, text: str, limit: int = 50) -> list[CaseRow]:
    """Cases whose number, party, credit code, legal representative or address contains ``text``."""
    query = normalize(text)
    if not query:
        return []
    columns = "c.record_id, c.case_no, c.party_name, c.credit_code, c.legal_rep, c.address, c.latest_seq"
    if len(query) >= 3:
        sql = (f"SELECT {columns} FROM cases_fts JOIN cases c ON c.rowid = cases_fts.rowid "
               "WHERE cases_fts MATCH ? ORDER BY rank, c.latest_seq DESC LIMIT ?")
        params = ('"' + query.replace('"', '""') + '"', limit)
    else:
        sql = (f"SELECT {columns} FROM cases c WHERE c.search_text LIKE ? ESCAPE '\\' "
               "ORDER BY c.latest_seq DESC LIMIT ?")
        params = (f"%{_like_escape(query)}%", limit)
    return [CaseRow(*row) for row in db.execute(sql, params).fetchall()]


def expected_index(entries: Iterable) -> dict[str, tuple]:
    """The index rows the log implies (latest version of each case), for the verifier."""
    rows: dict[str, tuple] = {}
    for entry in entries:
        if entry.entry_type == CASE_ENTRY and entry.record_id:
            try:
                rows[entry.record_id] = index_row(entry.record_id, entry.seq, entry.payload)
            except ValueError:
                continue  # an unreadable payload is reported by the chain check
    return rows
