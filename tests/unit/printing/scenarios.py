"""Realistic values for printing tests, from ../shared/SCENARIOS.md (invented people and companies
with valid check digits), and a helper that finalizes them through the real procedure engine into a
real evidence store — so the printed records have exactly the shape the app writes."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

from field_app.core.deadlines import BEIJING
from field_app.core.driver import SCENARIO, ManualClock, sample_values
from field_app.core.engine import ProcedureSession
from field_app.core.state import Officer
from forms import schema as fs
from forms.loader import default_registry

CASE_HENGTAI = "长人社监〔2026〕第0117号"
CASE_KANGNING = "长人社监〔2026〕第0142号"
OFFICERS = [Officer("王建国", "13010220170031", "0311-86001031"),
            Officer("刘晓燕", "13010220190047", "0311-86001047")]
HENGTAI = {"kind": "organisation", "name": "石家庄恒泰建筑劳务有限公司", "uscc": "911301025260181593",
           "legal_rep": "陈卫东", "legal_rep_id_number": "130102197803127873",
           "address": "石家庄市长安区建设北大街216号恒泰大厦6层", "phone": "0311-85000021"}
KANGNING = {"kind": "organisation", "name": "石家庄康宁民营医院", "uscc": "521301021860913902",
            "legal_rep": "吴海峰", "legal_rep_id_number": "130102196602017921",
            "address": "长安区广安大街55号", "phone": "0311-86660055"}
ZHOU = {"name": "周桂兰", "id_type": "居民身份证", "id_number": "13010519920705328X",
        "phone": "13903110328", "address": "石家庄市长安区建北街道", "unit": "建北街道办事处",
        "position": "社区干部"}
CHEN = {"name": "陈卫东", "id_type": "居民身份证", "id_number": "130102197803127873",
        "phone": "13903110021", "address": "石家庄市长安区建设北大街216号",
        "unit": "石家庄恒泰建筑劳务有限公司", "position": "法定代表人"}

INSPECTION = {  # 2-5, scenario 1
    "cause": "涉嫌拖欠农民工工资",
    "time": {"start": "2026-11-18T09:30:00+08:00", "end": "2026-11-18T11:20:00+08:00"},
    "place": "长安区北二环东路88号“御景苑”二期项目工地",
    "party": HENGTAI,
    "party_present": {"name": "马红军", "id_type": "居民身份证", "id_number": "130104198511207895",
                      "phone": "13903118511", "unit": "石家庄恒泰建筑劳务有限公司",
                      "position": "项目经理"},
    "witness": ZHOU,
    "party_notified": {"answer": True, "note": "电话通知法定代表人陈卫东，其委托项目经理马红军到场"},
    "certificates_shown": {"answer": True, "note": ""},
    "rights_told": {"answer": True, "note": "告知陈述、申辩的权利和如实提供材料的义务"},
    "av_notice": {"answer": True, "note": ""},
    "statement": "马红军称：工人工资大部分以现金发放，九月、十月的工资因总包方拨款未到位尚未全部发放。",
    "findings": ("经查，该项目部未建立2026年9月至10月的工资支付台账；抽查劳动合同20份，"
                 "现场46名工人中37名未签订书面劳动合同；调取2026年8月至10月考勤记录，"
                 "与工人花名册人数不一致；农民工工资专用账户9月、10月无发放流水。\n"
                 "对考勤表第3、7、12页拍照留存。"),
}

QUESTIONING = {  # 2-7, scenario 2 and the 60-turn edge case with an 800-character answer
    "cause": "涉嫌拖欠农民工工资",
    "time": {"start": "2026-11-20T09:30:00+08:00", "end": "2026-11-20T11:05:00+08:00"},
    "place": "长安区人社局3楼询问室",
    "recorder": "刘晓燕",
    "interviewee": CHEN,
    "identity_shown": {"answer": True, "note": ""},
    "rights_told": {"answer": True, "note": "已告知如实陈述的义务和申请回避的权利"},
    "checked": {"answer": True, "note": "本人阅读；更正第3页一处并按指印"},
    "confirmation": "以上笔录我已看过，与我说的一致",
}
LONG_ANSWER = ("我公司承包御景苑二期项目的劳务分包，现场高峰期有四十多名工人，大部分是包工头李某带来的老乡。"
               "工资一般是按月结算，由项目经理马红军根据考勤表核对后报公司财务，公司财务再把现金交给李某发放。"
               "今年九月以后，总包方的工程款拨付不及时，公司账上资金紧张，所以九月和十月的工资只发了一部分，"
               "剩下的准备等总包方年底结算后一起发放。") * 4
LONG_ANSWER = LONG_ANSWER[:800]


def qa_turns(n: int = 60) -> list[dict[str, str]]:
    """``n`` question/answer turns; turn 30 has the 800-character answer."""
    topics = ["你单位现有职工多少人？", "工资以什么方式发放？", "现金发放有没有签字记录？",
              "九月、十月的工资是否足额发放？", "与包工头李某是什么关系？", "十二名投诉工人是否在你单位工作过？"]
    turns = []
    for i in range(1, n + 1):
        q = f"（第{i}问）{topics[i % len(topics)]}"
        a = LONG_ANSWER if i == 30 else f"第{i}问的回答：情况属实，具体以公司财务账目和考勤表为准。"
        turns.append({"q": q, "a": a})
    return turns


def evidence_items(n: int = 40) -> list[dict[str, Any]]:
    """Scenario 3's four items, then dated attendance sheets up to ``n`` rows."""
    rows = [
        {"item_no": "1", "name": "现金工资发放登记本", "spec": "2026年1–10月，蓝色硬皮", "unit": "本",
         "quantity": 1, "custodian": "长安区人社局"},
        {"item_no": "2", "name": "工人花名册", "spec": "A4装订，46页", "unit": "册", "quantity": 1,
         "custodian": "长安区人社局"},
        {"item_no": "3", "name": "联想ThinkPad笔记本电脑", "spec": "E14，序列号PF3KX2Q7，含财务文件",
         "unit": "台", "quantity": 1, "custodian": "长安区人社局"},
        {"item_no": "4", "name": "项目部会议室文件柜", "spec": "项目部3号房间，贴封条", "unit": "个",
         "quantity": 1, "custodian": "石家庄恒泰建筑劳务有限公司"},
    ]
    for i in range(5, n + 1):
        rows.append({"item_no": str(i), "name": f"考勤表（第{i - 4}组）", "spec": f"2026年8–10月，A4，{i % 7 + 2}页",
                     "unit": "份", "quantity": 1, "custodian": "长安区人社局"})
    return rows


