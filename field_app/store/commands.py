"""Store subcommands of ``field-app`` (verify, checkpoint, recover), for scripts and IT.

Passwords come from a prompt (getpass) or ``--password-file``; never from the command line, where
other users could read them in the process list and the shell history would keep them.
Exit codes: 0 done / store clean, 1 verification found problems, 2 could not do it (message in Chinese
on stderr; an unexpected error's traceback goes to the log file, not the screen).
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import traceback
from pathlib import Path
from typing import Callable

import platformdirs

from field_app.store.errors import InvalidInput, StoreError

EXIT_OK, EXIT_PROBLEMS, EXIT_ERROR = 0, 1, 2


def add_parsers(sub: argparse._SubParsersAction) -> None:
    verify = sub.add_parser("verify", help="校验证据库：哈希链、签名、检查点和每个媒体文件（无问题时退出码为 0）")
    _data_dir_option(verify)
    _officer_options(verify)
    verify.add_argument("--checkpoint", metavar="FILE",
                        help="已知的检查点文件（局端回执或 field-app checkpoint 导出），用于发现被换成旧副本的数据库")
    checkpoint = sub.add_parser("checkpoint", help="生成一个签名检查点并导出到文件（交局端或另行保存）")
    _data_dir_option(checkpoint)
    _officer_options(checkpoint)
    checkpoint.add_argument("--out", metavar="FILE", required=True, help="检查点导出到这个文件（JSON）")
    recover = sub.add_parser("recover", help="用局端恢复私钥打开证据库，并为一名执法人员设置新密码")
    _data_dir_option(recover)
    key = recover.add_mutually_exclusive_group(required=True)
    key.add_argument("--data-key-file", metavar="FILE",
                     help="field-hq recover-key 为本机证据库解出的数据密钥文件（推荐：托管私钥不离开局端）")
    key.add_argument("--hq-key", metavar="FILE", help="局端托管私钥文件（X25519，PEM 或十六进制）")
    recover.add_argument("--officer", metavar="CERT_NO", required=True, help="要设置新密码的执法人员的执法证号")
    recover.add_argument("--password-file", metavar="FILE", help="从文件读取新密码（第一行）；不指定时在提示符下输入两次")


def _data_dir_option(parser: argparse.ArgumentParser) -> None:
    # Also accepted after the subcommand (``field-app verify --data-dir DIR``); SUPPRESS keeps the
    # value given before the subcommand when it is not repeated here.
    parser.add_argument("--data-dir", metavar="DIR", default=argparse.SUPPRESS, help="证据库所在的数据目录")


def _officer_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--officer", metavar="CERT_NO", help="用哪名执法人员的执法证号解锁（省略时用密码依次匹配登记的执法人员）")
    parser.add_argument("--password-file", metavar="FILE", help="从文件读取密码（第一行）；不指定时在提示符下输入")


def run(args: argparse.Namespace, data_dir: Path, *, verify_plugins: tuple[str, ...] = ()) -> int:
    """Run a store subcommand; ``verify_plugins`` are modules that register extra verifier checks."""
    def action() -> int:
        if args.command == "verify":
            return _verify(args, data_dir, verify_plugins)
        if args.command == "checkpoint":
            return _checkpoint(args, data_dir)
        return _recover(args, data_dir)

    return run_guarded(action)


def run_guarded(action: Callable[[], int], expected: tuple[type[BaseException], ...] = (),
                what: str = "操作") -> int:
    """Run a subcommand body: StoreError and ``expected`` errors print their Chinese message (exit 2),
    Ctrl-C says so, and anything else — a bug — goes to the log file, never a traceback on screen."""
    try:
        return action()
    except (StoreError, *expected) as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("已取消。", file=sys.stderr)
        return EXIT_ERROR
    except Exception:  # a bug: keep the traceback off the screen
        log = _log_traceback()
        print(f"程序内部错误，{what}没有完成。详细信息已写入 {log}，请交给信息技术人员。", file=sys.stderr)
        return EXIT_ERROR


def _read_password(path: str | None, prompt: str) -> str:
    if path is None:
        return getpass.getpass(prompt)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"无法读取密码文件 {path}（{exc.strerror}）。") from exc
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"密码文件 {path} 不是 UTF-8 文本。") from exc
    lines = text.splitlines()
    if not lines or not lines[0]:
        raise InvalidInput(f"密码文件 {path} 的第一行是空的。")
    return lines[0]


def _open_unlocked(args, data_dir: Path):
    from field_app.store.store import Store

    from field_app.store.errors import WrongPassword

    store = Store.open(data_dir)
    officer = args.officer
    if officer is None and len(store.enrolled_cert_nos) > 1:
        # No 执法证号 given: the password is tried against each enrolled officer in turn. Every miss
        # counts against the store's unlock throttle, like a wrong password typed at the prompt.
        password = _read_password(args.password_file, "密码（未指定执法证号，将依次尝试本证据库登记的执法人员）：")
        for cert_no in store.enrolled_cert_nos:
            try:
                store.unlock(cert_no, password)
                return store
            except WrongPassword:
                continue
        store.close()
        raise WrongPassword("密码与本证据库登记的任何一名执法人员都不匹配；可用 --officer 指定执法证号："
                            + "、".join(store.enrolled_cert_nos))
    if officer is None:
        officer = store.enrolled_cert_nos[0]
    store.unlock(officer, _read_password(args.password_file, f"执法证号 {officer} 的密码："))
    return store


def _verify(args, data_dir: Path, plugins: tuple[str, ...]) -> int:
    from field_app.store import verify
    from field_app.store.log import Checkpoint

    known = None
    if args.checkpoint:
        try:
            known = Checkpoint.from_json(json.loads(Path(args.checkpoint).read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            raise InvalidInput(f"无法读取检查点文件 {args.checkpoint}：{exc}") from exc
    verify.load_plugins(plugins)
    store = _open_unlocked(args, data_dir)
    try:
        report = verify.verify_report(store, known_checkpoint=known)
    finally:
        store.close()
    for problem in report.problems:
        print(problem)
    print(report.summary())
    return EXIT_PROBLEMS if report.errors else EXIT_OK


def _checkpoint(args, data_dir: Path) -> int:
    store = _open_unlocked(args, data_dir)
    try:
        cp = store.checkpoint()
    finally:
        store.close()
    out = Path(args.out)
    try:
        out.write_text(json.dumps(cp.to_json(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise StoreError(f"无法写入 {out}（{exc.strerror}）。") from exc
    print(f"已导出检查点：{cp.tree_size} 条记录，根哈希 {cp.root_hash.hex()[:16]}…，文件 {out}")
    return EXIT_OK


def _recover(args, data_dir: Path) -> int:
    from field_app.store.escrow import recover_store, recover_store_with_data_key

    key_path = args.data_key_file or args.hq_key
    try:
        key_bytes = Path(key_path).read_bytes()
    except OSError as exc:
        what = "数据密钥文件" if args.data_key_file else "局端恢复私钥文件"
        raise InvalidInput(f"无法读取{what} {key_path}（{exc.strerror}）。") from exc
    if args.password_file:
        password = _read_password(args.password_file, "")
    else:
        password = getpass.getpass(f"执法证号 {args.officer} 的新密码：")
        if getpass.getpass("再输入一次新密码：") != password:
            raise InvalidInput("两次输入的新密码不一致，没有修改。")
    if args.data_key_file:
        store = recover_store_with_data_key(data_dir, key_bytes.decode("ascii", "replace"))
    else:
        store = recover_store(data_dir, key_bytes if len(key_bytes) == 32 else key_bytes.strip())
    try:
        store.reset_password(args.officer, password)
    finally:
        store.close()
    print(f"已恢复证据库，执法证号 {args.officer} 现在可以用新密码解锁。")
    return EXIT_OK


def _log_traceback() -> Path:
    log_dir = Path(platformdirs.user_log_dir("field-recorder", appauthor=False))
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / "field-app.log"
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(traceback.format_exc() + "\n")
    return path
