"""Binding paper to the log on a real store: print entries, sign-off and refusal per page, photos,
void prints after a correction, and checking a scanned page."""

from __future__ import annotations

import pytest

from field_app.printing.qr import PayloadError
from field_app.printing.signoff import (PRINT, PrintError, attach_photo, history, paper_record_id,
                                        print_record, refuse, sign, verify_page)
from field_app.store.verify import verify_store
from tests.unit.printing import pdfcheck as pc
from tests.unit.printing import scenarios as sc


def _correct(store, record_entry, **changes):
    """A corrected version of a finalized record (a new ``record`` entry superseding it)."""
    latest = store.record_versions(record_entry.record_id)[-1]
    payload = latest.payload
    payload["values"] = {**payload["values"], **changes}
    return store.append("record", payload, record_id=record_entry.record_id, supersedes=latest.seq)


def test_a_print_stores_the_pdf_and_logs_its_hash_and_every_page_hash(store):
    record = sc.record_2_7(store)
    job = print_record(store, record.record_id)
    entry = job.entry
    assert entry.entry_type == PRINT and entry.record_id == paper_record_id(record.record_id)
    assert list(entry.media) == [job.rendered.sha256]
    with store.open_media(job.rendered.sha256) as fh:
        assert fh.read() == job.rendered.pdf
    payload = entry.payload
    assert payload["pdf"]["sha256"] == job.rendered.sha256
    assert payload["record"] == {"id": record.record_id, "seq": record.seq, "version": 1}
    assert [p["hash"] for p in payload["pages"]] == [p.hash for p in job.rendered.pages]
    assert len(set(p["hash"] for p in payload["pages"])) == len(payload["pages"]) == 6
    # the record itself is untouched, and the store still verifies
    assert store.record_versions(record.record_id)[-1].seq == record.seq
    assert verify_store(store) == []


def test_only_finalized_records_print_and_errors_are_chinese(store):
    with pytest.raises(PrintError, match="证据库中没有编号为 nope 的记录"):
        print_record(store, "nope")
    record = sc.record_2_5(store)
    latest = store.record_versions(record.record_id)[-1]
    store.append("draft", {**latest.payload}, record_id=record.record_id, supersedes=latest.seq)
    with pytest.raises(PrintError, match="还没有定稿"):
        print_record(store, record.record_id)


def test_every_page_needs_an_outcome_before_the_record_is_complete(store):
    record = sc.record_2_7(store)
    job = print_record(store, record.record_id)
    seq = job.entry.seq
    assert not history(store, record.record_id).complete
    sign(store, seq, [1, 2, 3, 4, 5])
    state = history(store, record.record_id)
    assert not state.complete and state.current.missing() == [(1, 6)]
    assert state.summary() == "第1版已打印，还有第6页没有记录签名结果"
    with pytest.raises(PrintError, match="第3页已经记录为“已签名”"):
        sign(store, seq, 3)
    with pytest.raises(PrintError, match="第7页不存在：这次打印每份共6页"):
        sign(store, seq, 7)
    sign(store, seq, 6, note="被询问人在第6页末尾写明“以上笔录我已看过，与我说的一致”")
    state = history(store, record.record_id)
    assert state.complete
    assert state.summary() == "第1版已打印，全部6页均已记录签名结果"


def test_both_copies_of_a_two_copy_list_must_be_signed(store):
    record = sc.record_3_6(store)
    seq = print_record(store, record.record_id).entry.seq
    sign(store, seq, copy=1)
    state = history(store, record.record_id)
    assert not state.complete
    assert state.summary() == "第1版已打印，还有执法机关留存第1页没有记录签名结果"
    with pytest.raises(PrintError, match="没有第3份：这次打印共2份"):
        sign(store, seq, copy=3)
    sign(store, seq, copy=2)
    assert history(store, record.record_id).complete


def test_a_refusal_is_recorded_per_page_and_printed_on_the_reprint(store, tmp_path):
    record = sc.record_2_5(store)
    first = print_record(store, record.record_id)
    entry = refuse(store, first.entry.seq, who="马红军", reason="不同意检查结论",
                   witness="周桂兰（建北街道办事处社区干部）")
    assert entry.payload["role"] == "当事人" and entry.payload["outcome"] == "refused"
    assert history(store, record.record_id).complete  # a refusal is an outcome
    second = print_record(store, record.record_id)
    assert second.entry.payload["reprint_of"] == first.entry.seq
    pdf = tmp_path / "reprint.pdf"
    pdf.write_bytes(second.rendered.pdf)
    for text in pc.page_texts(pdf):
        assert "当事人拒绝签名（见证人：周桂兰（建北街道办事处社区干部））" in pc.squeeze(text)
    before = tmp_path / "first.pdf"
    before.write_bytes(first.rendered.pdf)
    assert "拒绝签名" not in "".join(pc.page_texts(before))
    state = history(store, record.record_id)
    assert [p.status for p in state.prints] == ["replaced", "current"]
    assert not state.complete  # the reprint's pages are signed by the witness and officers next
    with pytest.raises(PrintError, match="已被重新打印的文书取代"):
        sign(store, first.entry.seq)
    sign(store, second.entry.seq)
    assert history(store, record.record_id).complete
    # a third print still carries the refusal
    third = print_record(store, record.record_id)
    assert len(third.entry.payload["refusals_printed"]) == second.rendered.pages_per_copy