def sealed_items() -> list[dict[str, Any]]:
    return [
        {"item_no": "1", "name": "会计凭证", "spec": "2025–2026年", "unit": "册", "quantity": 24,
         "features": "封条FC-2026-0142-01", "note": "委托医院档案室保管"},
        {"item_no": "2", "name": "医保结算单", "spec": "纸箱装", "unit": "箱", "quantity": 3,
         "features": "封条FC-2026-0142-02至04", "note": "委托医院档案室保管"},
        {"item_no": "3", "name": "财务室电脑主机", "spec": "序列号CN0H7K2X", "unit": "台", "quantity": 1,
         "features": "封条FC-2026-0142-05", "note": ""},
    ]


class Recorder:
    def is_recording(self, session_id: str) -> bool:
        return True


def jpeg_bytes(text: str = "signed page") -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (64, 48), "white")
    ImageDraw.Draw(image).text((2, 2), text[:8], fill="black")
    buf = io.BytesIO()
    image.save(buf, "JPEG")
    return buf.getvalue()


def finalize(store, procedure: str, target: str, values: dict[str, Any], *, case_no: str,
             party: dict, emergency: str | None = None, steps: list[str] = ()):
    """Start ``procedure`` on the real store, finalize each of ``steps`` with sample values (real
    photos in the vault for attachment fields, approvals granted), then fill ``target`` with
    ``values`` and finalize it. Returns the ``record`` entry of ``target``."""
    registry = default_registry()
    clock = ManualClock(datetime(2026, 11, 20, 9, 0, tzinfo=BEIJING))
    photo = store.put_media(io.BytesIO(jpeg_bytes(procedure)), media_type="image/jpeg").sha256
    session = ProcedureSession.start(registry, procedure, OFFICERS, writer=store, recording=Recorder(),
                                     clock=clock, context={"case_no": case_no, "party": party})
    if emergency:
        session.choose_emergency(emergency, "当事人财务室正在销毁资料，情况紧急")
    for step_id in [*steps, target]:
        clock.advance(minutes=10)
        step = session.enter(step_id)
        for item in step.checklist:
            session.confirm(item.id)
        if step.document is None:
            session.finalize()
            continue
        form = session.form()
        given = values if step_id == target else {}
        fixed = {k: v for k, v in form.values.items() if v not in (None, "", [], {})}
        filled = sample_values(form.document, {**fixed, **given}, SCENARIO, clock.now)
        filled.update(given)
        for f in form.document.fields:
            if isinstance(f, fs.AttachmentsField) and f.key not in given:
                filled[f.key] = [photo]
        session.save_draft(filled)
        if step.records_gate:
            for role, name in (("办案机构负责人", "赵志强"), ("执法机关负责人", "孙丽")):
                session.record_approval(step.records_gate, role, name, "granted", how="电话",
                                        at=clock.now)
        entry = session.finalize()
    return entry


def record_2_5(store):
    return finalize(store, "inspection", "record", INSPECTION, case_no=CASE_HENGTAI, party=HENGTAI,
                    steps=["opening"])


def record_2_7(store):
    return finalize(store, "questioning", "transcript", {**QUESTIONING, "transcript": qa_turns()},
                    case_no=CASE_HENGTAI, party=HENGTAI, steps=["opening"])


def record_2_8(store):
    values = {"doc_no": "长人社监存字〔2026〕第0031号", "party": HENGTAI,
              "reason": "现金工资发放登记本等证据可能被转移、销毁，以后难以取得。",
              "items": evidence_items(40), "storage_place": "长安区人社局证据保管室；文件柜原地封存",
              "custodian": {"name": "马红军", "id_type": "居民身份证", "id_number": "130104198511207895",
                            "phone": "13903118511", "unit": "石家庄恒泰建筑劳务有限公司",
                            "position": "项目经理"},
              "witness": ZHOU, "issued_on": "2026-11-20"}
    return finalize(store, "preservation", "notice", values, case_no=CASE_HENGTAI, party=HENGTAI,
                    steps=["approval"])


def record_3_6(store):
    values = {"decision_no": "长人社封决字〔2026〕第0007号", "party": KANGNING,
              "counted_at": "2026-11-20T17:30:00+08:00", "place": "石家庄康宁民营医院财务室",
              "items": sealed_items(), "delivered": {"answer": True, "note": ""}}
    return finalize(store, "sealing", "list", values, case_no=CASE_KANGNING, party=KANGNING,
                    emergency="sealing_approval",
                    steps=["notice", "notification", "onsite_record", "decision"])
