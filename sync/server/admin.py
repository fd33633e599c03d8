"""HQ administration and pull data: departments, officers (the roster), enrolment codes, device
enrolment, case assignments, form/procedure definitions. One function per operation; the CLI and the
API call these.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import unicodedata
from pathlib import Path

from sync.protocol import auth
from sync.protocol.canonical import canonical_json, sha256 as sha256_bytes
from sync.protocol.chain import STORE_ID_RE, signature_ok
from sync.protocol.errors import Code, ProtocolError
from sync.protocol.receipt import enrolment_signed_body
from sync.server.db import Database, Tx
from sync.server.identity import Identity
from sync.server.ingest import new_device_row, now_ns

CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
ROLES = ("officer", "supervisor", "admin")


class AdminError(RuntimeError):
    """An administrator's request cannot be done. ``str()`` is Chinese."""


def audit(tx: Tx, actor: str, action: str, detail: dict) -> None:
    tx.execute("INSERT INTO audit (at_ns, actor, action, detail) VALUES (?, ?, ?, ?)",
               (now_ns(), actor, action, json.dumps(detail, ensure_ascii=False)))


def _clean(text: str, what: str) -> str:
    text = unicodedata.normalize("NFC", str(text or "")).strip()
    if not text or len(text) > 200:
        raise AdminError(f"{what}不能为空，且不超过 200 个字。")
    return text


# --- departments and officers ----------------------------------------------------------------------

def add_department(db: Database, name: str, actor: str = "cli") -> bool:
    """Create a department; False if it already exists (idempotent)."""
    name = _clean(name, "部门名称")
    with db.transaction() as tx:
        added = tx.execute("INSERT INTO departments (name, created_ns) VALUES (?, ?) ON CONFLICT DO NOTHING",
                           (name, now_ns())) == 1
        if added:
            audit(tx, actor, "department.add", {"name": name})
    return added


def _require_department(tx: Tx, name: str) -> str:
    name = _clean(name, "部门名称")
    if tx.one("SELECT 1 FROM departments WHERE name = ?", (name,)) is None:
        raise AdminError(f"没有名为“{name}”的部门。请先用 field-hq add-department 创建。")
    return name


def add_officer(db: Database, name: str, cert_no: str, department: str, role: str = "officer",
                actor: str = "cli") -> None:
    """Add an officer (or another HQ user) to the roster, or update name/department/role of an existing 执法证号."""
    name, cert_no = _clean(name, "姓名"), _clean(cert_no, "执法证号")
    if any(c.isspace() for c in cert_no):
        raise AdminError("执法证号中不能有空格。")
    if role not in ROLES:
        raise AdminError(f"角色只能是 {'、'.join(ROLES)} 之一。")
    with db.transaction() as tx:
        department = _require_department(tx, department)
        tx.execute("INSERT INTO officers (cert_no, name, department, role, active, created_ns) VALUES (?, ?, ?, ?, 1, ?) "
                   "ON CONFLICT (cert_no) DO UPDATE SET name = excluded.name, department = excluded.department, "
                   "role = excluded.role, active = 1", (cert_no, name, department, role, now_ns()))
        audit(tx, actor, "officer.add", {"cert_no": cert_no, "name": name, "department": department, "role": role})


def roster(tx: Tx, department: str) -> dict:
    """The roster a device of ``department`` receives: all department names, that department's officers."""
    departments = [r[0] for r in tx.all("SELECT name FROM departments ORDER BY name")]
    officers = [{"name": n, "cert_no": c, "department": d, "role": r, "active": bool(a)} for n, c, d, r, a in tx.all(
        "SELECT name, cert_no, department, role, active FROM officers WHERE department = ? ORDER BY cert_no",
        (department,))]
    body = {"department": department, "departments": departments, "officers": officers}
    return {"v": 1, **body, "version": sha256_bytes(canonical_json(body)).hex()}


# --- enrolment codes and enrolment -------------------------------------------------------------------

normalize_code = auth.normalize_enrolment_code


def _code_hash(code: str) -> str:
    return hashlib.sha256(b"field-recorder/enrolment-code/v1\n" + normalize_code(code).encode()).hexdigest()


