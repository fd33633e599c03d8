"""Acceptance in a real browser: Playwright driving the Debian Chromium against HQ served over real HTTP
on a loopback port (uvicorn in a thread). Log in, search, open the demo record, play the recording.

``FIELD_SCREENSHOTS=1`` also saves docs/screenshots/hq-search.png and hq-record.png.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.harness.system import missing_dependency
from tests.web.conftest import PASSWORD

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture(autouse=True)
def _chromium_installed():
    if not Path(CHROMIUM).exists():
        missing_dependency("Debian chromium (/usr/bin/chromium)")  # fails under CI, never a silent skip


@contextmanager
def serving(app):
    """``app`` served by uvicorn in a thread on a free loopback port; yields the base URL."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", access_log=False, log_config=None)
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture(scope="module")
def server(app):
    with serving(app) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"])
        yield b
        b.close()


def test_log_in_search_open_the_record_and_play_it(server, browser, synced_demo, web_hq):
    shots = os.environ.get("FIELD_SCREENSHOTS") == "1"
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    page.goto(server + "/search")
    assert "/login" in page.url  # not logged in: the login page
    page.fill("input[name=username]", "wang")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/search")
    page.fill("input[name=q]", synced_demo.credit_code)
    page.click("#search-button")
    page.wait_for_selector("table.results a[href^='/record/']")
    assert page.locator("table.results a[href^='/record/']").count() == 15
    assert synced_demo.party in page.content()
    if shots:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "hq-search.png"), full_page=False)
    page.click("table.results a:text('检查（勘验）笔录')")
    page.wait_for_selector("video#video")
    markers = page.locator("#markers li")
    assert markers.count() >= 5
    assert "已告知全程录音录像" in page.locator("#markers").inner_text()
    duration = page.wait_for_function("() => { const v = document.getElementById('video');"
                                      " return v.readyState >= 1 && v.duration > 0 ? v.duration : false; }",
                                      timeout=20000).json_value()
    assert abs(duration - synced_demo.recording_seconds) < 1.0
    page.evaluate("() => { const v = document.getElementById('video'); v.muted = true; v.currentTime = 0; return v.play(); }")
    page.wait_for_function("() => document.getElementById('video').currentTime >= 2", timeout=20000)
    # clicking a marker seeks the video there
    notice = page.locator("#markers li.marker.still button.seek").nth(2)
    offset = float(notice.get_attribute("data-offset"))
    page.evaluate("() => document.getElementById('video').pause()")
    notice.click()
    page.wait_for_function(f"() => Math.abs(document.getElementById('video').currentTime - {offset}) < 1.0",
                           timeout=10000)
    assert "哈希链与签名核验通过" in page.content()
    if shots:
        page.evaluate("() => { const v = document.getElementById('video'); v.pause(); v.currentTime = 3.2; }")
        page.wait_for_timeout(800)
        page.screenshot(path=str(SCREENSHOTS / "hq-record.png"), full_page=False)
    page.close()


def test_unauthenticated_video_url_is_refused_in_the_browser(server, browser, synced_demo):
    page = browser.new_page()
    answer = page.goto(f"{server}/media/recording/{synced_demo.device_a}/{synced_demo.recording_id}.mp4")
    assert answer.status == 401
    page.close()


def _log_in(browser, server, username):
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="zh-CN", accept_downloads=True)
    page.goto(server + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/search")
    return page


def test_export_requested_approved_by_the_head_downloaded_and_verified(server, browser, synced_demo, web_hq,
                                                                     tmp_path):
    from sync.server.web.package import verify_package

    officer = _log_in(browser, server, "wang")
    officer.fill("input[name=q]", synced_demo.credit_code)
    officer.click("#search-button")
    officer.click("table.results a:text('检查（勘验）笔录')")
    officer.click("a.export-request")
    officer.wait_for_url("**/exports/new**")
    officer.click("form[action='/exports'] button[type=submit]")  # no reason: the browser keeps the form
    assert "/exports/new" in officer.url
    officer.fill("textarea[name=reason]", "移送司法机关（浏览器测试）")
    officer.click("form[action='/exports'] button[type=submit]")
    officer.wait_for_selector("text=待审批")
    request_url = officer.url
    assert officer.locator("a.download").count() == 0  # nothing to download before approval
    refused = officer.request.get(request_url.rstrip("/") + "/download")
    assert refused.status == 403

    head = _log_in(browser, server, "head")
    head.goto(request_url)
    head.click("form[action$='/approve'] button[type=submit]")
    head.wait_for_selector("text=已批准")
    number = head.locator("text=/长人社监复〔\\d{4}〕第\\d+号/").first.inner_text()
    assert "长人社监复" in number
    head.close()

    officer.goto(request_url)
    with officer.expect_download(timeout=120000) as download:
        officer.click("a.download")
    saved = tmp_path / "package.zip"
    download.value.save_as(saved)
    officer.close()
    assert verify_package(saved, web_hq.identity.public_key) == []


def test_compliance_dashboard_shows_the_late_upload_and_the_unrecorded_step(browser, hq, supervised):
    """The dashboard in the browser, on the supervision data: one record made to arrive 30 h late, and
    department A's second laptop ran a questioning after its recording had stopped."""
    from tests.web.conftest import add_users
    from tests.web.supervision import Web, first_record, make_late

    add_users(hq)
    make_late(hq, supervised.demo.device_a, first_record(hq, supervised.demo.device_a, "2-5"))
    with serving(Web(hq).app) as url:
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
        page.goto(url + "/login")
        page.fill("input[name=username]", "legal")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/search")
        page.goto(url + "/compliance?start=2000-01-01&end=2100-01-01")
        text = page.inner_text("main")
        assert "超过24小时上传" in text and "检查（勘验）笔录" in text
        assert "应全程录像而无录像的步骤" in text and "调查询问" in text
        if os.environ.get("FIELD_SCREENSHOTS") == "1":
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / "hq-compliance.png"), full_page=False)
        page.close()
