"""`field-app enroll` and `field-app sync` as a user types them (real subprocesses, real HQ)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.fakes.demo_store import fill_demo
from tests.sync.conftest import DEPARTMENT, WANG
from tests.sync.helpers import assert_hq_holds_everything

BIN = Path(sys.executable).parent


def _app(*args, env, data_dir):
    return subprocess.run([str(BIN / "field-app"), "--data-dir", str(data_dir), *args], capture_output=True,
                          text=True, timeout=300, env={**os.environ, **env})


def test_enroll_then_sync_from_the_command_line(store, data_dir, hq, keyring_env, tmp_path):
    fill_demo(store, segments=2)
    store.close()  # the command opens it itself
    password = tmp_path / "pw"
    password.write_text(WANG[3] + "\n", encoding="utf-8")
    auth = ["--officer", WANG[1], "--password-file", str(password)]
    code = hq.admin("enrolment-code", "--department", DEPARTMENT).strip()
    bad = _app("enroll", "--hq", hq.url, "--code", "0000-0000-0000-0000", *auth, env=keyring_env, data_dir=data_dir)
    assert bad.returncode == 2 and "登记码不正确" in bad.stderr and "Traceback" not in bad.stderr
    done = _app("enroll", "--hq", hq.url, "--code", code, *auth, env=keyring_env, data_dir=data_dir)
    assert done.returncode == 0, done.stderr
    assert DEPARTMENT in done.stdout
    first = _app("sync", *auth, env=keyring_env, data_dir=data_dir)
    assert first.returncode == 0, first.stderr
    assert "同步完成" in first.stdout and "发送记录" in first.stderr  # phase lines when not on a terminal
    second = _app("sync", *auth, env=keyring_env, data_dir=data_dir)
    assert second.returncode == 0 and "发送 0 条记录、0 个音像文件" in second.stdout
    from tests.unit.store.conftest import reopen

    again = reopen(data_dir)
    try:
        assert_hq_holds_everything(hq, again)
    finally:
        again.close()


def test_sync_before_enrolling_says_what_to_do(store, data_dir, keyring_env, tmp_path):
    store.close()
    password = tmp_path / "pw"
    password.write_text(WANG[3] + "\n", encoding="utf-8")
    result = _app("sync", "--officer", WANG[1], "--password-file", str(password), env=keyring_env, data_dir=data_dir)
    assert result.returncode == 2
    assert "尚未登记" in result.stderr and "field-app enroll" in result.stderr
