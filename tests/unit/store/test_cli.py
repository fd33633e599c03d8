"""`field-app verify / checkpoint / recover` as IT would run them: real subprocesses, real keyring."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from field_app.cli import build_parser
from tests.unit.store.conftest import HENGTAI, LIU, WANG, file_hashes, raw_connection, reopen

FIELD_APP = str(Path(sys.executable).parent / "field-app")


def field_app(data_dir: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([FIELD_APP, "--data-dir", str(data_dir), *args], capture_output=True, text=True,
                          input=stdin, env=dict(os.environ), timeout=120)


def password_file(tmp_path: Path, password: str, name: str = "pw.txt") -> str:
    path = tmp_path / name
    path.write_text(password + "\n", encoding="utf-8")
    path.chmod(0o600)
    return str(path)


@pytest.fixture
def closed(store, data_dir):
    store.add_case(**HENGTAI)
    store.append("form.2-5", {"findings": "37名工人未签书面劳动合同"})
    store.close()
    return data_dir


def test_verify_exits_zero_with_a_one_line_summary_on_an_untouched_store(closed, tmp_path):
    result = field_app(closed, "verify", "--officer", WANG[1], "--password-file", password_file(tmp_path, WANG[3]))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines() == [result.stdout.strip()]
    assert result.stdout.startswith("校验通过：5 条记录")


def test_the_data_dir_may_also_follow_the_subcommand(closed, tmp_path):
    result = subprocess.run([FIELD_APP, "verify", "--data-dir", str(closed), "--officer", WANG[1],
                             "--password-file", password_file(tmp_path, WANG[3])],
                            capture_output=True, text=True, env=dict(os.environ), timeout=120)
    assert result.returncode == 0 and "校验通过" in result.stdout, result.stderr


def test_verify_reads_the_password_at_a_prompt(closed):
    result = field_app(closed, "verify", "--officer", LIU[1], stdin=LIU[3] + "\n")
    assert result.returncode == 0, result.stderr
    assert "校验通过" in result.stdout


def test_verify_lists_each_problem_and_exits_one(closed, tmp_path):
    conn = raw_connection(closed, _key(closed))  # an insider with the key edits an entry
    conn.execute("DROP TRIGGER log_no_update")
    conn.execute("UPDATE log SET payload = replace(payload, '37', '3') WHERE seq = 5")
    conn.close()
    result = field_app(closed, "verify", "--officer", WANG[1], "--password-file", password_file(tmp_path, WANG[3]))
    assert result.returncode == 1
    assert result.stdout.splitlines()[0].startswith("[错误·entry_altered] 第 5 条记录：")
    assert "校验发现 1 个问题" in result.stdout


def _key(data_dir: Path) -> bytes:
    opened = reopen(data_dir)
    key = bytes(opened._data_key)
    opened.close()
    return key


def test_wrong_password_unknown_officer_and_missing_store_are_plain_chinese(closed, tmp_path):
    before = file_hashes(closed)
    wrong = field_app(closed, "verify", "--officer", WANG[1], "--password-file", password_file(tmp_path, "nope-nope-nope"))
    assert wrong.returncode == 2 and "密码不正确" in wrong.stderr
    nobody = field_app(closed, "verify", "--password-file", password_file(tmp_path, "nope-nope-nope", "n.txt"))
    assert nobody.returncode == 2 and "可用 --officer 指定执法证号" in nobody.stderr
    missing = field_app(tmp_path / "nowhere", "verify", "--password-file", password_file(tmp_path, WANG[3]))
    assert missing.returncode == 2 and "没有证据库" in missing.stderr
    no_file = field_app(closed, "verify", "--officer", WANG[1], "--password-file", str(tmp_path / "absent.txt"))
    assert no_file.returncode == 2 and "无法读取密码文件" in no_file.stderr
    for result in (wrong, nobody, missing, no_file):
        assert "Traceback" not in result.stderr + result.stdout
    assert file_hashes(closed) == before  # refused unlocks touched nothing on disk


def test_exported_checkpoint_catches_a_database_put_back_from_an_older_copy(closed, tmp_path):
    old = tmp_path / "old.db"
    shutil.copyfile(closed / "evidence.db", old)
    opened = reopen(closed)
    opened.append("form.2-7", {"问": "工资怎么发的？", "答": "大部分发现金"})
    opened.close()
    pw = password_file(tmp_path, WANG[3])
    exported = field_app(closed, "checkpoint", "--officer", WANG[1], "--password-file", pw, "--out", str(tmp_path / "cp.json"))
    assert exported.returncode == 0, exported.stderr
    assert "已导出检查点：6 条记录" in exported.stdout
    shutil.copyfile(old, closed / "evidence.db")
    result = field_app(closed, "verify", "--officer", WANG[1], "--password-file", pw, "--checkpoint", str(tmp_path / "cp.json"))
    assert result.returncode == 1
    assert "[错误·store_rolled_back]" in result.stdout


def test_recover_with_the_hq_key_sets_a_new_password(closed, tmp_path, hq_keys):
    key_file = tmp_path / "hq.key"
    key_file.write_text(hq_keys[0].hex() + "\n")
    new_pw = password_file(tmp_path, "wang-recovered-2027", "new.txt")
    result = field_app(closed, "recover", "--hq-key", str(key_file), "--officer", WANG[1], "--password-file", new_pw)
    assert result.returncode == 0, result.stderr
    assert "现在可以用新密码解锁" in result.stdout
    check = field_app(closed, "verify", "--officer", WANG[1], "--password-file", new_pw)
    assert check.returncode == 0, check.stdout + check.stderr


# Every subcommand that unlocks the store as an officer (README's command table).
UNLOCKING = {"verify", "checkpoint", "recover", "recordings", "export-recording", "verify-page", "enroll", "sync"}


def test_no_subcommand_takes_a_password_on_the_command_line():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    assert UNLOCKING <= set(sub.choices)
    assert not [f for a in parser._actions for f in a.option_strings if "pass" in f.lower()]
    for name, subparser in sub.choices.items():
        options = {flag for action in subparser._actions for flag in action.option_strings}
        assert not {o for o in options if "pass" in o.lower() and o != "--password-file"}, name
        if name in UNLOCKING or "--officer" in options:
            assert "--password-file" in options, name


def test_every_store_subcommand_option_is_in_the_readme():
    from tests.conftest import REPO_ROOT

    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    sub = next(a for a in build_parser()._actions if a.__class__.__name__ == "_SubParsersAction")
    for name in ("verify", "checkpoint", "recover"):
        assert f"field-app {name}" in readme
        for action in sub.choices[name]._actions:
            for flag in action.option_strings:
                if flag.startswith("--") and flag != "--help":
                    assert flag in readme, f"{name} {flag} not in README"


def test_without_officer_the_password_finds_its_officer(closed, tmp_path):
    found = field_app(closed, "verify", "--password-file", password_file(tmp_path, LIU[3]))
    assert found.returncode == 0 and "校验通过" in found.stdout, found.stderr
    wrong = field_app(closed, "verify", "--password-file", password_file(tmp_path, "not-anyones", "bad.txt"))
    assert wrong.returncode == 2 and "任何一名执法人员都不匹配" in wrong.stderr and WANG[1] in wrong.stderr
