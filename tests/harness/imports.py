"""The project's own import rule, checked from source text: only field_app/ui may import Qt directly.

import-linter (configured in pyproject.toml) checks the layer contracts transitively; this check
catches a direct Qt import anywhere outside the UI, including modules no contract names.
"""

from __future__ import annotations

import ast
from pathlib import Path

QT_ROOTS = {"PySide6", "shiboken6", "PyQt5", "PyQt6"}
PACKAGES = ("field_app", "forms", "sync")


def direct_qt_imports(root: Path) -> list[str]:
    """``path:line module`` for every Qt import outside field_app/ui under ``root``."""
    offenders = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            rel = path.relative_to(root)
            if rel.parts[:2] == ("field_app", "ui"):
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                names = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    names = [node.module]
                for name in names:
                    if name.split(".")[0] in QT_ROOTS:
                        offenders.append(f"{rel}:{node.lineno} {name}")
    return offenders
