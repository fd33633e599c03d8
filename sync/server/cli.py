"""The `field-hq` command: the headquarters server and its administration.

Exit codes: 0 done, 1 ``verify`` or ``audit-verify`` found problems, 2 could not do it (Chinese message on stderr; an
unexpected error's traceback goes to ``field-hq.log`` in the data directory, not the screen).
The metadata database is SQLite ``hq.db`` in ``--data-dir`` unless ``--db postgresql://…`` (or env
``FIELD_HQ_DB``) is given; blobs and HQ's keys always live in ``--data-dir``.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
import traceback
from pathlib import Path

from sync.protocol import PROTOCOL_VERSION
from sync.server import __version__

EXIT_OK, EXIT_PROBLEMS, EXIT_ERROR = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="field-hq",
        description="执法全过程记录 局端服务器：接收各执法终端同步的记录与音像资料，供查询、回放、核验和审计。",
    )
    parser.add_argument("--version", action="version",
                        version=f"field-hq {__version__} (同步协议版本 {PROTOCOL_VERSION})")
    sub = parser.add_subparsers(dest="command", metavar="子命令")

    def command(name: str, help_text: str, db: bool = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--data-dir", metavar="DIR", required=True, help="局端数据目录（密钥、媒体文件、默认的 SQLite 数据库）")
        if db:
            p.add_argument("--db", metavar="DSN", default=os.environ.get("FIELD_HQ_DB"),
                           help="PostgreSQL 连接串 postgresql://…（默认：数据目录中的 SQLite；环境变量 FIELD_HQ_DB）")
        return p

    serve = command("serve", "启动局端同步服务")
    serve.add_argument("--host", default="127.0.0.1", help="监听地址（默认 127.0.0.1；对外服务请放在 TLS 之后）")
    serve.add_argument("--port", type=int, default=8443, help="监听端口（默认 8443；0 表示随机空闲端口）")
    serve.add_argument("--forms-dir", metavar="DIR", help="向终端下发的表单与程序定义目录（默认：程序自带的 forms）")
    serve.add_argument("--chunk-mib", type=int, default=8, choices=range(1, 17), metavar="MiB",
                       help="媒体分块大小（1–16 MiB，默认 8）")
    serve.add_argument("--tls-cert", metavar="FILE", help="TLS 证书（PEM，含中间证书）；与 --tls-key 一起使用")
    serve.add_argument("--tls-key", metavar="FILE", help="TLS 私钥（PEM）")
    serve.add_argument("--enable-raw-upload", action="store_true", help=argparse.SUPPRESS)  # bench/sync.py only

    init = command("init", "初始化局端数据目录（生成局端签名密钥），可同时登记托管公钥", db=False)
    init.add_argument("--escrow-public-key", metavar="FILE", help="托管（恢复）公钥文件：X25519，64 位十六进制或 PEM")
    keygen = command("escrow-keygen", "生成托管（恢复）密钥对：私钥写入文件（请离线保管），公钥登记到局端", db=False)
    keygen.add_argument("--out", metavar="FILE", required=True, help="托管私钥写到这个文件（不能已存在）")

    dept = command("add-department", "新建部门")
    dept.add_argument("--name", required=True, help="部门名称")
    user = command("add-user", "在名册中新增或更新一名执法人员（或局端用户）")
    user.add_argument("--name", required=True, help="姓名")
    user.add_argument("--cert-no", required=True, help="执法证号")
    user.add_argument("--department", required=True, help="所属部门")
    user.add_argument("--role", default="officer", choices=("officer", "supervisor", "admin"), help="角色（默认 officer）")
    code = command("enrolment-code", "生成一次性设备登记码（打印到屏幕）")
    code.add_argument("--department", required=True, help="设备所属部门")
    code.add_argument("--valid-hours", type=float, default=72, help="有效小时数（默认 72）")
    assign = command("assign-case", "把案件分派给部门（和执法人员），终端同步时领取")
    assign.add_argument("--department", required=True, help="承办部门")
    assign.add_argument("--case-no", required=True, help="案件编号")
    assign.add_argument("--party", required=True, help="当事人名称")
    assign.add_argument("--credit-code", default="", help="统一社会信用代码")
    assign.add_argument("--officer", action="append", default=[], metavar="CERT_NO", help="承办人执法证号（可重复）")
    assign.add_argument("--note", default="", help="备注")
    web_user = command("add-web-user", "新建或更新管理平台（网页）用户：角色、部门、密码")
    web_user.add_argument("--username", required=True, help="登录用户名（英文字母、数字、. _ -）")
    web_user.add_argument("--name", required=True, help="显示姓名")
    web_user.add_argument("--role", required=True, choices=("admin", "head", "legal", "unit_head", "officer"),
                          help="角色：admin 管理员，head 负责人，legal 法制机构，unit_head 办案机构负责人，officer 执法人员")
    web_user.add_argument("--department", required=True, help="所属部门（须已用 add-department 新建）")
    web_user.add_argument("--cert-no", help="执法证号（执法人员必填：只能查看本人参与的记录）")
    web_user.add_argument("--password-file", metavar="FILE", help="从文件第一行读取密码（默认：交互输入两次）")
    command("audit-verify", "核验管理平台审计日志的哈希链（完好时退出码为 0，被改动时为 1）")
    command("devices", "列出已登记的设备及同步状态")
    command("verify", "核验局端保存的全部记录、回执和媒体文件（无问题时退出码为 0）")
    recover = command("recover-key", "用托管私钥解开某台设备证据库的数据密钥（只解这一台）")
    recover.add_argument("--device", required=True, metavar="ID", help="设备（证据库）编号")
    recover.add_argument("--escrow-key", required=True, metavar="FILE", help="托管私钥文件")
    recover.add_argument("--out", required=True, metavar="FILE", help="数据密钥写到这个文件（不能已存在，权限 0600）")
    from sync.server import export_cli

    export_cli.register(sub)  # verify-export: needs no data directory
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_OK
    if args.command == "verify-export":
        from sync.server import export_cli

        return export_cli.run(args)
    from sync.server.admin import AdminError
    from sync.server.db import DatabaseError
    from sync.server.identity import IdentityError

    try:
        return _run(args)
    except (AdminError, DatabaseError, IdentityError) as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("已取消。", file=sys.stderr)
        return EXIT_ERROR
    except Exception:  # a bug: keep the traceback off the screen
        log = Path(args.data_dir) / "field-hq.log"
        try:
            with open(log, "a", encoding="utf-8") as fh:
                fh.write(traceback.format_exc() + "\n")
        except OSError:
            log = Path("(无法写入日志)")
        print(f"程序内部错误，操作没有完成。详细信息已写入 {log}。", file=sys.stderr)
        return EXIT_ERROR


def _run(args: argparse.Namespace) -> int:
    from sync.server import admin, identity as ident
    from sync.server.db import open_database

    data_dir = Path(args.data_dir)
    if args.command == "init":
        identity = ident.load_or_create(data_dir)
        if args.escrow_public_key:
            ident.set_escrow_public_key(data_dir, _read_x25519_public(args.escrow_public_key))
        open_database(data_dir, None).close()
        print(f"局端数据目录已就绪：{data_dir}（局端编号 {identity.hq_id}）")
        return EXIT_OK
    if args.command == "escrow-keygen":
        return _escrow_keygen(data_dir, Path(args.out))
    identity = ident.load_or_create(data_dir)
    db = open_database(data_dir, args.db)
    try:
        if args.command == "serve":
            return _serve(args, data_dir, db, identity)
        if args.command == "add-department":
            added = admin.add_department(db, args.name)
            print(f"已新建部门：{args.name}" if added else f"部门已存在：{args.name}")
        elif args.command == "add-user":
            admin.add_officer(db, args.name, args.cert_no, args.department, args.role)
            print(f"名册已更新：{args.name}（执法证号 {args.cert_no}，{args.department}）")
        elif args.command == "enrolment-code":
            code = admin.new_enrolment_code(db, args.department, args.valid_hours)
            print(code)
            print(f"（一次性登记码，{args.valid_hours:g} 小时内有效，部门：{args.department}。"
                  f"在终端上运行 field-app enroll --hq 局端地址 --code {code}）", file=sys.stderr)
        elif args.command == "assign-case":
            ident_ = admin.assign_case(db, args.case_no, args.party, args.department, args.officer,
                                       args.credit_code, args.note)
            print(f"已分派案件 {args.case_no}（{ident_}）给 {args.department}")
        elif args.command == "add-web-user":
            return _add_web_user(db, args)
        elif args.command == "audit-verify":
            return _audit_verify(db)
        elif args.command == "devices":
            _list_devices(db)
        elif args.command == "verify":
            return _verify(db, data_dir, identity)
        elif args.command == "recover-key":
            return _recover_key(db, args)
        return EXIT_OK
    finally:
        db.close()


def _keep_request_buffers_in_the_heap() -> None:
    """glibc only (elsewhere: nothing): serve request bodies from the heap, not fresh mappings.

    A media upload passes through buffers of 64 KiB to a few MiB, allocated on the event-loop thread
    and freed on a writer thread. glibc's default maps each one above 128 KiB freshly (and trims the
    heap back early), so every buffer costs page faults on first touch and an munmap: measured with
    ``perf``, ~0.2 s of HQ CPU per GiB synced (``python -m bench.sync``). Raising the mmap threshold
    to 32 MiB and the trim threshold to 256 MiB keeps them in the heap. Cost: up to 256 MiB of freed
    memory stays with the process. Process-wide: call once, at start-up."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # not glibc (musl, …): its allocator, its defaults
        return
    m_trim_threshold, m_mmap_threshold = -1, -3  # <malloc.h>
    mallopt(m_mmap_threshold, 32 << 20)
    mallopt(m_trim_threshold, 256 << 20)


