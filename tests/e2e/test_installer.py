"""The PyInstaller bundle: built from this checkout, its own `field-app self-test` and `doctor` run."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.harness.system import missing_dependency


@pytest.mark.slow
@pytest.mark.timeout(1500)  # the PyInstaller build alone may take up to 900 s on a loaded machine
def test_bundle_builds_and_passes_its_self_test(tmp_path, keyring_env):
    if not (Path(os.environ.get("VENV", REPO_ROOT / ".venv")) / "bin" / "pyinstaller").exists():
        missing_dependency("pyinstaller in the venv (the `build` extra)")
    env = dict(os.environ, DIST=str(tmp_path / "dist"), WORK=str(tmp_path / "work"))
    built = subprocess.run([str(REPO_ROOT / "scripts" / "build-installer.sh")], cwd=REPO_ROOT, env=env,
                           capture_output=True, text=True, timeout=900)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-4000:]
    exe = tmp_path / "dist" / "field-app" / "field-app"
    assert list((tmp_path / "dist").glob("field-app-*-linux-*.tar.gz"))
    # No system GTK dragged in through Qt's theme plugin: neither the plugin nor the stack it links.
    assert not list((tmp_path / "dist").rglob("libqgtk3*"))
    assert not [p.name for p in (tmp_path / "dist").rglob("*") if p.name.startswith(("libgtk-3", "libgdk-3", "libatk-1"))]

    clean_env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    clean_env["QT_QPA_PLATFORM"] = "offscreen"
    version = subprocess.run([str(exe), "--version"], capture_output=True, text=True, env=clean_env, timeout=120)
    assert version.returncode == 0 and version.stdout.startswith("field-app ")
    selftest = subprocess.run([str(exe), "self-test", "--keep", str(tmp_path / "out")], capture_output=True,
                              text=True, env=clean_env, timeout=300)
    assert selftest.returncode == 0, selftest.stdout + selftest.stderr
    assert "自检通过" in selftest.stdout
    pdf_text = subprocess.run(["pdftotext", str(tmp_path / "out" / "self-test.pdf"), "-"], capture_output=True,
                              text=True, timeout=60).stdout
    assert "检查（勘验）笔录" in pdf_text and "第1页" in pdf_text
    doctor = subprocess.run([str(exe), "doctor"], capture_output=True, text=True, env=clean_env, timeout=300)
    assert doctor.returncode in (0, 1) and "结论：" in doctor.stdout and "Traceback" not in doctor.stderr
    assert "[正常] 录像编码" in doctor.stdout and "[正常] 打印用中文字体" in doctor.stdout
