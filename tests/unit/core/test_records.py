"""What the engine writes: drafts and records through the RecordWriter, referencing (document id,
version); and a session rebuilt from its entries is the same session."""

import json

import pytest

from field_app.core.driver import fake_media
from field_app.core.engine import ProcedureSession, Refused
from field_app.core.ports import MemoryWriter, RecordingState, RecordWriter
from tests.unit.core.conftest import OFFICERS, Recorder, do, fill


def test_the_protocols_are_met_by_the_test_objects():
    assert isinstance(MemoryWriter(), RecordWriter)
    assert isinstance(Recorder(), RecordingState)


def test_drafts_chain_and_the_record_supersedes_the_last_draft(start, writer):
    s = start("inspection", context={"case_no": "长人社监〔2026〕第0117号"})
    do(s, "opening")
    s.enter("record")
    s.save_draft({"place": "长安区北二环东路88号“御景苑”二期项目工地"})
    s.save_draft({"place": "长安区北二环东路88号“御景苑”二期项目工地"})  # unchanged: no entry
    fill(s, party={"kind": "organisation", "name": "石家庄恒泰建筑劳务有限公司",
                   "uscc": "９１１３０１０２５２６０１８１５９３", "legal_rep": "陈卫东",
                   "address": "石家庄市长安区建设北大街216号恒泰大厦6层"})
    record = s.finalize()
    drafts = writer.of_type("draft")
    assert len(drafts) == 2
    assert drafts[0].supersedes is None and drafts[1].supersedes == drafts[0].seq
    assert record.supersedes == drafts[1].seq
    assert {d.record_id for d in drafts} == {record.record_id} and record.record_id
    p = record.payload
    assert p["document"] == {"id": "2-5", "version": 1}
    assert p["procedure"] == {"id": "inspection", "version": 1}
    assert p["values"]["case_no"] == "长人社监〔2026〕第0117号"          # from the context
    assert p["values"]["party"]["uscc"] == "911301025260181593"          # normalised
    assert p["values"]["inspectors"] == [o.as_value() for o in OFFICERS]  # the session's officers
    assert record.media == tuple(p["values"]["photos"])
    json.dumps(p, ensure_ascii=False)


def test_a_refused_finalize_writes_nothing(start, writer, recorder):
    s = start("inspection")
    do(s, "opening")
    s.enter("record")
    fill(s)
    recorder.active = False
    count = len(writer.entries)
    with pytest.raises(Refused):
        s.finalize()
    assert len(writer.entries) == count


def test_values_of_a_mode_not_used_are_not_recorded(start, writer):
    s = start("service")
    s.enter("direct")
    fill(s)
    s.abandon("受送达人拒绝签收")
    s.enter("lien")
    fill(s, note="受送达人陈卫东拒绝签收")
    record = s.finalize()
    values = record.payload["values"]
    assert values["mode"] == "留置送达"
    assert "received_at" not in values and "signer" not in values
    assert {"refusal_reason", "refused_at", "witness", "left_at"} <= set(values)


def test_approvals_are_entries_with_who_when_and_how(start, writer, clock):
    s = start("preservation")
    clock.now = clock.now.replace(hour=14, minute=12)
    s.record_approval("preservation_approval", "办案机构负责人", "赵志强", "granted", how="电话",
                      at=clock.now)
    clock.now = clock.now.replace(minute=20)
    s.record_approval("preservation_approval", "执法机关负责人", "孙丽", "granted", how="电话",
                      at=clock.now)
    assert [(e.payload["approver"], e.payload["decided_at"], e.payload["how"])
            for e in writer.of_type("approval")] == [
        ("赵志强", "2026-11-20T14:12:00+08:00", "电话"), ("孙丽", "2026-11-20T14:20:00+08:00", "电话")]
    s.enter("approval")
    form = s.form()
    assert form.values["agency_head"]["approver"] == "孙丽"
    assert form.field("agency_head").readonly and form.field("matter").value == "先行登记保存证据"


