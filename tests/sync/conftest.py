"""Sync tests: a real HQ (``field-hq serve`` subprocess on a random loopback port), a real evidence
store with the real OS keyring, and an enrolled client."""

from __future__ import annotations

import pytest

from tests.harness.hq import HQProcess, ThrowawayDatabase, require_postgres, setup_hq
from tests.unit.store.conftest import LIU, WANG, data_dir, hq_keys, store  # noqa: F401 (fixtures)

DEPARTMENT = "长安区人社局劳动保障监察大队"
FAST = dict(timeout_seconds=3.0, backoff_seconds=0.05, backoff_max_seconds=0.2)


@pytest.fixture
def hq_factory(tmp_path, hq_keys):
    """``make(db=None, chunk_mib=4)`` → a running HQProcess set up with the test escrow key, the
    department and both officers. All are stopped after the test."""
    started: list[HQProcess] = []

    def make(db: str | None = None, chunk_mib: int = 4, name: str = "hq", extra: tuple = ()) -> HQProcess:
        data = tmp_path / name
        setup_hq(data, hq_keys[1], db, DEPARTMENT, ((WANG[0], WANG[1]), (LIU[0], LIU[1])))
        hq = HQProcess(data, db, chunk_mib, extra).start()
        started.append(hq)
        return hq

    yield make
    for hq in started:
        hq.stop()


@pytest.fixture
def hq(hq_factory) -> HQProcess:
    return hq_factory()


@pytest.fixture
def pg_dsn():
    require_postgres()
    with ThrowawayDatabase() as dsn:
        yield dsn


def enrol_store(store, data_dir, hq: HQProcess, url: str | None = None, **config):
    """Enrol ``store`` with a fresh code; returns the SyncConfig saved for it (with fast retries)."""
    from sync.client import SyncConfig, enrol

    code = hq.admin("enrolment-code", "--department", DEPARTMENT).strip()
    enrol(store, data_dir, url or hq.url, code)
    cfg = SyncConfig.load(data_dir)
    for key, value in {**FAST, **config}.items():
        setattr(cfg, key, value)
    cfg.save(data_dir)
    return cfg
