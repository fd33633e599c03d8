"""The records API as the rest of the app uses it: append, versions, sync listing, search, checkpoints,
several threads at once. Every store here is real: SQLCipher on disk, keys in the real keyring."""

from __future__ import annotations

import hashlib
import threading

import pytest

from field_app.store import InvalidInput, Store, StoreExists, StoreLocked
from field_app.store.canonical import canonical_json
from field_app.store.log import Checkpoint, genesis_hash
from field_app.store.verify import verify_store
from tests.unit.store.conftest import HENGTAI, KANGNING, LIU, WANG, reopen


def test_create_returns_an_unlocked_store_with_both_officers(store):
    assert store.is_unlocked
    assert [o.name for o in store.unlocked_officers] == ["王建国", "刘晓燕"]
    assert [o.cert_no for o in store.officers()] == [WANG[1], LIU[1]]
    first = store.entries_after(0)
    assert [e.entry_type for e in first] == ["store.created", "store.officer_enrolled", "store.officer_enrolled"]
    assert first[0].prev_hash == genesis_hash(store.store_id)
    assert all(b.prev_hash == a.entry_hash for a, b in zip(first, first[1:]))
    assert "wang-jianguo-2026" not in repr(store.officers()) + repr(store.unlocked_officers)


def test_create_refuses_an_existing_store(store, data_dir, hq_keys):
    with pytest.raises(StoreExists, match="已有证据库"):
        Store.create(data_dir, officers=[ZHAO_OFFICER], hq_public_key=hq_keys[1])


ZHAO_OFFICER = ("赵志强", "13010220120008", "劳动保障监察大队 大队长", "zhao-zhiqiang-2026")


@pytest.mark.parametrize("officers,message", [
    ([], "至少需要登记一名"),
    ([("王建国", "13010220170031", "大队", "short")], "至少需要 8 个字符"),
    ([WANG, ("王建国二", WANG[1], "大队", "another-password")], "执法证号重复"),
    ([("", "13010220170031", "大队", "long-enough-pw")], "姓名和执法证号"),
])
def test_create_refuses_bad_officers_before_touching_disk(keyring_env, data_dir, hq_keys, officers, message):
    with pytest.raises(InvalidInput, match=message):
        Store.create(data_dir, officers=officers, hq_public_key=hq_keys[1])
    assert not data_dir.exists()


def test_append_canonical_payload_and_entry_fields(store):
    payload = {"问": "你公司有多少名工人？", "答": "四十六个", "page": 1, "ok": True, "ratio": 0.5}
    entry = store.append("questioning.answer", payload, record_id="q-0001")
    assert entry.seq == store.size == 4
    assert entry.payload == payload
    assert entry.payload_json.encode() == canonical_json(payload)
    assert entry.payload_json.index('"ok"') < entry.payload_json.index('"page"')  # sorted keys
    assert "问" in entry.payload_json  # UTF-8, not \\u escapes
    assert entry.officers == tuple(sorted((WANG[1], LIU[1])))  # who was unlocked, sorted
    assert entry.computed_hash() == entry.entry_hash and len(entry.signature) == 64
    assert entry.wall_time > 1_700_000_000 * 10**9 and entry.mono_time > 0
    assert store.entry(4) == entry


@pytest.mark.parametrize("payload,message", [
    ({"x": float("nan")}, "NaN"),
    ({1: "int key"}, "不是文字"),
    ({"x": {1, 2}}, "不能保存"),
    ("not a dict", "键值对"),
])
def test_payloads_that_are_not_canonical_json_are_refused_and_nothing_is_written(store, payload, message):
    before = store.size
    with pytest.raises(InvalidInput, match=message):
        store.append("form.draft", payload)
    assert store.size == before


def test_reserved_and_malformed_types_are_refused(store):
    with pytest.raises(InvalidInput, match="证据库自己使用"):
        store.append("store.created", {})
    with pytest.raises(InvalidInput, match="格式不正确"):
        store.append("Form Draft", {})


