"""Numbered error codes of the sync protocol, with the Chinese message a user sees.

Every refusal from HQ is ``{"v": 1, "error": {"code": N, "message": "…", "retry": bool, "detail": {…}}}``
with the HTTP status listed here. Codes never change meaning; new ones get new numbers. Ranges:
1xxx request and protocol, 2xxx authentication and enrolment, 3xxx the log, 4xxx blobs, 5xxx server.
``retry`` tells the client whether sending the same thing again later can succeed.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any


class Code(IntEnum):
    MALFORMED_REQUEST = 1001
    UNSUPPORTED_VERSION = 1002
    NOT_FOUND = 1003
    METHOD_NOT_ALLOWED = 1004
    BODY_TOO_LARGE = 1005
    BATCH_TOO_LARGE = 1006

    AUTH_MISSING = 2001
    AUTH_BAD_SIGNATURE = 2002
    AUTH_UNKNOWN_DEVICE = 2003
    AUTH_CLOCK_SKEW = 2004
    AUTH_REPLAYED = 2005
    DEVICE_DISABLED = 2006
    ENROL_CODE_INVALID = 2101
    ENROL_CODE_USED = 2102
    ENROL_CODE_EXPIRED = 2103
    ENROL_BAD_PROOF = 2104
    ENROL_ESCROW_MISMATCH = 2105
    ENROL_DEVICE_CONFLICT = 2106

    MALFORMED_ENTRY = 3001
    ENTRY_GAP = 3002
    ENTRY_HASH_MISMATCH = 3003
    CHAIN_BROKEN = 3004
    BAD_SIGNATURE = 3005
    HISTORY_DIVERGED = 3006

    BLOB_NOT_EXPECTED = 4001
    CHUNK_OUT_OF_ORDER = 4002
    CHUNK_HASH_MISMATCH = 4003
    BLOB_HASH_MISMATCH = 4004
    BLOB_SIZE_MISMATCH = 4005
    CHUNK_SIZE_WRONG = 4006

    SERVER_ERROR = 5001
    SERVER_BUSY = 5002
    STORAGE_FULL = 5003


@dataclass(frozen=True)
class _Info:
    status: int
    message: str
    retry: bool = False


INFO: dict[Code, _Info] = {
    Code.MALFORMED_REQUEST: _Info(400, "请求格式不正确，局端无法处理。请升级程序或联系信息技术人员。"),
    Code.UNSUPPORTED_VERSION: _Info(426, "同步协议版本不一致，请升级本机程序或局端服务器。"),
    Code.NOT_FOUND: _Info(404, "局端没有这个接口或资源。请检查局端地址是否正确。"),
    Code.METHOD_NOT_ALLOWED: _Info(405, "局端不接受这种请求方式。"),
    Code.BODY_TOO_LARGE: _Info(413, "请求内容过大，局端拒绝接收。"),
    Code.BATCH_TOO_LARGE: _Info(413, "一次发送的记录太多，请减小批量后重试。"),
    Code.AUTH_MISSING: _Info(401, "请求没有设备签名，局端拒绝处理。"),
    Code.AUTH_BAD_SIGNATURE: _Info(401, "设备签名无效，局端拒绝处理（本机密钥与登记的不符，或请求在途中被改动）。"),
    Code.AUTH_UNKNOWN_DEVICE: _Info(401, "局端不认识这台设备。请先用登记码登记（field-app enroll）。"),
    Code.AUTH_CLOCK_SKEW: _Info(401, "请求时间与局端时间相差太大，请核对本机时钟后重试。", True),
    Code.AUTH_REPLAYED: _Info(409, "这个请求已经处理过（重放的请求），局端没有重复处理。"),
    Code.DEVICE_DISABLED: _Info(403, "这台设备已被局端停用，请联系局端管理员。"),
    Code.ENROL_CODE_INVALID: _Info(403, "登记码不正确。请向局端管理员索取新的登记码。"),
    Code.ENROL_CODE_USED: _Info(409, "登记码已被另一台设备使用，每个登记码只能用一次。请向局端管理员索取新的登记码。"),
    Code.ENROL_CODE_EXPIRED: _Info(403, "登记码已过期。请向局端管理员索取新的登记码。"),
    Code.ENROL_BAD_PROOF: _Info(400, "登记请求的设备签名无效，局端没有登记这台设备。"),
    Code.ENROL_ESCROW_MISMATCH: _Info(409, "本机证据库的托管密钥不是这个局端的恢复公钥，局端将无法恢复它。请联系局端管理员。"),
    Code.ENROL_DEVICE_CONFLICT: _Info(409, "这个证据库已经以另一把设备密钥登记过，局端拒绝重复登记。请联系局端管理员。"),
    Code.MALFORMED_ENTRY: _Info(400, "记录格式不正确，局端拒绝接收这一批记录（没有保存其中任何一条）。"),
    Code.ENTRY_GAP: _Info(409, "记录序号不连续，局端拒绝接收这一批记录。同步程序会从局端已有的位置重新发送。", True),
    Code.ENTRY_HASH_MISMATCH: _Info(422, "记录内容与它的哈希不符，局端拒绝接收（记录被改动过）。请运行 field-app verify 检查证据库。"),
    Code.CHAIN_BROKEN: _Info(422, "记录与前一条的哈希链接不上，局端拒绝接收。请运行 field-app verify 检查证据库。"),
    Code.BAD_SIGNATURE: _Info(422, "记录的设备签名无效，局端拒绝接收。请运行 field-app verify 检查证据库。"),
    Code.HISTORY_DIVERGED: _Info(409, "本机的记录与局端已收到的同序号记录不一致：本机历史被改写过。局端拒绝接收，请立即联系局端管理员。"),
    Code.BLOB_NOT_EXPECTED: _Info(409, "局端没有在等待这个媒体文件（没有已接收的记录引用它）。"),
    Code.CHUNK_OUT_OF_ORDER: _Info(409, "分块顺序不对，同步程序会从局端已确认的位置继续上传。", True),
    Code.CHUNK_HASH_MISMATCH: _Info(422, "分块在传输中损坏（哈希不符），没有保存。同步程序会重新发送这一块。", True),
    Code.BLOB_HASH_MISMATCH: _Info(422, "媒体文件上传完成后校验不符，局端已丢弃这次上传，需要从头重新上传。", True),
    Code.BLOB_SIZE_MISMATCH: _Info(409, "媒体文件大小与上次上传时声明的不同，局端拒绝接收。"),
    Code.CHUNK_SIZE_WRONG: _Info(400, "分块大小不对，局端拒绝接收。"),
    Code.SERVER_ERROR: _Info(500, "局端内部错误，这次请求没有完成。稍后会自动重试；如一直失败请联系局端管理员。", True),
    Code.SERVER_BUSY: _Info(503, "局端繁忙，稍后会自动重试。", True),
    Code.STORAGE_FULL: _Info(507, "局端存储空间不足，没有保存。请联系局端管理员。", True),
}


def status_of(code: Code) -> int:
    return INFO[code].status


def message_of(code: int) -> str:
    try:
        return INFO[Code(code)].message
    except ValueError:
        return f"局端返回了未知的错误（代码 {code}）。"


class ProtocolError(Exception):
    """A coded refusal. On HQ it becomes the error response; on the laptop it is what HQ answered.
    ``str()`` is the Chinese message with the code."""

    def __init__(self, code: int, message: str | None = None, *, detail: dict[str, Any] | None = None,
                 retry: bool | None = None) -> None:
        self.code = int(code)
        self.message = message or message_of(self.code)
        self.detail = detail or {}
        try:
            default_retry = INFO[Code(self.code)].retry
        except ValueError:
            default_retry = False
        self.retry = default_retry if retry is None else retry
        super().__init__(f"{self.message}（错误代码 {self.code}）")

    @property
    def status(self) -> int:
        try:
            return status_of(Code(self.code))
        except ValueError:
            return 500

    def to_json(self) -> dict:
        return {"v": 1, "error": {"code": self.code, "message": self.message, "retry": self.retry,
                                  "detail": self.detail}}

    @classmethod
    def from_json(cls, data: Any) -> "ProtocolError | None":
        """The error in an HQ answer, or None if the answer is not a protocol error."""
        if not isinstance(data, dict) or not isinstance(data.get("error"), dict):
            return None
        err = data["error"]
        try:
            code = int(err["code"])
        except (KeyError, TypeError, ValueError):
            return None
        detail = err.get("detail") if isinstance(err.get("detail"), dict) else {}
        message = err.get("message") if isinstance(err.get("message"), str) else None
        retry = err.get("retry") if isinstance(err.get("retry"), bool) else None
        return cls(code, message, detail=detail, retry=retry)
