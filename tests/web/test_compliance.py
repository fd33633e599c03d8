"""Compliance dashboard (第七十一、七十二条) on a real synced HQ.

The HQ is A's ``synced_demo`` (the demo laptop of department A, a small store of department B) plus,
synced on top of a copy of it, a second laptop of department A on which (1) a recording was paused
twice at one place and (2) a questioning was carried out after that recording had stopped — the
"mandatory step without recording" case. A late upload is set up by moving ``received_ns`` /
``stored_ns`` of one record's entry and media 30 hours after its time (they are HQ-side facts, not part
of the signed chain). The logic is tested without HTTP; the routes over TestClient in
test_reviews/test_retention and here at the end.
"""

from __future__ import annotations

import shutil
import time

from tests.web.conftest import DEPT_A, DEPT_B, open_hq
from tests.web.supervision import HOUR, audit_actions, everything, first_record, make_late

# --- the dashboard ------------------------------------------------------------------------------------

def test_dashboard_shows_the_late_upload_and_the_unrecorded_steps(hq, supervised):
    from sync.server.web.compliance import dashboard, to_csv

    rid = first_record(hq, supervised.demo.device_a, "2-5")
    make_late(hq, supervised.demo.device_a, rid)
    board = dashboard(hq, everything())
    late = board.table("late").rows
    assert [(r["kind"], r["item"], r["record_id"]) for r in late] == [("文书", "检查（勘验）笔录", rid)]
    assert 29.9 <= late[0]["delay_hours"] <= 30.1 and late[0]["department"] == DEPT_A
    assert late[0]["officers"] == "王建国、刘晓燕"

    uncovered = board.table("uncovered").rows
    assert {r["session"] for r in uncovered} == {supervised.unrecorded_session}
    assert {r["procedure"] for r in uncovered} == {"调查询问"}
    steps = {r["step"] for r in uncovered}
    assert len(steps) == 2 and all(r["uncovered_seconds"] >= 1 for r in uncovered)
    # the demo laptop ran every procedure under its one recording: nothing of it is listed
    assert not [r for r in uncovered if r["device_id"] == supervised.demo.device_a]

    csv = to_csv(board.table("uncovered")).decode("utf-8")
    assert csv.startswith("\ufeff程序,步骤,依据,案号")
    assert "调查询问" in csv


def test_pauses_at_one_place_are_a_red_flag(hq, supervised):
    from sync.server.web.compliance import dashboard

    rows = dashboard(hq, everything()).table("breaks").rows
    paused = [r for r in rows if r["record_id"] == supervised.paused_recording]
    assert len(paused) == 1
    row = paused[0]
    assert row["flag"] == "多次中断（重点核查）" and row["count"] >= 2
    assert "更换电池" in row["details"] and "当事人要求暂停" in row["details"]
    assert not [r for r in rows if r["record_id"] == supervised.demo.recording_id]


def test_overdue_deadlines_follow_the_forms_definitions(hq, supervised):
    from sync.server.web.compliance import dashboard

    # the demo ended the preservation decision and the sealing term in time; archiving (30 days,
    # 第六十三条) is never recorded on the laptop: 40 days later the archive deadlines are overdue
    board = dashboard(hq, everything(), now_ns=time.time_ns())
    assert not [r for r in board.table("overdue").rows if r["device_id"] == supervised.demo.device_a]
    later = dashboard(hq, everything(), now_ns=time.time_ns() + 40 * 24 * HOUR).table("overdue").rows
    mine = [r for r in later if r["device_id"] == supervised.demo.device_a]
    assert {r["deadline"] for r in mine} == {"将全部纸质文书资料归集归档"}
    assert {r["procedure"] for r in mine} >= {"先行登记保存证据", "封存"}
    assert all(r["status"] == "已超期未办结" and r["due"].endswith("（含当日）前") for r in mine)


def test_an_open_preservation_decision_runs_out_after_seven_working_days(hq, supervised):
    """Remove the decision's end from the loaded logs: the 7-working-day clock (《行政处罚法》第五十六条,
    第八十五条) is not overdue 6 days on (fewer than 7 days of any kind) and is 25 days on (past 7
    working days even across the longest holiday)."""
    from sync.server.web import compliance as c

    with hq.db.transaction() as tx:
        logs = c.load_logs(tx, None, 0)
    reg = c._registry(hq)
    for s in logs.sessions.values():
        if s.procedure[0] == "preservation":
            s.deadlines["decision"]["ended_ns"] = None
            started = s.deadlines["decision"]["started_ns"]
    early = c.overdue_deadlines(logs, everything(), started + 6 * 24 * HOUR, reg).rows
    late = c.overdue_deadlines(logs, everything(), started + 25 * 24 * HOUR, reg).rows
    assert not [r for r in early if r["key"] == "decision"]
    row, = [r for r in late if r["key"] == "decision"]
    assert row["deadline"] == "对先行登记保存的证据作出处理决定" and row["status"] == "已超期未办结"


