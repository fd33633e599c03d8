"""The `field-hq` command (headquarters server). The server itself arrives with the sync issue."""

from __future__ import annotations

import argparse
import sys

from sync.protocol import PROTOCOL_VERSION
from sync.server import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="field-hq",
        description="执法全过程记录 局端服务器：接收各执法终端同步的记录与音像资料，供查询、回放、核验和审计。",
    )
    parser.add_argument("--version", action="version",
                        version=f"field-hq {__version__} (同步协议版本 {PROTOCOL_VERSION})")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    parser.parse_args(argv)
    parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
