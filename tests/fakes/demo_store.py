"""Fill a real evidence store with a small but complete demo: two cases (../shared/SCENARIOS.md), form
drafts and a correction, photos and recording segments (random bytes standing in for media)."""

from __future__ import annotations

import io
import os

HENGTAI = dict(case_no="长人社监〔2026〕第0117号", party_name="石家庄恒泰建筑劳务有限公司",
               credit_code="911301025260181593", legal_rep="陈卫东",
               address="石家庄市长安区建设北大街 216 号恒泰大厦 6 层")
KANGNING = dict(case_no="长人社监〔2026〕第0142号", party_name="石家庄康宁民营医院",
                credit_code="521301021860913902", legal_rep="吴海峰", address="长安区广安大街 55 号")


def add_media(store, size: int, media_type: str = "video/x-matroska") -> str:
    return store.put_media(io.BytesIO(os.urandom(size)), media_type=media_type).sha256


def fill_demo(store, *, segments: int = 3, segment_bytes: int = 512 << 10, photos: int = 2) -> list[str]:
    """Append a demo inspection; returns the SHA-256s of the media it stored."""
    media = []
    case = store.add_case(**HENGTAI)
    store.add_case(**KANGNING)
    rec = "rec-" + os.urandom(4).hex()
    for i in range(segments):
        sha = add_media(store, segment_bytes + i)
        media.append(sha)
        store.append("capture.segment", {"index": i, "case": case.record_id, "duration_ms": 10_000},
                     record_id=rec, media=[sha])
    draft = store.append("form.2-5", {"case": case.record_id, "place": "恒泰大厦 6 层工地", "found": "未签劳动合同 12 人"},
                         record_id="form-" + os.urandom(4).hex())
    store.append("form.2-5", {"case": case.record_id, "place": "恒泰大厦 6 层工地", "found": "未签劳动合同 13 人",
                              "correction_reason": "复核人数"}, supersedes=draft.seq)
    for _ in range(photos):
        sha = add_media(store, 64 << 10, "image/jpeg")
        media.append(sha)
        store.append("capture.photo", {"case": case.record_id, "caption": "考勤表"}, media=[sha])
    return media