def test_counts_per_officer_and_unit_and_the_scope(hq, supervised):
    from sync.server.web.compliance import Filter, dashboard

    rid = first_record(hq, supervised.demo.device_a, "2-5")
    make_late(hq, supervised.demo.device_a, rid)
    board = dashboard(hq, everything())
    units = {r["department"]: r for r in board.table("units").rows}
    a = units[DEPT_A]
    assert a["procedures"] == 6 and a["records"] >= 16 and a["late"] == 1 and a["flags"] >= 3
    assert a["recording_hours"] > 0
    wang = next(r for r in board.table("officers").rows if r["cert_no"] == "13010220170031")
    assert wang["name"] == "王建国" and wang["procedures"] == 6 and wang["late"] == 1

    only_b = dashboard(hq, Filter(0, 2**62, departments=frozenset({DEPT_B})))
    assert all(not t.rows or {r.get("department") for r in t.rows} <= {DEPT_B} for t in only_b.tables.values())
    assert not only_b.table("late").rows and not only_b.table("uncovered").rows
    # the period is the matter's time: a window in the past shows nothing
    past = dashboard(hq, Filter(0, 10**9)).tables
    assert all(not t.rows for t in past.values())
    # one officer: only what she took part in
    zhang = dashboard(hq, Filter(0, 2**62, officer="13010820200011"))
    assert not zhang.table("uncovered").rows and not zhang.table("late").rows


def test_csv_has_bom_header_and_no_formula_injection():
    from sync.server.web.compliance import Table, to_csv

    data = to_csv(Table("x", "测试", "", [("a", "甲"), ("b", "乙")], [{"a": "=cmd()", "b": "中文"}]))
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.decode("utf-8-sig").splitlines() == ["甲,乙", "'=cmd(),中文"]


def test_dashboard_queries_on_postgresql(supervised, tmp_path):
    """The same dashboard over PostgreSQL: copy the synced rows into a throwaway database."""
    import sqlite3

    from sync.server.web.compliance import dashboard
    from tests.harness.hq import ThrowawayDatabase, require_postgres

    require_postgres()
    data = tmp_path / "hq"
    shutil.copytree(supervised.hq_dir, data)
    sqlite_hq = open_hq(data)
    expected = dashboard(sqlite_hq, everything())
    sqlite_hq.db.close()
    with ThrowawayDatabase() as dsn:
        pg = open_hq(data, dsn)
        try:
            con = sqlite3.connect(data / "hq.db")
            with pg.db.transaction() as tx:
                for table in ("departments", "officers", "devices", "entries", "blobs"):
                    cols = [r[1] for r in con.execute(f"PRAGMA table_info({table})")]
                    rows = con.execute(f"SELECT {', '.join(cols)} FROM {table}").fetchall()
                    tx.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
                                   rows)
            con.close()
            got = dashboard(pg, everything(), now_ns=expected.now_ns)
            for name, table in expected.tables.items():
                assert got.table(name).rows == table.rows, name
            assert got.table("uncovered").rows and got.table("breaks").rows
        finally:
            pg.db.close()


# --- HTTP (Starlette TestClient over the real app and database) ----------------------------------------

def test_dashboard_page_and_csv_over_http(web, hq, supervised):
    rid = first_record(hq, supervised.demo.device_a, "2-5")
    make_late(hq, supervised.demo.device_a, rid)
    legal, _ = web.as_("legal")
    page = legal.get("/compliance", params={"start": "2000-01-01", "end": "2100-01-01"})
    assert page.status_code == 200
    html = page.text
    assert "超过24小时上传" in html and "检查（勘验）笔录" in html
    assert "应全程录像而无录像的步骤" in html and "调查询问" in html
    assert "多次中断（重点核查）" in html
    csv = legal.get("/compliance/download/late.csv", params={"start": "2000-01-01", "end": "2100-01-01"})
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert csv.content.startswith(b"\xef\xbb\xbf") and "检查（勘验）笔录" in csv.content.decode("utf-8-sig")
    assert audit_actions(hq, "legal") == [("view", "compliance"), ("download", "compliance/late.csv")]


def test_dashboard_refuses_another_department_and_unauthenticated(web, hq):
    wang, _ = web.as_("wang")
    refused = wang.get("/compliance", params={"department": DEPT_B})
    assert refused.status_code == 403 and "无权查看其他单位" in refused.text
    unit_b, _ = web.as_("unit_b")
    assert unit_b.get("/compliance/download/units.csv", params={"department": DEPT_A}).status_code == 403
    assert ("denied", "/compliance") in audit_actions(hq, "wang")
    assert ("denied", "/compliance/download/units.csv") in audit_actions(hq, "unit_b")
    # own department: only the officer's own matters, department B's unit head sees no A rows
    own = unit_b.get("/compliance", params={"start": "2000-01-01", "end": "2100-01-01"})
    assert own.status_code == 200 and DEPT_A not in own.text.split("<main>", 1)[1].split("</form>", 1)[1]
    assert web.anonymous.get("/compliance").status_code in (302, 303)
    assert web.anonymous.get("/compliance/download/late.csv").status_code == 401
