"""``field-app enroll`` and ``field-app sync``: the sync client from the command line.

Both unlock the store like ``field-app verify`` (``--officer``, ``--password-file`` or a prompt).
Exit codes: 0 done (sync: everything is at HQ and covered by its receipt), 1 sync ran but did not
finish everything (the message says what is left; run it again to resume), 2 could not run (no store,
wrong password, not enrolled, HQ unreachable, refused). Progress goes to stderr: a one-line bar on a
terminal, a line per phase otherwise.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from field_app.store import commands as store_commands
from field_app.store.errors import StoreError

EXIT_OK, EXIT_PARTIAL, EXIT_ERROR = 0, 1, 2


def add_parsers(sub: argparse._SubParsersAction) -> None:
    enroll = sub.add_parser("enroll", help="用局端发的一次性登记码把本机登记到局端（之后才能同步）")
    store_commands._data_dir_option(enroll)
    enroll.add_argument("--hq", metavar="URL", required=True, help="局端地址，例如 https://hq.example.gov.cn:8443")
    enroll.add_argument("--code", metavar="CODE", required=True, help="局端管理员给的一次性登记码")
    enroll.add_argument("--ca-file", metavar="FILE", help="局端 CA 证书（PEM），用于核验局端身份（固定信任这一个 CA）")
    store_commands._officer_options(enroll)
    sync = sub.add_parser("sync", help="把记录和音像资料同步到局端（一次，可随时中断，下次从断点继续）")
    store_commands._data_dir_option(sync)
    store_commands._officer_options(sync)
    sync.add_argument("--no-prune", action="store_true", help="这次不清理本机已同步的音像资料")
    sync.add_argument("--limit-kbps", type=int, metavar="KIB_S", help="限制上传速度（KiB/秒）")


def run(args: argparse.Namespace, data_dir: Path) -> int:
    from sync.client import SyncError

    try:
        store = store_commands._open_unlocked(args, data_dir)
    except StoreError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("已取消。", file=sys.stderr)
        return EXIT_ERROR
    try:
        if args.command == "enroll":
            return _enroll(args, store, data_dir)
        return _sync(args, store, data_dir)
    except (SyncError, StoreError, ValueError) as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("已中断。已确认的部分不会丢失，下次从断点继续。", file=sys.stderr)
        return EXIT_PARTIAL
    finally:
        store.close()


def _enroll(args, store, data_dir: Path) -> int:
    from sync.client import enrol

    enrolment = enrol(store, data_dir, args.hq, args.code, ca_file=args.ca_file)
    print(f"已登记到局端 {enrolment.hq_id}（{args.hq}），所属部门：{enrolment.department}。"
          "现在可以运行 field-app sync 同步。")
    return EXIT_OK


def _sync(args, store, data_dir: Path) -> int:
    from sync.client import SyncConfig, SyncSession

    config = SyncConfig.load(data_dir)
    if args.limit_kbps:
        config.bandwidth_kbps = args.limit_kbps
    bar = _Bar(sys.stderr)
    with store.keep_unlocked():
        result = SyncSession(store, data_dir, config, on_progress=bar, prune=not args.no_prune).run()
    bar.close()
    print(result.message, file=sys.stdout if result.ok else sys.stderr)
    if result.ok:
        return EXIT_OK
    achieved = result.entries_sent or result.blobs_uploaded or result.receipt_size
    return EXIT_PARTIAL if achieved else EXIT_ERROR


class _Bar:
    """Progress on stderr: ``\\r``-redrawn on a terminal, one line per phase change elsewhere."""

    def __init__(self, stream) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.phase = None
        self.drawn = False

    def __call__(self, event) -> None:
        if not self.tty:
            if event.phase != self.phase:
                self.phase = event.phase
                print(f"… {event.message}", file=self.stream, flush=True)
            return
        fraction = event.fraction
        filled = int((fraction or 0) * 30)
        parts = [f"{event.message:<12}", f"[{'#' * filled}{'.' * (30 - filled)}]" if fraction is not None else ""]
        if event.bytes_total:
            parts.append(f"{event.bytes_done / 2**20:.1f}/{event.bytes_total / 2**20:.1f} MB")
        elif event.items_total:
            parts.append(f"{event.items_done}/{event.items_total}")
        if event.eta_seconds is not None:
            parts.append(f"剩余约 {int(event.eta_seconds // 60)} 分 {int(event.eta_seconds % 60)} 秒")
        self.stream.write("\r" + " ".join(p for p in parts if p) + "\033[K")
        self.stream.flush()
        self.drawn = True

    def close(self) -> None:
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()
