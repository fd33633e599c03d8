"""Enrolling this laptop's evidence store with HQ (``field-app enroll --hq URL --code CODE``).

The device proves it holds its key (an Ed25519 signature over the request under the enrolment
domain); HQ answers with its receipt-signing key, department and roster, signed by that key and
authenticated with an HMAC keyed by the one-time code — so a machine in the middle that does not know
the code cannot pose as HQ, even over a link without TLS. The answer is recorded in the store as a
``sync.enrolled`` entry (record ``sync.enrolment``): the pinned HQ key comes from there, not from a
settings file someone could edit.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
from dataclasses import dataclass
from pathlib import Path

from sync.client.config import SyncConfig
from sync.client.errors import SyncError
from sync.client.storeapi import SyncStore
from sync.client.transport import Transport
from sync.protocol import auth
from sync.protocol.canonical import canonical_json
from sync.protocol.chain import signature_ok
from sync.protocol.receipt import ENROLMENT_DOMAIN, enrolment_signed_body

ENROLMENT_RECORD = "sync.enrolment"
ROSTER_RECORD = "sync.roster"


@dataclass(frozen=True)
class Enrolment:
    hq_url: str
    hq_id: str
    hq_key: bytes
    department: str
    escrow_public_key: str | None


def current_enrolment(store: SyncStore) -> Enrolment | None:
    """The latest ``sync.enrolled`` entry of the store, or None if never enrolled."""
    versions = store.record_versions(ENROLMENT_RECORD)
    if not versions:
        return None
    p = versions[-1].payload
    return Enrolment(p["hq_url"], p["hq_id"], bytes.fromhex(p["hq_key"]), p["department"], p.get("escrow_public_key"))


def enrol(store: SyncStore, data_dir: Path, hq_url: str, code: str, *, ca_file: str | None = None,
          name: str | None = None, timeout: float = 30.0) -> Enrolment:
    """Register the store with HQ and record the answer. Safe to repeat with the same code (HQ answers
    the same device again). Raises SyncError (Chinese) on any refusal or check failure; then nothing is
    recorded."""
    transport = Transport(hq_url, ca_file=ca_file, timeout=timeout)
    try:
        transport.measure_clock()
        request = {"v": 1, "code": code.strip(), "device_id": store.store_id,
                   "device_key": store.device_public_key.hex(), "escrow": store.header.escrow,
                   "name": (name or socket.gethostname())[:200], "officers": list(store.enrolled_cert_nos),
                   "time_ms": transport.now_ms()}
        request["proof"] = store.device_sign("enrol", canonical_json(request)).hex()
        answer = transport.request("POST", "/v1/enrol", json.dumps(request, ensure_ascii=False).encode("utf-8"),
                                   signed=False)
    except Exception as exc:
        raise SyncError.wrap(exc, "登记") from exc
    finally:
        transport.close()
    _check_answer(store, answer, code)
    enrolment = Enrolment(hq_url, answer["hq_id"], bytes.fromhex(answer["hq_key"]), answer["department"],
                          answer.get("escrow_public_key"))
    previous = store.record_versions(ENROLMENT_RECORD)
    store.append("sync.enrolled", {"hq_url": hq_url, "hq_id": enrolment.hq_id, "hq_key": enrolment.hq_key.hex(),
                                   "department": enrolment.department, "escrow_public_key": enrolment.escrow_public_key,
                                   "hq_time_ns": answer["time_ns"], "clock_offset_ms": transport.clock_offset_ms},
                 record_id=ENROLMENT_RECORD, supersedes=previous[-1].seq if previous else None)
    from sync.client.pull import record_roster

    record_roster(store, answer["roster"])
    config = SyncConfig.load(data_dir)
    config.hq_url, config.ca_file = hq_url, ca_file
    config.save(data_dir)
    return enrolment


def _check_answer(store: SyncStore, answer: dict, code: str) -> None:
    try:
        signed = enrolment_signed_body(answer)
        hq_key = bytes.fromhex(answer["hq_key"])
        mac = hmac.new(auth.normalize_enrolment_code(code).encode(), signed, hashlib.sha256).hexdigest()
        genuine = (hmac.compare_digest(mac, str(answer["code_mac"]))
                   and signature_ok(hq_key, b"", signed, bytes.fromhex(answer["signature"]))
                   and signed.startswith(ENROLMENT_DOMAIN))
    except (KeyError, TypeError, ValueError):
        genuine = False
    if not genuine:
        raise SyncError("局端的登记回答无法验证（不是持有这个登记码的局端发来的），没有登记。请核对局端地址。")
    if answer.get("device_id") != store.store_id:
        raise SyncError("局端登记的设备编号与本机证据库不符，没有登记。")
    escrow = answer.get("escrow_public_key")
    if escrow and escrow != store.header.escrow.get("hq_public_key"):
        raise SyncError("本机证据库的托管密钥不是这个局端的恢复公钥，局端将无法恢复它。请联系局端管理员。")
