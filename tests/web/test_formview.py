"""How recorded values read on the record page (pure: no HQ needed)."""

from sync.server.web.formview import _text


def test_a_party_reads_like_the_printed_form_name_first():
    party = {"address": "石家庄市长安区建设北大街216号", "kind": "organisation", "legal_rep": "陈卫东",
             "name": "石家庄恒泰建筑劳务有限公司", "uscc": "911301025260181593", "phone": ""}
    assert _text(party) == ("名称/姓名：石家庄恒泰建筑劳务有限公司；统一社会信用代码：911301025260181593；"
                            "法定代表人：陈卫东；地址：石家庄市长安区建设北大街216号")


def test_yes_no_with_note_and_time_span():
    assert _text({"answer": True, "note": "已出示"}) == "是（已出示）"
    assert _text({"answer": False, "note": ""}) == "否"
    assert _text({"start": "09:00", "end": "10:30"}) == "09:00 至 10:30"
