"""HQ server tests reuse the sync fixtures (real HQ subprocess, real store, real keyring)."""

from tests.sync.conftest import data_dir, hq, hq_factory, hq_keys, pg_dsn, store  # noqa: F401 (fixtures)
