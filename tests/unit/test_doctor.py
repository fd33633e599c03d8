"""`field-app doctor` run as IT runs it: a real subprocess against real services."""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent


def doctor(extra_env: dict[str, str] | None = None, *args: str) -> tuple[int, dict | str]:
    env = dict(os.environ, **(extra_env or {}))
    result = subprocess.run([str(BIN / "field-app"), "doctor", *args], capture_output=True, text=True,
                            env=env, timeout=180)
    assert "Traceback" not in result.stderr + result.stdout
    if "--json" in args:
        return result.returncode, {c["key"]: c for c in json.loads(result.stdout)["checks"]}
    return result.returncode, result.stdout


def test_report_names_each_capability(keyring_env, audio_env, isolated_home):
    code, checks = doctor({**keyring_env, **audio_env}, "--json")
    assert checks["keyring"]["status"] == "正常"
    assert "SecretService" in checks["keyring"]["detail"]
    assert checks["microphone"]["status"] == "正常"
    assert checks["pdf_font"]["status"] == "正常"
    assert checks["encoder"]["status"] == "正常" and "H.264/AAC" in checks["encoder"]["detail"]
    assert checks["qt"]["status"] == "正常" and "offscreen" in checks["qt"]["detail"]
    assert checks["disk"]["status"] in {"正常", "警告"} and str(isolated_home) in checks["disk"]["detail"]
    if not glob.glob("/dev/video*"):  # this machine: no camera, and doctor must say so
        assert checks["camera"]["status"] == "错误"
        assert "未找到摄像头" in checks["camera"]["detail"]
        assert code == 1
    else:
        assert code == (0 if checks["camera"]["status"] != "错误" else 1)


def test_plain_report_has_a_verdict_and_advice(keyring_env, audio_env):
    code, text = doctor({**keyring_env, **audio_env})
    assert text.startswith("执法全过程记录 设备自检")
    assert "结论：" in text
    if code == 1:
        assert "处理办法：" in text


def test_without_a_keyring_the_report_says_so():
    code, checks = doctor({}, "--json")  # the harness gives no session bus
    assert checks["keyring"]["status"] == "错误"
    assert "密钥环" in checks["keyring"]["detail"]
    assert code == 1


def test_plaintext_keyring_backend_is_an_error(keyring_env):
    # keyring honours PYTHON_KEYRING_BACKEND; the null backend stands for any non-OS store.
    code, checks = doctor({**keyring_env, "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}, "--json")
    assert checks["keyring"]["status"] == "错误"
    assert "keyring.backends.null.Keyring" in checks["keyring"]["detail"]
    assert code == 1


def test_unwritable_data_dir_is_an_error(tmp_path):
    blocked = tmp_path / "file-not-dir"
    blocked.write_text("x")
    env = dict(os.environ)
    result = subprocess.run([str(BIN / "field-app"), "--data-dir", str(blocked / "data"), "doctor", "--json"],
                            capture_output=True, text=True, env=env, timeout=180)
    checks = {c["key"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["disk"]["status"] == "错误" and "无法写入" in checks["disk"]["detail"]
    assert result.returncode == 1


def test_no_display_is_reported_not_crashed():
    env = {k: v for k, v in os.environ.items() if k not in {"QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"}}
    result = subprocess.run([str(BIN / "field-app"), "doctor", "--json"], capture_output=True, text=True,
                            env=env, timeout=180)
    checks = {c["key"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["qt"]["status"] == "错误" and "图形显示" in checks["qt"]["detail"]


def test_a_broken_capture_config_is_an_error_not_a_silent_default(isolated_home):
    isolated_home.mkdir(parents=True, exist_ok=True)
    (isolated_home / "capture.json").write_text('{"camera": "synthetic", "fps": "fast"}', encoding="utf-8")
    code, checks = doctor({}, "--json")
    assert checks["encoder"]["status"] == "错误" and "fps" in checks["encoder"]["detail"]
    assert code == 1


def test_synthetic_sources_in_the_capture_config_are_a_warning_not_a_pass(isolated_home):
    isolated_home.mkdir(parents=True, exist_ok=True)
    (isolated_home / "capture.json").write_text('{"camera": "synthetic", "microphone": "synthetic"}', encoding="utf-8")
    _code, checks = doctor({}, "--json")
    for key in ("camera", "microphone"):
        assert checks[key]["status"] == "警告" and "不能作为证据" in checks[key]["detail"]
    assert checks["encoder"]["status"] == "正常"
