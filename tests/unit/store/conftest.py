"""Fixtures for the evidence store: the real OS keyring (SecretService), scenario officers and cases
(../shared/SCENARIOS.md), an HQ key pair, and helpers that reach the raw files the way an attacker or a
verifier would."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import sqlcipher3

from field_app.store import Store
from field_app.store.escrow import generate_hq_keypair
from field_app.store.keys import subkey

WANG = ("王建国", "13010220170031", "长安区人社局劳动保障监察大队", "wang-jianguo-2026")
LIU = ("刘晓燕", "13010220190047", "长安区人社局劳动保障监察大队", "liu-xiaoyan-2026")
ZHAO = ("赵志强", "13010220120008", "劳动保障监察大队 大队长", "zhao-zhiqiang-2026")

HENGTAI = dict(case_no="长人社监〔2026〕第0117号", party_name="石家庄恒泰建筑劳务有限公司",
               credit_code="911301025260181593", legal_rep="陈卫东",
               address="石家庄市长安区建设北大街 216 号恒泰大厦 6 层")
KANGNING = dict(case_no="长人社监〔2026〕第0142号", party_name="石家庄康宁民营医院",
                credit_code="521301021860913902", legal_rep="吴海峰", address="长安区广安大街 55 号")


@pytest.fixture(scope="session")
def hq_keys() -> tuple[bytes, bytes]:
    """(private, public) raw X25519 keys of a test HQ."""
    return generate_hq_keypair()


@pytest.fixture
def data_dir(isolated_home) -> Path:
    return isolated_home


@pytest.fixture
def store(keyring_env, data_dir, hq_keys):
    """A new store with 王建国 and 刘晓燕 enrolled, unlocked; closed after the test."""
    created = Store.create(data_dir, officers=[WANG, LIU], hq_public_key=hq_keys[1])
    yield created
    created.close()


def reopen(data_dir: Path, officer=WANG) -> Store:
    opened = Store.open(data_dir)
    opened.unlock(officer[1], officer[3])
    return opened


def file_hashes(directory: Path) -> dict[str, str]:
    """SHA-256 of every file below ``directory`` (to prove nothing changed on disk)."""
    return {str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.rglob("*")) if p.is_file()}


def raw_connection(data_dir: Path, data_key: bytes) -> sqlcipher3.Connection:
    """The database opened directly with the key, as an insider with the key would (no triggers help)."""
    conn = sqlcipher3.connect(str(data_dir / "evidence.db"), isolation_level=None)
    conn.execute(f"PRAGMA key = \"x'{subkey(data_key, 'sqlcipher').hex()}'\"")
    return conn