def test_corrections_supersede_and_versions_come_back_oldest_first(store):
    v1 = store.append("form.2-5", {"findings": "未见工资台账"}, record_id="inspection-0117")
    v2 = store.append("form.2-5", {"findings": "9、10月无工资台账"}, supersedes=v1.seq)
    v3 = store.append("form.2-5", {"findings": "9、10月无工资台账；37人未签劳动合同"},
                      record_id="inspection-0117", supersedes=v2.seq)
    versions = store.record_versions("inspection-0117")
    assert [v.seq for v in versions] == [v1.seq, v2.seq, v3.seq]
    assert [v.supersedes for v in versions] == [None, v1.seq, v2.seq]
    assert versions[0].payload == {"findings": "未见工资台账"}  # the first version is still there, unchanged


def test_supersede_rules(store):
    v1 = store.append("form.2-7", {"答": "大部分用现金"}, record_id="q-1")
    v2 = store.append("form.2-7", {"答": "全部用现金"}, supersedes=v1.seq)
    loose = store.append("note", {"text": "无编号"})
    with pytest.raises(InvalidInput, match="最新一条"):
        store.append("form.2-7", {"答": "fork"}, supersedes=v1.seq)
    part = store.append("form.2-7.page", {"page": 2}, record_id="q-1")  # a record may have parts
    with pytest.raises(InvalidInput, match="最新一条"):
        store.append("form.2-7", {"答": "fork"}, supersedes=v2.seq)
    with pytest.raises(InvalidInput, match="不属于任何记录编号"):
        store.append("note", {"text": "x"}, supersedes=loose.seq)
    with pytest.raises(InvalidInput, match="不存在"):
        store.append("note", {"text": "x"}, supersedes=999)
    with pytest.raises(InvalidInput, match="不是 other"):
        store.append("form.2-7", {"答": "x"}, record_id="other", supersedes=part.seq)
    assert [v.seq for v in store.record_versions("q-1")] == [v1.seq, v2.seq, part.seq]
    case = store.add_case("长人社监〔2026〕第0300号", "某劳务公司")
    with pytest.raises(InvalidInput, match="更正时请用 supersedes"):
        store.append("case", {"case_no": "长人社监〔2026〕第0300号", "party_name": "另一名称"},
                     record_id=case.record_id)


def test_entries_after_pages_through_the_log_for_sync(store):
    for i in range(25):
        store.append("capture.segment", {"index": i})
    pages, after = [], 0
    while batch := store.entries_after(after, limit=10):
        pages.append([e.seq for e in batch])
        after = batch[-1].seq
    assert pages == [list(range(1, 11)), list(range(11, 21)), list(range(21, 29))]


def test_search_finds_chinese_cases_by_any_part(store):
    hengtai = store.add_case(**HENGTAI, source="投诉")
    store.add_case(**KANGNING)
    ids = lambda rows: {r.record_id for r in rows}  # noqa: E731
    assert ids(store.search("恒泰建筑")) == {hengtai.record_id}          # trigram (≥ 3 characters)
    assert ids(store.search("恒泰")) == {hengtai.record_id}              # LIKE fallback (2)
    assert ids(store.search("康")) == ids(store.search("康宁民营医院"))   # LIKE fallback (1)
    assert ids(store.search("第0117号")) == {hengtai.record_id}
    assert ids(store.search("９１１３０１０２５２６０")) == {hengtai.record_id}  # full-width digits
    assert ids(store.search("陈卫东")) == {hengtai.record_id}
    assert len(store.search("石家庄")) == 2
    assert store.search("不存在的公司") == [] and store.search("  ") == []
    assert store.search("%") == [] and store.search('"') == []
    assert store.entry(hengtai.seq).payload["source"] == "投诉"


