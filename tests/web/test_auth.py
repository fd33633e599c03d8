"""Login, sessions, CSRF and lockout of the HQ web platform, against the real app and database."""

from __future__ import annotations

import hashlib

from sync.server.web import accounts
from tests.web.conftest import DEPT_A, PASSWORD, audit_rows, csrf_of, login


def test_unauthenticated_pages_redirect_and_media_answers_401(client, synced_demo):
    page = client.get("/search?q=恒泰", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login?next=%2Fsearch")
    for url in (f"/media/recording/{synced_demo.device_a}/{synced_demo.recording_id}.mp4",
                f"/media/blob/{synced_demo.device_a}/{'a' * 64}?download=1"):
        answer = client.get(url, follow_redirects=False)
        assert answer.status_code == 401, url
        assert "未登录" in answer.text
    assert "用户登录" in client.get("/login").text


def test_login_session_cookie_and_logout(client, web_hq):
    answer = login(client, "wang")
    assert answer.status_code == 303 and answer.headers["location"] == "/search"
    cookie = answer.headers["set-cookie"]
    assert "hq_session=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    token = client.cookies.get("hq_session")
    with web_hq.db.transaction() as tx:  # only the hash of the token is stored
        assert tx.one("SELECT count(*) FROM web_sessions WHERE token_hash = ?", (token,))[0] == 0
        assert tx.one("SELECT count(*) FROM web_sessions WHERE token_hash = ?",
                      (hashlib.sha256(token.encode()).hexdigest(),))[0] == 1
    page = client.get("/search")
    assert page.status_code == 200 and "王建国（执法人员" in page.text
    out = client.post("/logout", data={"csrf": csrf_of(page.text)}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    client.cookies.set("hq_session", token)  # the old cookie is dead on the server too
    assert client.get("/search", follow_redirects=False).status_code == 303
    actions = [e["action"] for e in audit_rows(web_hq) if e["username"] == "wang"]
    assert "login" in actions and "logout" in actions


def test_password_is_stored_as_argon2id(web_hq):
    with web_hq.db.transaction() as tx:
        stored = tx.one("SELECT password_hash FROM web_users WHERE username = 'wang'")[0]
    assert stored.startswith("$argon2id$") and "m=65536,t=3,p=4" in stored and PASSWORD not in stored


def test_wrong_password_and_unknown_user_get_the_same_message(client, web_hq):
    wrong = login(client, "head", "not-the-password")
    unknown = login(client, "nobody-here", "not-the-password")
    for answer in (wrong, unknown):
        assert answer.status_code == 401
        assert "用户名或密码不正确" in answer.text
    assert "hq_session" not in client.cookies
    failed = [e for e in audit_rows(web_hq, "login_failed")]
    assert {e["target"] for e in failed} >= {"head", "nobody-here"}


def test_lockout_after_five_failures_for_fifteen_minutes(client, web_hq):
    accounts.create_user(web_hq.db, "lockme", "锁定测试", "officer", DEPT_A, PASSWORD, cert_no="13010220170031")
    for _ in range(4):
        assert "用户名或密码不正确" in login(client, "lockme", "wrong-password-1").text
    fifth = login(client, "lockme", "wrong-password-1")
    assert "锁定 15 分钟" in fifth.text
    right = login(client, "lockme", PASSWORD)  # even the right password is refused while locked
    assert right.status_code == 401 and "锁定 15 分钟" in right.text
    for _ in range(5):  # an unknown name locks the same way: nothing tells whether it exists
        ghost = login(client, "ghost-user", "x" * 12)
    assert "锁定 15 分钟" in ghost.text
    with web_hq.db.transaction() as tx:  # 15 minutes pass
        tx.execute("UPDATE web_login_failures SET locked_until_ns = ? WHERE username = 'lockme'",
                   (accounts.now_ns() - 1,))
    assert login(client, "lockme", PASSWORD).status_code == 303
    assert any(e["detail"].get("locked") for e in audit_rows(web_hq, "login_failed") if e["target"] == "lockme")


def test_post_without_or_with_wrong_csrf_is_refused(client):
    page = client.get("/login")
    token = csrf_of(page.text)
    refused = client.post("/login", data={"username": "wang", "password": PASSWORD, "csrf": "forged"},
                          follow_redirects=False)
    assert refused.status_code == 403 and "CSRF" in refused.text
    assert login(client, "wang").status_code == 303
    assert token
    out = client.post("/logout", data={"csrf": "forged"}, follow_redirects=False)
    assert out.status_code == 403
    assert client.get("/search", follow_redirects=False).status_code == 200  # still logged in


def _age_session(web_hq, client, column: str, seconds: int) -> None:
    hashed = hashlib.sha256(client.cookies.get("hq_session").encode()).hexdigest()
    with web_hq.db.transaction() as tx:
        tx.execute(f"UPDATE web_sessions SET {column} = {column} - ? WHERE token_hash = ?", (seconds * 10**9, hashed))


def test_session_expires_after_30_minutes_idle(client, web_hq):
    login(client, "legal")
    assert client.get("/search", follow_redirects=False).status_code == 200
    _age_session(web_hq, client, "last_seen_ns", 29 * 60)
    assert client.get("/search", follow_redirects=False).status_code == 200  # 29 min: still alive, clock restarts
    _age_session(web_hq, client, "last_seen_ns", 31 * 60)
    answer = client.get("/search", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login")


def test_session_expires_12_hours_after_login_even_when_active(client, web_hq):
    login(client, "legal")
    _age_session(web_hq, client, "created_ns", 12 * 3600 + 1)
    assert client.get("/search", follow_redirects=False).status_code == 303


def test_only_admin_reads_the_audit_log(client, web_hq):
    login(client, "head")
    refused = client.get("/admin/audit", follow_redirects=False)
    assert refused.status_code == 403 and "无权" in refused.text
    assert any(e["action"] == "denied" and e["username"] == "head" for e in audit_rows(web_hq, "denied"))


def test_cli_creates_users_and_audit_verify_detects_an_edit(hq_dir, tmp_path):
    import shutil

    from tests.harness.hq import field_hq
    from tests.web.conftest import open_hq

    copy = tmp_path / "hq"
    shutil.copytree(hq_dir, copy)
    secret = tmp_path / "pw.txt"
    secret.write_text("另一个-Secret-2026\n", encoding="utf-8")
    made = field_hq("add-web-user", "--data-dir", str(copy), "--username", "sun", "--name", "孙丽", "--role", "legal",
                    "--department", DEPT_A, "--password-file", str(secret))
    assert made.returncode == 0 and "孙丽" in made.stdout, made.stderr
    no_cert = field_hq("add-web-user", "--data-dir", str(copy), "--username", "x1", "--name", "某人", "--role", "officer",
                       "--department", DEPT_A, "--password-file", str(secret))
    assert no_cert.returncode == 2 and "执法证号" in no_cert.stderr
    hq = open_hq(copy)
    try:
        assert accounts.authenticate(hq.db, "sun", "另一个-Secret-2026").role == "legal"
        from sync.server.web.audit import audit_event

        audit_event(hq, accounts.get_user(hq.db, "sun"), "search", "records", {"q": "恒泰"})
        audit_event(hq, accounts.get_user(hq.db, "sun"), "view", "record:x/y", {})
        ok = field_hq("audit-verify", "--data-dir", str(copy))
        assert ok.returncode == 0 and "核验通过" in ok.stdout
        with hq.db.transaction() as tx:  # someone edits history in the database
            tx.execute("UPDATE web_audit SET target = 'records-edited' WHERE action = 'search' AND username = 'sun'")
    finally:
        hq.db.close()
    broken = field_hq("audit-verify", "--data-dir", str(copy))
    assert broken.returncode == 1 and "内容与哈希不符" in broken.stdout


def test_accounts_sessions_and_audit_chain_on_postgresql(tmp_path):
    from tests.harness.hq import ThrowawayDatabase, require_postgres
    from tests.web.conftest import open_hq

    require_postgres()
    from sync.server.admin import add_department
    from sync.server.web.audit import audit_event, verify_audit

    with ThrowawayDatabase() as dsn:
        hq = open_hq(tmp_path / "hq", dsn)
        try:
            add_department(hq.db, DEPT_A)
            accounts.create_user(hq.db, "pg_user", "测试", "unit_head", DEPT_A, PASSWORD)
            user = accounts.authenticate(hq.db, "pg_user", PASSWORD)
            token, _ = accounts.start_session(hq.db, user)
            assert accounts.session_user(hq.db, token).user == user
            for i in range(3):
                audit_event(hq, user, "search", "records", {"q": f"第{i}次"})
            assert verify_audit(hq) == []
            with hq.db.transaction() as tx:
                tx.execute("UPDATE web_audit SET detail = '{}' WHERE seq = 2")
            assert any("第 2 条" in p for p in verify_audit(hq))
        finally:
            hq.db.close()


def test_unknown_pages_get_the_chinese_error_page_and_the_sync_api_keeps_json(client):
    page = client.get("/no-such-page")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html") and "没有这个页面" in page.text
    api = client.get("/v1/no-such-endpoint")
    assert api.status_code == 404 and api.json()["error"]["code"] == 1003
