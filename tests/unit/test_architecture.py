"""The layer contracts of docs/architecture.md, and proof that breaking them fails the suite."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT
from tests.harness.imports import PACKAGES, direct_qt_imports


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).parent / "lint-imports"
    env = dict(os.environ, PYTHONPATH=str(root))
    return subprocess.run([str(exe), "--config", str(root / "pyproject.toml"), "--no-cache"],
                          cwd=root, env=env, capture_output=True, text=True, timeout=120)


def test_import_contracts_hold():
    result = lint_imports(REPO_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 5 kept, 0 broken" in result.stdout


def test_only_the_ui_imports_qt_directly():
    assert direct_qt_imports(REPO_ROOT) == []


def _copy_tree(dest: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(REPO_ROOT / package, dest / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO_ROOT / "pyproject.toml", dest / "pyproject.toml")
    return dest


def test_planting_qt_in_core_is_caught(tmp_path):
    root = _copy_tree(tmp_path)
    (root / "field_app/core/planted.py").write_text("import PySide6\n", encoding="utf-8")
    result = lint_imports(root)
    assert result.returncode != 0
    assert "field_app.core.planted -> PySide6" in result.stdout
    assert direct_qt_imports(root) == ["field_app/core/planted.py:1 PySide6"]


def test_qt_reached_through_the_ui_from_the_store_is_caught(tmp_path):
    root = _copy_tree(tmp_path)
    (root / "field_app/store/planted.py").write_text(
        "def f():\n    from field_app.ui import main_window\n", encoding="utf-8")
    result = lint_imports(root)
    assert result.returncode != 0
    assert "Below the UI, nothing imports the UI BROKEN" in result.stdout
    assert "Below the UI, nothing imports Qt BROKEN" in result.stdout  # via ui.main_window


def test_hq_server_importing_the_app_is_caught(tmp_path):
    root = _copy_tree(tmp_path)
    (root / "sync/server/planted.py").write_text("import field_app.paths\n", encoding="utf-8")
    result = lint_imports(root)
    assert result.returncode != 0
    assert "The HQ server never imports the laptop app BROKEN" in result.stdout


def test_sync_client_importing_the_app_is_caught(tmp_path):
    root = _copy_tree(tmp_path)
    (root / "sync/client/planted.py").write_text("from field_app.store import Store\n", encoding="utf-8")
    result = lint_imports(root)
    assert result.returncode != 0
    assert "The sync client never imports the laptop app (it is handed the store) BROKEN" in result.stdout
