"""Verifier checks for what sync records in the log (a ``field-app verify`` plugin, see
``field_app.cli.VERIFY_PLUGINS``):

- ``receipt_invalid``: a ``sync.receipt`` entry whose HQ receipt is not signed by the HQ key recorded at
  enrolment (``sync.enrolled``), or not for this device;
- ``receipt_mismatch``: the log's root at the receipt's size differs from what HQ signed — the history
  HQ received has been rewritten here since (HQ receipts act as known checkpoints kept in the log);
- ``clock_skew``: the laptop's clock differed from HQ's by more than 5 minutes at enrolment or sync,
  so wall times in entries around then are unreliable.
"""

from __future__ import annotations

from typing import Iterator

from field_app.store.verify import Problem, VerifyContext, register_check
from sync.protocol.receipt import Receipt

CLOCK_SKEW_LIMIT_MS = 5 * 60 * 1000


@register_check
def sync_receipts(ctx: VerifyContext) -> Iterator[Problem]:
    hq_keys: set[bytes] = set()
    store = ctx.store
    for entry in ctx.iter_entries():
        if entry.seq in ctx.flagged or not entry.entry_type.startswith("sync."):
            continue
        try:
            payload = entry.payload
        except ValueError:
            continue
        offset = payload.get("clock_offset_ms")
        if isinstance(offset, int) and abs(offset) > CLOCK_SKEW_LIMIT_MS:
            yield Problem("clock_skew", f"同步时本机时钟与局端相差 {offset / 1000:.0f} 秒（超过 5 分钟），"
                          "这段时间记录中的时间可能不准。", seq=entry.seq)
        if entry.entry_type == "sync.enrolled":
            try:
                hq_keys.add(bytes.fromhex(payload["hq_key"]))
            except (KeyError, TypeError, ValueError):
                yield Problem("receipt_invalid", "登记记录中的局端公钥格式不正确。", seq=entry.seq)
        elif entry.entry_type == "sync.receipt":
            try:
                receipt = Receipt.from_json(payload["receipt"])
            except (KeyError, ValueError):
                yield Problem("receipt_invalid", "局端回执格式不正确。", seq=entry.seq)
                continue
            if not any(receipt.verify(hq_key=key, device_id=store.store_id, device_key=store.device_public_key)
                       for key in hq_keys):
                yield Problem("receipt_invalid", "局端回执的签名无效，或不是登记的局端、不是本设备的回执。", seq=entry.seq)
            elif receipt.size > ctx.last_seq:
                yield Problem("receipt_mismatch", f"局端回执证明局端收到过 {receipt.size} 条记录，本机现在只有 "
                              f"{ctx.last_seq} 条：证据库可能被换成了旧副本。", seq=entry.seq)
            elif not ctx.problem_at_or_before(receipt.size) and store.root_at(receipt.size) != receipt.root:
                yield Problem("receipt_mismatch", f"前 {receipt.size} 条记录与局端回执不一致：局端收到之后，"
                              "本机的记录被改写过。", seq=entry.seq)
