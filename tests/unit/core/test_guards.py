"""The guards of issue 4: two officers, recording where mandatory, approvals (or the emergency path),
valid fields, 留置送达 with witness and refusal reason. Every refusal is a Chinese sentence and writes
nothing."""

from datetime import timedelta

import pytest

from field_app.core.driver import SCENARIO, sample_values
from field_app.core.engine import Refused
from field_app.core.state import Officer
from tests.unit.core.conftest import OFFICERS, approve, do, fill


def test_one_officer_is_refused(start, writer):
    with pytest.raises(Refused) as exc:
        start("inspection", officers=OFFICERS[:1])
    assert exc.value.messages == ["执法人员不得少于两人（第十二条），当前登记了1人"]
    assert writer.entries == []


def test_officer_without_certificate_or_twice_is_refused(start):
    with pytest.raises(Refused) as exc:
        start("inspection", officers=[OFFICERS[0], Officer("刘晓燕", "")])
    assert exc.value.messages == ["第2名执法人员的姓名和执法证号都应当填写"]
    with pytest.raises(Refused) as exc:
        start("inspection", officers=[OFFICERS[0], OFFICERS[0]])
    assert exc.value.messages == ["执法证号13010220170031重复登记"]


def test_finalizing_a_mandatory_av_step_without_recording_is_refused(start, recorder, writer):
    s = start("inspection")
    step = s.enter("opening")
    for item in step.checklist:
        s.confirm(item.id)
    recorder.active = False
    assert s.warnings() == ["未录制：“告知录音录像、出示执法证件、拍摄场所标志”须全程音像记录（第六条、第二十一条）"]
    before = len(writer.entries)
    with pytest.raises(Refused) as exc:
        s.finalize()
    assert exc.value.codes == {"recording"}
    assert "须全程音像记录（第六条、第二十一条），当前没有在录音录像，不能定稿" in exc.value.messages[0]
    assert len(writer.entries) == before
    recorder.active = True
    s.finalize()
    assert s.steps()[0].state == "done"


def test_a_step_without_mandatory_recording_finalizes_with_the_recorder_off(start, recorder):
    s = start("questioning")
    recorder.active = False
    do(s, "notice")  # 调查询问通知书 is prepared beforehand; 第二十三条 covers the questioning itself
    assert s.state.is_done("notice")


def test_unconfirmed_checklist_item_is_named(start):
    s = start("inspection")
    s.enter("opening")
    s.confirm("av_notice")
    s.confirm("certificates")
    with pytest.raises(Refused) as exc:
        s.finalize()
    assert exc.value.messages == [
        "尚未确认：已拍摄场所标牌或者门脸（没有明显标志的，拍摄周围标志性建筑或者门牌号），并口述场所名称"]


def test_invalid_fields_block_finalize_with_their_messages(start):
    s = start("inspection")
    do(s, "opening")
    s.enter("record")
    fill(s, party={"kind": "organisation", "name": "石家庄恒泰建筑劳务有限公司",
                   "uscc": "911301025260181594", "legal_rep": "陈卫东", "address": "建设北大街216号"})
    with pytest.raises(Refused) as exc:
        s.finalize()
    assert exc.value.messages == ["当事人的统一社会信用代码校验位不正确"]
    assert [r.field for r in exc.value.refusals] == ["party.uscc"]


def test_sealing_without_approval_is_refused(start):
    s = start("sealing")
    assert s.available() == ["approval"]
    with pytest.raises(Refused) as exc:
        s.enter("notice")
    assert exc.value.messages == [
        "现在不能办理“制发封存通知书”：须经封存审批（第三十九条），尚未记录批准；"
        "情况紧急的，可以选择紧急程序当场实施"]


def test_sealing_with_approval_only_pending_is_still_refused(start, clock):
    s = start("sealing")
    s.record_approval("sealing_approval", "执法机关负责人", "孙丽", "pending", how="电话", at=clock.now)
    assert s.gate("sealing_approval").status_label == "待批"
    with pytest.raises(Refused, match="封存审批尚待批准（第三十九条），批准前不得实施"):
        s.enter("notice")


def test_approval_form_cannot_be_finalized_before_every_role_decided(start, clock):
    s = start("sealing")
    s.enter("approval")
    fill(s)
    s.record_approval("sealing_approval", "办案机构负责人", "赵志强", "granted", how="电话", at=clock.now)
    s.record_approval("sealing_approval", "执法机关负责人", "孙丽", "pending", how="电话", at=clock.now)
    with pytest.raises(Refused) as exc:
        s.finalize()
    assert exc.value.messages == ["封存审批：执法机关负责人的审批意见待批，不能定稿"]