def new_enrolment_code(db: Database, department: str, valid_hours: float = 72, actor: str = "cli") -> str:
    """A one-time code (80 random bits, shown as XXXX-XXXX-XXXX-XXXX) for one device of ``department``.
    Only its hash is stored."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(16))
    code = "-".join(raw[i:i + 4] for i in range(0, 16, 4))
    with db.transaction() as tx:
        department = _require_department(tx, department)
        created = now_ns()
        tx.execute("INSERT INTO enrolment_codes (code_hash, department, created_ns, expires_ns) VALUES (?, ?, ?, ?)",
                   (_code_hash(code), department, created, created + int(valid_hours * 3600e9)))
        audit(tx, actor, "enrolment_code.new", {"department": department, "valid_hours": valid_hours})
    return code


def enrol(db: Database, identity: Identity, request: dict) -> dict:
    """Register a device (see docs/protocol.md, 登记). Idempotent for the same device and key; a code is
    consumed by the first device that uses it. Returns the signed answer."""
    try:
        device_id, device_key_hex = request["device_id"], request["device_key"]
        device_key = bytes.fromhex(device_key_hex)
        proof = bytes.fromhex(request["proof"])
        escrow, name, officers = request["escrow"], str(request.get("name", ""))[:200], request.get("officers", [])
        if not STORE_ID_RE.match(device_id) or len(device_key) != 32 or not isinstance(escrow, dict) \
                or not isinstance(officers, list) or not all(isinstance(o, str) for o in officers):
            raise ValueError("shape")
    except (KeyError, TypeError, ValueError) as exc:
        raise ProtocolError(Code.MALFORMED_REQUEST, detail={"why": f"enrolment request: {exc}"}) from None
    unsigned = canonical_json({k: v for k, v in request.items() if k != "proof"})
    if not signature_ok(device_key, auth.ENROL_DOMAIN, unsigned, proof):
        raise ProtocolError(Code.ENROL_BAD_PROOF)
    if identity.escrow_public_key is not None and escrow.get("hq_public_key") != identity.escrow_public_key.hex():
        raise ProtocolError(Code.ENROL_ESCROW_MISMATCH)
    code = str(request.get("code", ""))
    now = now_ns()
    with db.transaction() as tx:
        row = tx.one("SELECT department, expires_ns, used_by FROM enrolment_codes WHERE code_hash = ?",
                     (_code_hash(code),))
        if row is None:
            raise ProtocolError(Code.ENROL_CODE_INVALID)
        department, expires, used_by = row
        if used_by is not None and used_by != device_id:
            raise ProtocolError(Code.ENROL_CODE_USED)
        if used_by is None and expires < now:
            raise ProtocolError(Code.ENROL_CODE_EXPIRED)
        existing = tx.one("SELECT public_key FROM devices WHERE device_id = ?", (device_id,))
        if existing is not None and existing[0] != device_key_hex:
            raise ProtocolError(Code.ENROL_DEVICE_CONFLICT)
        if existing is None:
            head = new_device_row(device_id)
            tx.execute("INSERT INTO devices (device_id, public_key, department, escrow, name, officers, enrolled_ns, "
                       "active, head_size, head_hash, frontier) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)",
                       (device_id, device_key_hex, department, json.dumps(escrow), name,
                        json.dumps(officers, ensure_ascii=False), now, head["head_size"], head["head_hash"],
                        head["frontier"]))
        else:
            tx.execute("UPDATE devices SET department = ?, escrow = ?, name = ?, officers = ? WHERE device_id = ?",
                       (department, json.dumps(escrow), name, json.dumps(officers, ensure_ascii=False), device_id))
        if used_by is None:
            tx.execute("UPDATE enrolment_codes SET used_by = ?, used_ns = ? WHERE code_hash = ?",
                       (device_id, now, _code_hash(code)))
            audit(tx, f"device:{device_id}", "device.enrol", {"department": department, "name": name})
        answer = {"v": 1, "hq_id": identity.hq_id, "hq_key": identity.public_key.hex(),
                  "escrow_public_key": identity.escrow_public_key.hex() if identity.escrow_public_key else None,
                  "device_id": device_id, "department": department, "roster": roster(tx, department), "time_ns": now}
    signed = enrolment_signed_body(answer)
    answer["signature"] = identity.sign(signed).hex()
    answer["code_mac"] = hmac.new(normalize_code(code).encode(), signed, hashlib.sha256).hexdigest()
    return answer


# --- assignments and definitions -------------------------------------------------------------------

def assign_case(db: Database, case_no: str, party_name: str, department: str, officers: list[str],
                credit_code: str = "", note: str = "", actor: str = "cli") -> str:
    """Assign a case to a department (and optionally officers); devices of it pull the assignment."""
    case_no, party_name = _clean(case_no, "案件编号"), _clean(party_name, "当事人名称")
    ident = "asg-" + secrets.token_hex(8)
    with db.transaction() as tx:
        department = _require_department(tx, department)
        for cert in officers:
            if tx.one("SELECT 1 FROM officers WHERE cert_no = ?", (cert,)) is None:
                raise AdminError(f"名册中没有执法证号为 {cert} 的执法人员。")
        tx.execute("INSERT INTO assignments (id, case_no, party_name, credit_code, department, officers, note, "
                   "created_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   (ident, case_no, party_name, credit_code, department, json.dumps(officers), note, now_ns()))
        audit(tx, actor, "case.assign", {"id": ident, "case_no": case_no, "department": department})
    return ident


def assignments(tx: Tx, department: str) -> list[dict]:
    return [{"id": i, "case_no": c, "party_name": p, "credit_code": cc, "department": d, "officers": json.loads(o),
             "note": n, "created_ns": t} for i, c, p, cc, d, o, n, t in tx.all(
        "SELECT id, case_no, party_name, credit_code, department, officers, note, created_ns FROM assignments "
        "WHERE department = ? ORDER BY created_ns, id", (department,))]


def definitions(forms_root: Path, have: dict[str, str]) -> dict:
    """Published definitions the device lacks (new versions only). ``conflicts`` lists paths the device
    has with another hash (a published file never changes, so that device's copy is suspect)."""
    from forms.loader import file_digest, read_manifest

    manifest = read_manifest(forms_root)
    files, conflicts = [], []
    for rel, digest in sorted(manifest.items()):
        if rel in have:
            if have[rel] != digest:
                conflicts.append(rel)
            continue
        path = forms_root / rel
        if path.is_file() and file_digest(path) == digest:
            files.append({"path": rel, "sha256": digest,
                          "content": path.read_bytes().replace(b"\r\n", b"\n").decode("utf-8")})
    return {"v": 1, "files": files, "conflicts": conflicts}