def _serve(args, data_dir: Path, db, identity) -> int:
    import uvicorn

    from sync.server.app import HQ, create_app
    from sync.server.blobstore import FileBlobStore
    from sync.server.ingest import Ingest

    if bool(args.tls_cert) != bool(args.tls_key):
        print("错误：--tls-cert 和 --tls-key 必须同时给出。", file=sys.stderr)
        return EXIT_ERROR
    logging.basicConfig(level=logging.INFO, filename=str(data_dir / "field-hq.log"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    forms_root = Path(args.forms_dir) if args.forms_dir else _default_forms_root()
    _keep_request_buffers_in_the_heap()
    blobs = FileBlobStore(data_dir)
    ingest = Ingest(db, blobs, identity, chunk_size=args.chunk_mib << 20)
    adopted = ingest.adopt_existing_blobs()
    raw_dir = None
    if args.enable_raw_upload:
        raw_dir = data_dir / "bench-raw"
        raw_dir.mkdir(exist_ok=True)
    app = create_app(HQ(db, blobs, identity, ingest, forms_root, raw_dir))
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY on accepted sockets only for TCP-typed listeners, and
    # without it every response (headers and body sent separately) waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((args.host, args.port))
    except OSError as exc:
        print(f"错误：无法监听 {args.host}:{args.port}（{exc.strerror}）。", file=sys.stderr)
        return EXIT_ERROR
    sock.listen(2048)  # before announcing: connections wait in the backlog until uvicorn serves them
    port = sock.getsockname()[1]
    scheme = "https" if args.tls_cert else "http"
    config = uvicorn.Config(app, log_level="warning", access_log=False, timeout_keep_alive=30,
                            ssl_certfile=args.tls_cert, ssl_keyfile=args.tls_key, log_config=None)
    server = uvicorn.Server(config)
    print(f"局端同步服务已启动：{scheme}://{args.host}:{port}（{db.description}；数据目录 {data_dir}"
          + (f"；补登记 {adopted} 个已落盘的媒体文件" if adopted else "") + "）", flush=True)
    server.run(sockets=[sock])
    return EXIT_OK


def _default_forms_root() -> Path:
    from forms.loader import FORMS_ROOT

    return FORMS_ROOT


def _read_x25519_public(path: str) -> bytes:
    from cryptography.hazmat.primitives import serialization

    from sync.server.identity import IdentityError

    try:
        data = Path(path).read_bytes().strip()
    except OSError as exc:
        raise IdentityError(f"无法读取托管公钥文件 {path}（{exc.strerror}）。") from exc
    try:
        if data.startswith(b"-----BEGIN"):
            return serialization.load_pem_public_key(data).public_bytes(serialization.Encoding.Raw,
                                                                         serialization.PublicFormat.Raw)
        return bytes.fromhex(data.decode("ascii")) if len(data) == 64 else data
    except (ValueError, UnicodeDecodeError) as exc:
        raise IdentityError("托管公钥文件格式不正确（应为 X25519 公钥：PEM 或 64 位十六进制）。") from exc


def _escrow_keygen(data_dir: Path, out: Path) -> int:
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    from sync.protocol.sealedbox import public_bytes
    from sync.server import identity as ident

    ident.load_or_create(data_dir)
    private = X25519PrivateKey.generate()
    from cryptography.hazmat.primitives import serialization

    raw = private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                serialization.NoEncryption())
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        print(f"错误：{out} 已存在，不会覆盖。", file=sys.stderr)
        return EXIT_ERROR
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(raw.hex() + "\n")
    ident.set_escrow_public_key(data_dir, public_bytes(private))
    print(f"托管私钥已写入 {out}：请立即转移到离线介质保管，并从本机删除。托管公钥 {public_bytes(private).hex()} 已登记。")
    return EXIT_OK


def _list_devices(db) -> None:
    with db.transaction() as tx:
        rows = tx.all("SELECT device_id, department, name, head_size, last_seen_ns, clock_offset_ms FROM devices "
                      "ORDER BY department, device_id")
        missing = dict(tx.all("SELECT r.device_id, count(*) FROM blob_refs r LEFT JOIN blobs b ON b.sha256 = r.sha256 "
                              "WHERE b.sha256 IS NULL GROUP BY r.device_id"))
        receipts = dict(tx.all("SELECT device_id, max(size) FROM receipts GROUP BY device_id"))
    if not rows:
        print("还没有登记任何设备。")
    for device, department, name, head, seen, offset in rows:
        print(f"{device}\t{department}\t{name or '-'}\t记录 {head} 条\t回执覆盖 {receipts.get(device, 0)} 条\t"
              f"缺少媒体 {missing.get(device, 0)} 个\t时钟偏差 {offset if offset is not None else '-'} 毫秒")


def _verify(db, data_dir: Path, identity) -> int:
    from sync.server.blobstore import FileBlobStore
    from sync.server.verify import verify_hq

    report = verify_hq(db, FileBlobStore(data_dir), identity)
    for problem in report.problems:
        print(problem)
    for notice in report.notices:
        print(f"说明：{notice}")
    print(report.summary())
    return EXIT_PROBLEMS if report.problems else EXIT_OK


def _add_web_user(db, args) -> int:
    import getpass

    from sync.server.web.accounts import ROLE_LABELS, AccountError, create_user
    from sync.server.web.schema import create_web_tables

    if args.password_file:
        try:
            password = Path(args.password_file).read_text(encoding="utf-8").splitlines()[0]
        except (OSError, IndexError, UnicodeDecodeError) as exc:
            print(f"错误：无法读取密码文件 {args.password_file}（{exc}）。", file=sys.stderr)
            return EXIT_ERROR
    else:
        password = getpass.getpass("密码：")
        if getpass.getpass("再次输入密码：") != password:
            print("错误：两次输入的密码不一致。", file=sys.stderr)
            return EXIT_ERROR
    create_web_tables(db)
    try:
        user = create_user(db, args.username, args.name, args.role, args.department, password, cert_no=args.cert_no)
    except AccountError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return EXIT_ERROR
    print(f"管理平台用户已保存：{user.username}（{user.display_name}，{ROLE_LABELS[user.role]}，{user.department}）")
    return EXIT_OK


def _audit_verify(db) -> int:
    from sync.server.web.audit import audit_head, verify_audit
    from sync.server.web.schema import create_web_tables

    create_web_tables(db)
    problems = verify_audit(db)
    for problem in problems:
        print(problem)
    count, head = audit_head(db)
    if problems:
        print(f"审计日志核验未通过：共 {count} 条，发现 {len(problems)} 个问题。")
        return EXIT_PROBLEMS
    print(f"审计日志核验通过：共 {count} 条，哈希链完整（最新哈希 {head}）。")
    return EXIT_OK


def _recover_key(db, args) -> int:
    import json

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    from sync.protocol import sealedbox
    from sync.server.admin import AdminError, audit

    with db.transaction() as tx:
        row = tx.one("SELECT escrow FROM devices WHERE device_id = ?", (args.device,))
    if row is None:
        raise AdminError(f"没有登记编号为 {args.device} 的设备。")
    try:
        text = Path(args.escrow_key).read_bytes().strip()
        if text.startswith(b"-----BEGIN"):
            private = serialization.load_pem_private_key(text, password=None)
        else:
            private = X25519PrivateKey.from_private_bytes(bytes.fromhex(text.decode("ascii")) if len(text) == 64 else text)
        if not isinstance(private, X25519PrivateKey):
            raise ValueError("not X25519")
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise AdminError(f"无法读取托管私钥 {args.escrow_key}（应为 X25519 私钥：PEM 或 64 位十六进制）：{exc}") from exc
    try:
        data_key = sealedbox.open_box(private, json.loads(row[0]), args.device.encode("ascii"))
    except sealedbox.BoxError as exc:
        if exc.wrong_key:
            raise AdminError("这把托管私钥不是该设备证据库登记的托管公钥对应的私钥。") from exc
        raise AdminError("该设备登记的托管密钥无法解开（已损坏或被改动）。") from exc
    try:
        fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise AdminError(f"{args.out} 已存在，不会覆盖。") from None
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(data_key.hex() + "\n")
    with db.transaction() as tx:
        audit(tx, "cli", "device.key_recovered", {"device": args.device})
    print(f"已解开设备 {args.device} 的数据密钥，写入 {args.out}（只能打开这一台设备的证据库）。用完后请销毁该文件。")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
