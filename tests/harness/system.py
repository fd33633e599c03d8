"""Missing system dependencies: a skip on a developer's machine, a failure under CI (CI=true)."""

from __future__ import annotations

import os
import shutil

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def missing_dependency(what: str) -> None:
    """Skip locally, fail under CI: CI must prove the whole suite ran."""
    message = f"missing system dependency: {what} (install with `make test`, see README)"
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def require_executable(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        missing_dependency(f"executable {name!r}")
    return path
