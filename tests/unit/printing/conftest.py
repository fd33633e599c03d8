"""Printing tests reuse the store fixtures (real SQLCipher store, real SecretService keyring)."""

from tests.unit.store.conftest import data_dir, hq_keys, store  # noqa: F401 (fixtures)
