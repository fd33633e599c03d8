"""The `field-app` and `field-hq` commands as a user types them (real subprocesses)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from field_app import __version__
from field_app.paths import resolve_data_dir

BIN = Path(sys.executable).parent


def run(cmd: list[str], env_update: dict[str, str] | None = None, drop: tuple[str, ...] = ()):
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(env_update or {})
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)


def test_version():
    result = run([str(BIN / "field-app"), "--version"])
    assert result.returncode == 0
    assert result.stdout.strip() == f"field-app {__version__}"


def test_field_hq_help_is_chinese_and_exits_zero():
    result = run([str(BIN / "field-hq"), "--help"])
    assert result.returncode == 0
    assert "局端服务器" in result.stdout


def test_data_dir_precedence(tmp_path, monkeypatch, isolated_home):
    # env FIELD_APP_DATA (set by the harness) overrides the platform default …
    assert resolve_data_dir() == isolated_home.resolve()
    # … the command-line option overrides the env …
    assert resolve_data_dir(tmp_path / "cli") == (tmp_path / "cli").resolve()
    # … and without either, the platform's user data dir under HOME is used.
    monkeypatch.delenv("FIELD_APP_DATA")
    assert resolve_data_dir() == Path(os.environ["XDG_DATA_HOME"]).resolve() / "field-recorder"


def test_gui_without_a_display_says_how_to_run_it():
    result = run([str(BIN / "field-app")], drop=("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))
    assert result.returncode == 2
    assert "未检测到图形显示" in result.stderr
    assert "xvfb-run" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_subcommand_is_refused():
    result = run([str(BIN / "field-app"), "nonsense"])
    assert result.returncode == 2
    assert "invalid choice" in result.stderr or "无效" in result.stderr


def test_every_subcommand_and_option_is_documented_in_the_readme():
    import argparse

    from field_app.cli import build_parser
    from tests.conftest import REPO_ROOT

    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    parser = build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name in action.choices:
                if not name.startswith("_"):
                    assert f"field-app {name}" in readme, f"subcommand {name} not in README"
        else:
            for flag in action.option_strings:
                if flag.startswith("--") and flag != "--help":
                    assert flag in readme, f"option {flag} not in README"