def test_approval_with_approval_recorded_opens_the_on_site_steps(start, clock):
    s = start("sealing")
    s.enter("approval")
    fill(s)
    approve(s, "sealing_approval", clock)
    record = s.finalize()
    heads = record.payload["values"]["agency_head"]
    assert heads == {"approver": "孙丽", "decision": "同意", "at": "2026-11-20T09:00+08:00",
                     "how": "电话", "opinion": ""}
    assert s.available() == ["notice"]


def test_emergency_path_opens_sealing_and_shows_a_24_hour_deadline(start, clock):
    s = start("sealing")
    clock.now = clock.now.replace(hour=16, minute=40)
    s.choose_emergency("sealing_approval", "财务室正在粉碎凭证")
    assert set(s.available()) == {"approval", "notice"}
    [report] = s.deadlines()
    assert report.label == "向行政机关负责人报告紧急封存并补办批准手续"
    assert report.due_at == clock.now + timedelta(hours=24)
    assert report.due_text == "2026年11月21日16时40分前"
    assert report.status == "running"
    assert [d.key for d in s.due(clock.now + timedelta(hours=18, minutes=1))] == ["emergency_report"]
    assert s.overdue(clock.now + timedelta(hours=23, minutes=59)) == []
    assert [d.key for d in s.overdue(clock.now + timedelta(hours=24))] == ["emergency_report"]
    do(s, "notice")
    clock.advance(hours=15)
    approve(s, "sealing_approval", clock)  # written approval the next morning
    assert s.deadlines()[0].status == "done"
    assert s.gate("sealing_approval").status == "granted"


def test_approval_refused_after_emergency_forces_release(start, clock):
    s = start("sealing")
    s.choose_emergency("sealing_approval", "财务室正在粉碎凭证")
    do(s, "notice")
    s.enter("notification")
    approve(s, "sealing_approval", clock, outcome="refused")
    with pytest.raises(Refused) as exc:
        s.finalize()
    assert "forced_release" in exc.value.codes
    assert "行政机关负责人认为不应当采取封存措施，应当立即解除封存（第三十九条）" in exc.value.messages
    s.abandon("行政机关负责人不同意封存，立即解除")
    assert set(s.available()) == {"approval", "release_decision"}
    states = {v.id: v.state for v in s.steps()}
    assert states["onsite_record"] == states["release_approval"] == "void"
    assert s.missing() == ["尚未完成“封存审批（行政强制措施审批表）”", "尚未完成“解除封存（解除封存决定书）”",
                           "尚未完成“交付解除封存资料物品清单”"]
    assert s.deadlines()[0].status == "done"  # the report deadline ended with the decision
    do(s, "release_decision")
    do(s, "release_list")
    do(s, "approval")
    s.finish()
    assert s.finished


def test_normal_approval_refused_ends_the_sealing_before_it_starts(start, clock):
    s = start("sealing")
    s.enter("approval")
    fill(s)
    approve(s, "sealing_approval", clock, outcome="refused")
    s.finalize()
    assert s.available() == []
    assert {v.id: v.state for v in s.steps()}["notice"] == "void"
    s.finish()


def test_preservation_has_no_emergency_path(start):
    s = start("preservation")
    with pytest.raises(Refused) as exc:
        s.choose_emergency("preservation_approval", "证据可能灭失")
    assert exc.value.messages == ["先行登记保存证据审批不适用紧急程序，须先经批准（第二十四条）"]


def test_approval_input_is_checked(start, clock):
    s = start("preservation")
    with pytest.raises(Refused) as exc:
        s.record_approval("preservation_approval", "局长", "", "granted", how="微信",
                          at=clock.now + timedelta(minutes=5))
    assert exc.value.messages == ["先行登记保存证据审批没有“局长”这一审批人", "请填写局长的姓名",
                                  "审批方式应为当面、电话、书面、电子政务系统、短信或即时通讯之一",
                                  "审批时间不能晚于当前时间"]
    approve(s, "preservation_approval", clock)
    with pytest.raises(Refused, match="已经作出决定（同意），不能再记录"):
        s.record_approval("preservation_approval", "执法机关负责人", "孙丽", "refused", how="电话")


def test_lien_service_without_witness_or_refusal_reason_is_refused(start):
    s = start("service")
    s.enter("lien")
    values = sample_values(s.form().document, {"mode": "留置送达"}, SCENARIO, s.clock())
    s.save_draft({k: v for k, v in values.items() if k not in ("witness", "refusal_reason")})
    with pytest.raises(Refused) as exc:
        s.finalize()
    assert set(exc.value.messages) == {
        "留置送达应当邀请见证人到场并由见证人签字（第五十七条（二））",
        "留置送达应当在送达回证上记明拒收事由（第五十七条（二））"}


