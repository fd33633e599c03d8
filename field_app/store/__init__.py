"""The evidence store: encrypted database, keys, media vault, append-only signed log. No Qt.

Public API (see docs/store.md)::

    from field_app.store import Store, Officer, StoreError, WrongPassword, StoreLocked

    store = Store.create(data_dir, officers=[("王建国", "13010220170031", "劳动保障监察大队", "…")],
                         hq_public_key=hq_public)            # returns it unlocked
    store = Store.open(data_dir); store.unlock("13010220170031", password)
    entry = store.append("inspection.draft", {...}, record_id="…")
    ref = store.put_media(path_or_stream, media_type="video/mp4")
    problems = field_app.store.verify.verify_store(store)

Names are imported lazily (PEP 562), so ``field-app --version`` and the CLI parser do not pay for
loading SQLCipher and the crypto libraries.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

_ERRORS = ("DeviceSecretMissing", "DiskFull", "InvalidInput", "MediaCorrupt", "MediaError", "MediaMissing",
           "MediaReplaced", "PlaintextDatabase", "StoreBusy", "StoreCorrupt", "StoreError", "StoreExists",
           "StoreLocked", "StoreNotFound", "TooManyAttempts", "WrongPassword")
_EXPORTS = {
    **{name: "field_app.store.errors" for name in _ERRORS},
    "CaseRow": "field_app.store.cases",
    "Checkpoint": "field_app.store.log",
    "Entry": "field_app.store.log",
    "InclusionProof": "field_app.store.merkle",
    "verify_inclusion": "field_app.store.merkle",
    "KeyringUnavailable": "field_app.store.secrets",
    "Officer": "field_app.store.store",
    "Store": "field_app.store.store",
    "MediaRef": "field_app.store.vault",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'field_app.store' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


if TYPE_CHECKING:  # for type checkers and IDEs
    from field_app.store.cases import CaseRow
    from field_app.store.errors import (DeviceSecretMissing, DiskFull, InvalidInput, MediaCorrupt, MediaError,
                                        MediaMissing, MediaReplaced, PlaintextDatabase, StoreBusy, StoreCorrupt,
                                        StoreError, StoreExists, StoreLocked, StoreNotFound, TooManyAttempts,
                                        WrongPassword)
    from field_app.store.log import Checkpoint, Entry
    from field_app.store.merkle import InclusionProof, verify_inclusion
    from field_app.store.secrets import KeyringUnavailable
    from field_app.store.store import Officer, Store
    from field_app.store.vault import MediaRef
