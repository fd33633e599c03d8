"""``field-hq verify-export PACKAGE.zip``: check an export package without the HQ (see
``sync.server.web.package.verify_package``). Prints 通过, or each problem; exit 0 / 1 (2: could not run).

Wired into ``field-hq`` (sync/server/cli.py) before any data directory is opened: a package can be
checked on any computer with the program installed.
``--data-dir`` is optional here: given, the package must be signed by that HQ's key (otherwise anyone
could build a self-consistent package with their own key); ``--hq-key`` pins a key given as hex.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_OK, EXIT_PROBLEMS, EXIT_ERROR = 0, 1, 2


def register(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("verify-export", help="核验导出包（文件哈希、设备签名日志与局端回执、说明）",
                              description="核验导出包：包内每个文件与清单一致，原始文件确在设备签名日志中并由局端签收，"
                                          "说明写明批准文号和水印。通过时退出码为 0，发现问题为 1。")
    p.add_argument("package", metavar="PACKAGE.zip", help="导出包（ZIP）")
    p.add_argument("--data-dir", metavar="DIR", help="局端数据目录：要求导出包由本局端签发（可选）")
    p.add_argument("--hq-key", metavar="HEX", help="局端签名公钥（64 位十六进制）：要求导出包由该密钥签发（可选）")
    return p


def run(args: argparse.Namespace) -> int:
    from sync.server.web.package import verify_package

    key = None
    try:
        if args.hq_key:
            key = bytes.fromhex(args.hq_key.strip())
            if len(key) != 32:
                raise ValueError("length")
        elif args.data_dir:
            from sync.server.identity import IdentityError, load_or_create

            if not (Path(args.data_dir) / "hq.json").is_file():
                raise IdentityError(f"{args.data_dir} 不是局端数据目录（没有 hq.json）。")
            key = load_or_create(Path(args.data_dir)).public_key
    except ValueError:
        print("错误：--hq-key 应为 64 位十六进制的局端签名公钥。", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:  # IdentityError and unreadable files: a Chinese message, no trace
        print(f"错误：{exc}", file=sys.stderr)
        return EXIT_ERROR
    if not Path(args.package).is_file():
        print(f"错误：找不到导出包 {args.package}。", file=sys.stderr)
        return EXIT_ERROR
    problems = verify_package(Path(args.package), key)
    if not problems:
        print(f"通过：{args.package} 的全部文件与清单一致，原始文件在设备签名日志中并已由局端签收。")
        return EXIT_OK
    for problem in problems:
        print(problem)
    print(f"核验失败：发现 {len(problems)} 个问题。")
    return EXIT_PROBLEMS
