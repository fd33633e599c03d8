"""A full disk while recording: clear Chinese errors, nothing acknowledged lost, the cut media recoverable.

The disk really fills: the writer runs in a private mount namespace (``unshare -rm``, no root needed on
a normal Linux) on a 5 MB tmpfs, and sees ENOSPC from the kernel (tests/unit/store/disk_full_child.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT
from tests.harness.system import missing_dependency, require_executable


def _unshare_works(tmp_path) -> bool:
    probe = tmp_path / "probe"
    probe.mkdir()
    result = subprocess.run(["unshare", "-rm", "sh", "-c", f"mount -t tmpfs -o size=1m tmpfs {probe}"],
                            capture_output=True, timeout=30)
    return result.returncode == 0


def test_disk_full_loses_nothing_and_says_so_in_chinese(keyring_env, tmp_path):
    require_executable("unshare")
    if not _unshare_works(tmp_path):
        missing_dependency("unprivileged user + mount namespaces (unshare -rm) to make a small tmpfs")
    root = tmp_path / "small-disk"
    root.mkdir()
    script = (f"mount -t tmpfs -o size=5m tmpfs {root} && "
              f"exec {sys.executable} -m tests.unit.store.disk_full_child {root}")
    result = subprocess.run(["unshare", "-rm", "sh", "-c", script], cwd=REPO_ROOT, env=dict(os.environ),
                            capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert len(seen["errors"]) == 2 and all("磁盘空间不足" in e for e in seen["errors"]), seen["errors"]
    assert seen["media_acked"] >= 1 and seen["acked"] > seen["media_acked"]
    assert seen["lost_in_session"] == [] and seen["lost_after_reopen"] == [] and seen["media_missing"] == []
    assert seen["problems_full"] == []
    assert seen["recovered"] and seen["recovered_ok"], seen  # the cut segment's complete chunks came back
    assert seen["problems_after"] == [] and seen["appended_after"] > seen["acked"]
