"""Canonical JSON: the exact bytes that get hashed and signed.

Rules: keys sorted, no whitespace, UTF-8 (not ASCII-escaped), no NaN or infinity, only JSON types
(dict with str keys, list/tuple, str, int, float, bool, None). The same value always gives the same
bytes; a value that cannot be represented exactly is refused instead of being silently converted
(e.g. a dict with int keys, which ``json.dumps`` would turn into strings).

Shared by the laptop's store (``field_app.store.canonical`` re-exports it) and the HQ server: both
must produce the same bytes, so there is exactly one implementation. Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any


class NotCanonical(ValueError):
    """The value cannot be written as canonical JSON. ``str()`` is Chinese."""


def _check(value: Any, path: str) -> None:
    if value is None or isinstance(value, (bool, str, int)):
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise NotCanonical(f"数据中 {path} 含有无法编码的字符") from exc
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise NotCanonical(f"数据中 {path} 不是有效数字（NaN 或无穷大）")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise NotCanonical(f"数据中 {path} 的键 {key!r} 不是文字")
            _check(item, f"{path}.{key}")
        return
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _check(item, f"{path}[{index}]")
        return
    raise NotCanonical(f"数据中 {path} 的类型 {type(value).__name__} 不能保存")


def canonical_json(value: Any) -> bytes:
    """The canonical UTF-8 bytes of ``value``; raises NotCanonical for anything not plain JSON."""
    _check(value, "$")
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      allow_nan=False).encode("utf-8")


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()
