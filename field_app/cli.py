"""The `field-app` command: the GUI by default, plus subcommands for IT and scripts.

Every subcommand prints what an officer or IT person needs in Chinese and returns an exit code;
tracebacks go to the log, not the screen.
"""

from __future__ import annotations

import argparse
import sys

from field_app import APP_NAME_ZH, __version__
from field_app.paths import resolve_data_dir
from field_app.printing import commands as print_commands
from field_app.store import commands as store_commands
from field_app import sync_commands
from field_app.capture import commands as capture_commands

# Modules that add checks to `field-app verify` (field_app.store.verify.register_check) when imported.
VERIFY_PLUGINS = ("field_app.capture.recordings",  # recording segment chains, notice, pauses, gaps
                  "field_app.sync_checks")  # HQ receipts against the log, clock skew


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="field-app",
        description=f"{APP_NAME_ZH}：劳动保障监察现场执法（检查、询问、先行登记保存、封存、送达）全过程记录。"
        "不带子命令时打开程序窗口。",
    )
    parser.add_argument("--version", action="version", version=f"field-app {__version__}")
    parser.add_argument("--data-dir", metavar="DIR",
                        help="数据目录（默认：系统的用户数据目录；环境变量 FIELD_APP_DATA 可覆盖默认值）")
    parser.add_argument("--screenshot", metavar="PNG",
                        help="打开主窗口，截图保存到 PNG 文件后退出（用于文档和检查显示效果）")
    sub = parser.add_subparsers(dest="command", metavar="子命令")
    doctor = sub.add_parser("doctor", help="检查本机的摄像头、麦克风、字体、密钥环、磁盘、打印机和图形界面")
    doctor.add_argument("--json", action="store_true", help="以 JSON 输出（供脚本使用）")
    sub.add_parser("_qt-probe", help=argparse.SUPPRESS)  # used by doctor in a child process
    demo = sub.add_parser("demo", help="演示：用合成音视频完整走一遍五个执法程序，打印PDF并生成演示密码文件")
    demo.add_argument("--out", metavar="DIR", required=True, help="PDF 和演示密码文件的输出目录")
    store_commands._data_dir_option(demo)  # `field-app demo --data-dir DIR` as well as before the subcommand
    selftest = sub.add_parser("self-test", help="自检：在临时目录里完整走一遍（证据库、测试录像、检查笔录、打印、校验），然后清理")
    selftest.add_argument("--keep", metavar="DIR", help="把自检打印的 PDF 复制到这个目录")
    store_commands.add_parsers(sub)  # verify, checkpoint, recover
    capture_commands.add_parsers(sub)  # recordings, export-recording
    print_commands.add_parser(sub)  # verify-page
    sync_commands.add_parsers(sub)  # enroll, sync
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    data_dir = resolve_data_dir(args.data_dir)
    if args.command == "doctor":
        from field_app import doctor

        return doctor.main(data_dir, as_json=args.json)
    if args.command in ("verify", "checkpoint", "recover"):
        return store_commands.run(args, data_dir, verify_plugins=VERIFY_PLUGINS)
    if args.command == "verify-page":
        return print_commands.run(args, data_dir)
    if args.command in ("recordings", "export-recording"):
        return capture_commands.run(args, data_dir)
    if args.command in ("enroll", "sync"):
        return sync_commands.run(args, data_dir)
    if args.command == "demo":
        from field_app.demo import main as demo_main

        return demo_main(data_dir, args.out)
    if args.command == "self-test":
        from pathlib import Path

        from field_app.selftest import run_self_test

        return run_self_test(Path(args.keep) if args.keep else None)
    if args.command == "_qt-probe":
        from field_app.ui.probe import main as probe_main

        return probe_main()
    return _run_gui(data_dir, args.screenshot)


def _run_gui(data_dir, screenshot: str | None) -> int:
    from field_app.display import display_problem

    problem = display_problem()
    if problem:
        print(problem, file=sys.stderr)
        return 2
    from field_app.ui.app import run_gui

    return run_gui(data_dir, screenshot=screenshot)


if __name__ == "__main__":
    sys.exit(main())
