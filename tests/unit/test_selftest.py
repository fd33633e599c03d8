"""`field-app self-test` from the venv: the whole chain in a temporary store, cleaned up afterwards."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def _device_secrets() -> int:
    listed = subprocess.run(["secret-tool", "search", "--all", "service", "field-recorder"],
                            capture_output=True, text=True, timeout=30)
    return (listed.stdout + listed.stderr).count("device-secret:")


def test_self_test_passes_and_leaves_nothing_behind(keyring_env, tmp_path, isolated_home):
    before = _device_secrets()
    result = subprocess.run([str(Path(sys.executable).parent / "field-app"), "self-test", "--keep", str(tmp_path)],
                            capture_output=True, text=True, env=dict(os.environ), timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "自检通过" in result.stdout and (tmp_path / "self-test.pdf").stat().st_size > 10_000
    assert not isolated_home.exists() or not any(isolated_home.iterdir()), "self-test wrote into the data dir"
    assert _device_secrets() == before, "the temporary store's device secret was left in the keyring"


def test_self_test_without_a_keyring_fails_in_chinese():
    result = subprocess.run([str(Path(sys.executable).parent / "field-app"), "self-test"], capture_output=True,
                            text=True, env=dict(os.environ), timeout=300)
    assert result.returncode == 1 and "自检失败" in result.stderr and "密钥环" in result.stderr
    assert "Traceback" not in result.stderr