def test_refusals_need_an_allowed_role_who_reason_and_witness(store):
    record = sc.record_2_5(store)
    seq = print_record(store, record.record_id).entry.seq
    with pytest.raises(PrintError, match="“见证人”不能记录为拒绝签名；可以记录拒绝签名的是：当事人"):
        refuse(store, seq, role="见证人", who="周桂兰", reason="不愿签", witness="王某")
    with pytest.raises(PrintError) as exc:
        refuse(store, seq, who=" ", reason="", witness="")
    assert str(exc.value) == ("请写明拒绝签名的人的姓名；请写明拒绝签名的理由；"
                              "拒绝签名的，应当写明在场见证人的姓名。")
    notice = sc.finalize(store, "questioning", "notice", {}, case_no=sc.CASE_HENGTAI, party=sc.HENGTAI)
    notice_seq = print_record(store, notice.record_id).entry.seq
    with pytest.raises(PrintError, match="《调查询问通知书》没有可以记录拒绝签名的签名栏"):
        refuse(store, notice_seq, who="陈卫东", reason="不签", witness="周桂兰")


def test_a_correction_after_printing_voids_the_earlier_prints(store):
    record = sc.record_2_5(store)
    old = print_record(store, record.record_id)
    sign(store, old.entry.seq, 1)
    _correct(store, record, findings="经查，37名工人未签订书面劳动合同（更正：抽查份数为20份）。")
    state = history(store, record.record_id)
    assert [p.status for p in state.prints] == ["void"]
    assert state.prints[0].status_reason == "记录在打印后被更正（现行为第2版）"
    assert state.summary() == "第2版尚未打印；旧版本的打印件已作废"
    with pytest.raises(PrintError, match="这份打印件已作废"):
        sign(store, old.entry.seq, 2)
    check = verify_page(store, old.rendered.pages[0].payload)
    assert check.status == "superseded" and not check.ok
    assert "已被更正" in check.message and "现行为第2版" in check.message
    new = print_record(store, record.record_id)
    assert new.entry.payload["voids"] == [old.entry.seq]
    assert new.entry.payload["record"]["version"] == 2
    assert verify_page(store, new.rendered.pages[0].payload).status == "current"


def test_photos_of_signed_pages_go_into_the_vault_and_the_log(store, tmp_path):
    record = sc.record_2_7(store)
    seq = print_record(store, record.record_id).entry.seq
    sign(store, seq, 2)
    photo = tmp_path / "page2.jpg"
    photo.write_bytes(sc.jpeg_bytes("page 2"))
    entry = attach_photo(store, seq, 2, photo)
    with store.open_media(entry.media[0]) as fh:
        assert fh.read() == photo.read_bytes()
    assert store.media_info(entry.media[0]).media_type == "image/jpeg"
    assert history(store, record.record_id).current.photos == {(1, 2): tuple(entry.media)}
    with pytest.raises(PrintError, match="找不到照片文件"):
        attach_photo(store, seq, 2, tmp_path / "missing.jpg")
    with pytest.raises(PrintError, match="第9页不存在"):
        attach_photo(store, seq, 9, photo)


def test_verify_page_tells_what_is_wrong_with_a_page(store):
    record = sc.record_2_7(store)
    job = print_record(store, record.record_id)
    page = job.rendered.pages[2]
    check = verify_page(store, page.payload)
    assert check.ok and check.status == "current" and check.print_seq == job.entry.seq
    assert check.message.startswith("本页与证据库一致：《询问笔录》第1版第3页 共6页")
    assert "该页尚未记录签名结果" in check.message
    sign(store, job.entry.seq, 3)
    assert "该页已签名" in verify_page(store, page.payload).message
    # a page whose content (hash) differs from every print of that version
    forged = page.payload[:-4] + ("0000" if not page.payload.endswith("0000") else "1111")
    assert verify_page(store, forged).status == "mismatch"
    # a page number moved onto another page's hash
    moved = page.payload.replace("|1|3|6|", "|1|4|6|")
    assert verify_page(store, moved).status == "mismatch"
    unknown = page.payload.replace(record.record_id, "f" * 32)
    result = verify_page(store, unknown)
    assert result.status == "unknown" and "没有编号为" in result.message
    with pytest.raises(PayloadError, match="这不是本程序打印页上的二维码"):
        verify_page(store, "https://example.org/")