def test_resume_rebuilds_the_same_session_and_continues(registry, start, writer, clock):
    s = start("sealing", context={"case_no": "长人社监〔2026〕第0203号"})
    clock.now = clock.now.replace(hour=16, minute=40)
    s.choose_emergency("sealing_approval", "财务室正在粉碎凭证")
    do(s, "notice")
    s.enter("notification")
    s.save_draft({"statement": "当事人吴海峰表示不服"})
    clock.now = clock.now.replace(hour=17, minute=5)  # 孙丽 informed at 17:05 (scenario 4)
    s.record_approval("sealing_approval", "执法机关负责人", "孙丽", "pending", how="电话")
    again = ProcedureSession.resume(registry, writer.entries, writer=writer, recording=Recorder(),
                                    clock=clock)
    assert again.id == s.id
    assert [(v.id, v.state) for v in again.steps()] == [(v.id, v.state) for v in s.steps()]
    assert again.current.id == "notification"
    assert again.form().values == s.form().values
    assert again.deadlines() == s.deadlines()
    assert again.gate("sealing_approval") == s.gate("sealing_approval")
    fill(again)
    again.finalize()
    assert writer.entries[-1].entry_type == "record" and writer.entries[-1].payload["session"] == s.id


def test_resume_picks_its_session_among_several(registry, clock):
    writer = MemoryWriter()
    a = ProcedureSession.start(registry, "inspection", OFFICERS, writer=writer, recording=Recorder(),
                               clock=clock)
    b = ProcedureSession.start(registry, "service", OFFICERS, writer=writer, recording=Recorder(),
                               clock=clock)
    do(a, "opening")
    do(b, "postal")
    again = ProcedureSession.resume(registry, writer.entries, writer=writer, recording=Recorder(),
                                    clock=clock, session_id=b.id)
    assert again.procedure.id == "service" and again.state.is_done("postal")
    assert not again.state.is_done("opening")


def test_end_deadline_from_outside(start, clock):
    s = start("questioning")
    do(s, "opening")
    do(s, "transcript")
    s.finish()
    [upload] = s.deadlines()
    assert upload.deadline_id == "av_upload" and upload.status == "running"
    s.end_deadline(upload.key, "音像资料已导入执法记录仪管理平台")
    assert s.deadlines()[0].status == "done"
    with pytest.raises(Refused, match="已经办结"):
        s.end_deadline(upload.key, "again")


def test_nothing_can_be_done_after_finish(start):
    s = start("service")
    do(s, "postal")
    s.finish()
    with pytest.raises(Refused, match="本程序已经结束"):
        s.enter("direct")
    assert s.available() == []


def test_key_shots_are_prompted_and_recorded(start, writer):
    s = start("service")
    s.enter("lien")
    assert [(k.id, taken) for k, taken in s.key_shots()] == [
        ("refusal", False), ("witness", False), ("left", False)]
    photo = fake_media("photo of the decision left on the reception desk")
    s.record_key_shot("left", [photo])
    assert dict((k.id, taken) for k, taken in s.key_shots())["left"] is True
    assert writer.entries[-1].media == (photo,)


def test_memory_writer_keeps_the_store_contract():
    w = MemoryWriter()
    first = w.append("draft", {"v": 1}, record_id="r1")
    second = w.append("draft", {"v": 2}, record_id="r1", supersedes=first.seq)
    with pytest.raises(ValueError, match="only the latest version"):
        w.append("draft", {"v": 3}, record_id="r1", supersedes=first.seq)
    with pytest.raises(ValueError, match="SHA-256"):
        w.append("record", {}, media=["photo.jpg"])
    with pytest.raises(ValueError, match="bad entry type"):
        w.append("Record", {})
    payload = {"v": [1]}
    third = w.append("record", payload, record_id="r1", supersedes=second.seq)
    payload["v"].append(2)
    assert third.payload == {"v": [1]}
