"""``field-app verify-page PAYLOAD``: is this printed page a faithful print of a record version?

PAYLOAD is the text of the page's QR code (quote it: it contains ``|``), or ``-`` to read one
line from standard input (a barcode scanner that types). The store is unlocked like the store
subcommands: ``--officer`` (optional: the password finds its officer) and ``--password-file`` or a prompt.

Exit codes: 0 the page matches the current version of its record (or an earlier print of it);
1 it does not (another version that was since corrected, altered or unknown page, unknown record);
2 the check could not be done (bad QR text, store locked or missing …), with the reason in Chinese.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from field_app.store.commands import _officer_options, _open_unlocked, run_guarded

EXIT_OK, EXIT_MISMATCH, EXIT_ERROR = 0, 1, 2


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("verify-page", help="核对打印页上的二维码：该页是否与证据库中记录的某一版本一致")
    p.add_argument("payload", metavar="PAYLOAD", help="二维码内容（含 | 字符，请加引号）；写 - 时从标准输入读一行")
    _officer_options(p)
    p.add_argument("--json", action="store_true", help="以 JSON 输出（供脚本使用）")


def run(args: argparse.Namespace, data_dir: Path) -> int:
    """Run ``verify-page``; prints the result in Chinese and returns the exit code. Never shows
    a traceback (unexpected errors go to the log file like the store subcommands)."""
    from field_app.printing.qr import PayloadError
    from field_app.printing.signoff import PrintError, verify_page

    result: list = []

    def action() -> int:
        text = sys.stdin.readline() if args.payload == "-" else args.payload
        store = _open_unlocked(args, data_dir)
        try:
            result.append(verify_page(store, text))
        finally:
            store.close()
        return EXIT_OK

    code = run_guarded(action, (PayloadError, PrintError), what="核对")
    if not result:
        return code
    check = result[0]
    if args.json:
        p = check.payload
        print(json.dumps({"status": check.status, "ok": check.ok, "message": check.message,
                          "record_id": p.record_id, "version_seq": p.version_seq, "copy": p.copy,
                          "page": p.page, "pages": p.pages, "print_seq": check.print_seq},
                         ensure_ascii=False))
    else:
        print(check.message)
    return EXIT_OK if check.ok else EXIT_MISMATCH
