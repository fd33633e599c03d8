"""``field-app verify-page PAYLOAD``: is this printed page a faithful print of a record version?

PAYLOAD is the text of the page's QR code (quote it: it contains ``|``), or ``-`` to read one
line from standard input (a barcode scanner that types). The store is unlocked like the store
subcommands: ``--officer`` (optional with one enrolled officer) and ``--password-file`` or a prompt.

Exit codes: 0 the page matches the current version of its record (or an earlier print of it);
1 it does not (another version that was since corrected, altered or unknown page, unknown record);
2 the check could not be done (bad QR text, store locked or missing …), with the reason in Chinese.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import traceback
from pathlib import Path

import platformdirs

EXIT_OK, EXIT_MISMATCH, EXIT_ERROR = 0, 1, 2


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("verify-page", help="核对打印页上的二维码：该页是否与证据库中记录的某一版本一致")
    p.add_argument("payload", metavar="PAYLOAD", help="二维码内容（含 | 字符，请加引号）；写 - 时从标准输入读一行")
    p.add_argument("--officer", metavar="CERT_NO", help="用哪名执法人员的执法证号解锁（只登记了一人时可省略）")
    p.add_argument("--password-file", metavar="FILE", help="从文件读取密码（第一行）；不指定时在提示符下输入")
    p.add_argument("--json", action="store_true", help="以 JSON 输出（供脚本使用）")


def run(args: argparse.Namespace, data_dir: Path) -> int:
    """Run ``verify-page``; prints the result in Chinese and returns the exit code. Never shows
    a traceback (unexpected errors go to the log file like the store subcommands)."""
    from field_app.printing.qr import PayloadError
    from field_app.printing.signoff import PrintError, verify_page
    from field_app.store.errors import StoreError

    try:
        text = sys.stdin.readline() if args.payload == "-" else args.payload
        store = _open_unlocked(args, data_dir)
        try:
            check = verify_page(store, text)
        finally:
            store.close()
    except (PayloadError, PrintError, StoreError) as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("已取消。", file=sys.stderr)
        return EXIT_ERROR
    except Exception:  # a bug: keep the traceback off the screen
        log = _log_traceback()
        print(f"程序内部错误，核对没有完成。详细信息已写入 {log}，请交给信息技术人员。", file=sys.stderr)
        return EXIT_ERROR
    if args.json:
        p = check.payload
        print(json.dumps({"status": check.status, "ok": check.ok, "message": check.message,
                          "record_id": p.record_id, "version_seq": p.version_seq, "copy": p.copy,
                          "page": p.page, "pages": p.pages, "print_seq": check.print_seq},
                         ensure_ascii=False))
    else:
        print(check.message)
    return EXIT_OK if check.ok else EXIT_MISMATCH


def _open_unlocked(args, data_dir: Path):
    """Open the store and unlock it with one officer's password (same rules as ``verify``)."""
    from field_app.store.errors import InvalidInput
    from field_app.store.store import Store

    store = Store.open(data_dir)
    officer = args.officer
    if officer is None:
        if len(store.enrolled_cert_nos) != 1:
            raise InvalidInput("本证据库登记了多名执法人员，请用 --officer 指定执法证号："
                               + "、".join(store.enrolled_cert_nos))
        officer = store.enrolled_cert_nos[0]
    store.unlock(officer, _read_password(args.password_file, f"执法证号 {officer} 的密码："))
    return store


def _read_password(path: str | None, prompt: str) -> str:
    from field_app.store.errors import InvalidInput

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


def _log_traceback() -> Path:
    log_dir = Path(platformdirs.user_log_dir("field-recorder", appauthor=False))
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / "field-app.log"
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(traceback.format_exc() + "\n")
    return path
