"""Where the app keeps its data and finds its bundled resources.

Precedence for the data directory: ``--data-dir`` > env ``FIELD_APP_DATA`` > the platform's user data
directory (platformdirs). Everything the officer records lives below it, so a wrong choice here is the
difference between "my records are gone" and "my records are in the other folder": the UI and the
doctor always show the directory in use.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

APP_DIR_NAME = "field-recorder"
DATA_ENV = "FIELD_APP_DATA"


def default_data_dir() -> Path:
    """The platform's per-user data directory for the app (not created)."""
    return Path(platformdirs.user_data_dir(APP_DIR_NAME, appauthor=False))


def resolve_data_dir(cli_value: str | os.PathLike[str] | None = None) -> Path:
    """The data directory to use, absolute, following the documented precedence (not created)."""
    if cli_value:
        chosen = Path(cli_value)
    elif os.environ.get(DATA_ENV):
        chosen = Path(os.environ[DATA_ENV])
    else:
        chosen = default_data_dir()
    return chosen.expanduser().resolve()


def resources_dir() -> Path:
    """The bundled ``resources/`` folder (fonts, icons), in a source checkout or a PyInstaller bundle."""
    bundle_root = getattr(sys, "_MEIPASS", None)
    if bundle_root:
        return Path(bundle_root) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


def self_command() -> list[str]:
    """argv prefix that re-runs this program (venv: ``python -m field_app``; bundle: the executable)."""
    if getattr(sys, "frozen", False):
        return [sys.executable]
    return [sys.executable, "-m", "field_app"]