def test_lien_service_refused_while_not_recording(start, recorder):
    s = start("service")
    s.enter("lien")
    fill(s)
    recorder.active = False
    with pytest.raises(Refused) as exc:
        s.finalize()
    assert exc.value.codes == {"recording"}
    assert "第六条、第五十七条（二）" in exc.value.messages[0]


def test_the_mode_of_a_service_step_cannot_be_changed(start):
    s = start("service")
    s.enter("lien")
    assert s.form().field("mode").readonly
    with pytest.raises(Refused) as exc:
        s.save_draft({"mode": "直接送达"})
    assert exc.value.messages == ["送达方式由本步骤确定为“留置送达”，不能修改"]
    s.save_draft(s.form().values)  # a page sending back everything it shows is fine
    assert s.form().values["mode"] == "留置送达"


def test_approval_fields_cannot_be_typed(start):
    s = start("preservation")
    s.enter("approval")
    with pytest.raises(Refused, match="执法机关负责人意见根据审批记录自动填写，不能手工修改"):
        s.save_draft({"agency_head": {"approver": "孙丽", "decision": "同意"}})


def test_direct_service_refused_then_lien_service(start, writer):
    s = start("service")
    s.enter("direct")
    fill(s)
    s.abandon("受送达人拒绝签收")
    assert "direct" in s.available() and "lien" in s.available()
    do(s, "lien")
    states = {v.id: v.state for v in s.steps()}
    assert states["direct"] == states["postal"] == "void"
    assert [e.payload["event"] for e in writer.of_type("procedure.step")] == [
        "entered", "abandoned", "entered"]
    s.finish()


def test_only_one_step_at_a_time_and_no_finish_while_missing(start):
    s = start("inspection")
    s.enter("opening")
    with pytest.raises(Refused, match="请先完成或者放弃当前步骤“告知录音录像、出示执法证件、拍摄场所标志”"):
        s.enter("record")
    with pytest.raises(Refused):
        s.finish()
    s.abandon("当事人不在场，改日检查")
    with pytest.raises(Refused) as exc:
        s.finish()
    assert exc.value.messages == ["尚未完成“告知录音录像、出示执法证件、拍摄场所标志”",
                                  "尚未完成“制作检查（勘验）笔录”"]


def test_extension_refused_after_the_sealing_term_ran_out(start, clock):
    s = start("sealing")
    s.enter("approval")
    fill(s)
    approve(s, "sealing_approval", clock)
    s.finalize()
    for step in ("notice", "notification", "onsite_record", "decision", "list"):
        do(s, step)
    term = next(d for d in s.deadlines() if d.deadline_id == "sealing_term")
    assert term.last_day.isoformat() == "2026-12-20"  # 30 days after 2026-11-20
    clock.now = term.due_at
    with pytest.raises(Refused) as exc:
        s.enter("extension_approval")
    assert exc.value.codes == {"deadline_passed"}
    assert exc.value.messages == ["封存期限届满，应当解除封存或者依法延长：期限已经届满，不能再办理"
                                  "“延长封存期限审批（行政强制措施延期审批表）”"]
    # The A/V upload (24 h after the on-site part) is overdue too, and listed first (due earlier).
    assert [d.deadline_id for d in s.overdue()] == ["av_upload", "sealing_term"]


def test_extension_lengthens_the_term_once_by_the_decided_days(start, clock):
    s = start("sealing")
    s.enter("approval")
    fill(s)
    approve(s, "sealing_approval", clock)
    s.finalize()
    for step in ("notice", "notification", "onsite_record", "decision", "list"):
        do(s, step)
    clock.advance(days=27)  # 第28天 (scenario 4)
    s.enter("extension_approval")
    fill(s, extension_days=30, reason="账目复杂，需审计")
    approve(s, "extension_approval", clock)
    s.finalize()
    s.enter("extension")
    fill(s, extension_days=31)
    with pytest.raises(Refused) as exc:
        s.finalize()
    assert "延长期限不能大于30日" in exc.value.messages
    fill(s, extension_days=30)
    s.finalize()
    term = next(d for d in s.deadlines() if d.deadline_id == "sealing_term")
    assert (term.amount, term.last_day.isoformat()) == (60, "2027-01-19")
    assert {v.id: v.state for v in s.steps()}["extension_approval"] == "done"