def test_case_corrections_are_new_versions_and_search_follows_the_latest(store):
    case = store.add_case(**HENGTAI)
    fixed = store.correct_case(case.record_id, reason="营业执照上的名称是有限责任公司",
                               party_name="石家庄恒泰建筑劳务有限责任公司")
    assert fixed.supersedes == case.seq
    assert store.search("有限责任公司")[0].party_name == "石家庄恒泰建筑劳务有限责任公司"
    assert [v.payload["party_name"] for v in store.record_versions(case.record_id)] == [
        "石家庄恒泰建筑劳务有限公司", "石家庄恒泰建筑劳务有限责任公司"]
    assert fixed.payload["correction_reason"] == "营业执照上的名称是有限责任公司"
    with pytest.raises(InvalidInput, match="原因"):
        store.correct_case(case.record_id, reason=" ", address="x")


def test_case_input_is_checked_and_normalised(store):
    with pytest.raises(InvalidInput, match="案号不能为空"):
        store.add_case("", "某公司")
    with pytest.raises(InvalidInput, match="当事人名称不能为空"):
        store.add_case("长人社监〔2026〕第0200号", " ")
    entry = store.add_case("长人社监〔2026〕第0200号", "测试公司", "９１１３０１０２５２６０１８１５９ｘ")
    assert entry.payload["credit_code"] == "91130102526018159X"
    with pytest.raises(InvalidInput, match="已被另一个案件使用"):
        store.add_case("长人社监〔2026〕第0200号", "另一家公司")
    assert len(store.search("第0200号")) == 1


def test_two_threads_appending_at_once_keep_one_clean_chain(store):
    errors: list[BaseException] = []

    def worker(kind: str) -> None:
        try:
            for i in range(150):
                store.append(kind, {"i": i})
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k,)) for k in ("capture.segment", "form.autosave")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    entries = store.entries_after(0, limit=10_000)
    assert [e.seq for e in entries] == list(range(1, 304))
    for kind in ("capture.segment", "form.autosave"):
        assert [e.payload["i"] for e in entries if e.entry_type == kind] == list(range(150))
    assert verify_store(store) == []


def test_checkpoints_prove_inclusion_of_every_entry(store):
    for i in range(20):
        store.append("capture.segment", {"i": i})
    cp = store.checkpoint()
    assert cp.tree_size == store.size == 23 and cp.signature_ok()
    assert store.checkpoint() == cp  # nothing new: the same checkpoint
    for entry in store.entries_after(0):
        proof = store.inclusion_proof(entry.seq, cp.tree_size)
        assert cp.includes(entry.entry_hash, proof)
        assert not cp.includes(hashlib.sha256(b"forged").digest(), proof)
    exported = Checkpoint.from_json(cp.to_json())
    assert exported == cp and exported.signature_ok(store.device_public_key)
    forged = Checkpoint(cp.store_id, cp.tree_size + 1, cp.root_hash, cp.wall_time, cp.device_public_key,
                        cp.signature)
    assert not forged.signature_ok()
    with pytest.raises(InvalidInput):
        store.inclusion_proof(24, 23)


def test_lock_writes_a_checkpoint_and_reopening_keeps_everything(store, data_dir):
    entry = store.append("note", {"text": "现场照片已拍摄"})
    store.close()
    with pytest.raises(StoreLocked):
        store.append("note", {"text": "after lock"})
    again = reopen(data_dir)
    try:
        assert again.entry(entry.seq) == entry
        assert again.checkpoints()[-1].tree_size == entry.seq
        assert verify_store(again) == []
    finally:
        again.close()


def test_a_checkpoint_is_signed_every_thousand_entries_without_being_asked(store):
    for i in range(1000 - store.size):
        store.append("capture.segment", {"i": i})
    assert [cp.tree_size for cp in store.checkpoints()] == [1000]
    assert store.checkpoints()[0].root_hash == store.root_at(1000)


def test_the_public_names_other_packages_import():
    import field_app.store as api

    for name in ("Store", "StoreError", "WrongPassword", "StoreLocked", "Officer", "Entry", "MediaRef",
                 "Checkpoint", "verify_inclusion", "KeyringUnavailable", "DiskFull", "InvalidInput"):
        assert getattr(api, name).__module__.startswith("field_app.store"), name
    assert issubclass(api.WrongPassword, api.StoreError) and issubclass(api.KeyringUnavailable, api.StoreError)
    with pytest.raises(AttributeError):
        api.NoSuchThing  # noqa: B018
