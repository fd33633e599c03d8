"""The HQ API against bad input: every refusal is a coded error with a Chinese message, and nothing
is stored or lost. Real server (subprocess), real HTTP."""

from __future__ import annotations

import http.client
import json

import pytest

from sync.client import SyncSession, enrol
from sync.client.errors import SyncError
from sync.client.transport import Transport
from sync.protocol.errors import Code, ProtocolError
from tests.fakes.demo_store import add_media, fill_demo
from tests.sync.conftest import DEPARTMENT, enrol_store
from tests.sync.helpers import hq_state


def _raw(hq, method, path, body=b"", headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", hq.port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def _signed(store, hq) -> Transport:
    t = Transport(hq.url, device_id=store.store_id, signer=lambda m: store.device_sign("request", m))
    t.measure_clock()
    return t


def _code(fn) -> int:
    with pytest.raises(ProtocolError) as caught:
        fn()
    assert any("\u4e00" <= ch <= "\u9fff" for ch in caught.value.message)
    return caught.value.code


def test_unauthenticated_and_malformed_requests_get_coded_chinese_errors(hq):
    status, body = _raw(hq, "GET", "/v1/nowhere")
    assert (status, body["error"]["code"]) == (404, Code.NOT_FOUND)
    status, body = _raw(hq, "POST", "/v1/entries", b"{}")
    assert (status, body["error"]["code"]) == (401, Code.AUTH_MISSING)
    status, body = _raw(hq, "GET", "/v1/time", headers={"X-FR-Protocol": "2"})
    assert (status, body["error"]["code"]) == (426, Code.UNSUPPORTED_VERSION)
    status, body = _raw(hq, "POST", "/v1/enrol", b"not json")
    assert (status, body["error"]["code"]) == (400, Code.MALFORMED_REQUEST)
    assert "请求格式不正确" in body["error"]["message"]
    status, body = _raw(hq, "POST", "/v1/enrol", b"x" * (2 << 20))
    assert (status, body["error"]["code"]) == (413, Code.BODY_TOO_LARGE)


def test_openapi_is_published_and_no_page_loads_from_the_internet(hq):
    status, schema = _raw(hq, "GET", "/v1/openapi.json")
    assert status == 200
    assert {"/v1/enrol", "/v1/entries", "/v1/blobs/{sha256}/chunks/{index}", "/v1/receipt", "/v1/roster",
            "/v1/definitions", "/v1/assignments"} <= set(schema["paths"])
    for path in ("/docs", "/redoc"):  # the interactive pages would load scripts from the internet
        conn = http.client.HTTPConnection("127.0.0.1", hq.port, timeout=10)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            page = response.read().decode("utf-8")
        finally:
            conn.close()
        assert response.status == 404 and "swagger" not in page.lower() and "cdn." not in page


def test_signed_request_refusals(store, data_dir, hq):
    enrol_store(store, data_dir, hq)
    t = _signed(store, hq)
    assert t.request("GET", "/v1/device")["head_size"] == 0
    # a stranger's key
    stranger = Transport(hq.url, device_id=store.store_id, signer=lambda m: b"\x00" * 64)
    assert _code(lambda: stranger.request("GET", "/v1/device")) == Code.AUTH_BAD_SIGNATURE
    unknown = Transport(hq.url, device_id="nobody-0000", signer=lambda m: store.device_sign("request", m))
    assert _code(lambda: unknown.request("GET", "/v1/device")) == Code.AUTH_UNKNOWN_DEVICE
    skewed = _signed(store, hq)
    skewed.clock_offset_ms = -3600_000
    assert _code(lambda: skewed.request("GET", "/v1/device")) == Code.AUTH_CLOCK_SKEW
    # a wrong protocol version inside the body
    assert _code(lambda: t.request("POST", "/v1/entries", b'{"v": 2, "entries": []}')) == Code.UNSUPPORTED_VERSION


def test_bad_entries_are_refused_and_nothing_is_stored(store, data_dir, hq):
    fill_demo(store, segments=1)
    enrol_store(store, data_dir, hq)
    t = _signed(store, hq)
    entries = [e.to_json() for e in store.entries_after(0, 100)]
    before = hq_state(hq)

    def push(items):
        return t.request("POST", "/v1/entries", json.dumps({"v": 1, "entries": items}).encode())

    tampered = [dict(e) for e in entries]
    tampered[3]["payload"] = tampered[3]["payload"].replace("}", ',"x":1}')
    assert _code(lambda: push(tampered)) == Code.ENTRY_HASH_MISMATCH
    assert _code(lambda: push(entries[1:])) == Code.ENTRY_GAP
    forged = [dict(e) for e in entries]
    forged[2]["signature"] = "00" * 64
    assert _code(lambda: push(forged)) == Code.BAD_SIGNATURE
    assert _code(lambda: push([{"seq": 1}])) == Code.MALFORMED_ENTRY
    assert hq_state(hq) == before  # all or nothing: not even the good entries before the bad one
    answer = push(entries)
    assert answer["accepted"] == len(entries) and answer["missing_total"] == 3
    again = push(entries)  # idempotent
    assert (again["accepted"], again["duplicates"]) == (0, len(entries))


def test_blob_chunk_refusals(store, data_dir, hq):
    sha = add_media(store, 5 << 20)
    store.append("capture.segment", {"i": 0}, media=[sha])
    enrol_store(store, data_dir, hq)
    t = _signed(store, hq)
    t.request("POST", "/v1/entries", json.dumps({"v": 1, "entries": [e.to_json() for e in store.entries_after(0, 99)]}).encode())
    with store.open_media(sha) as fh:
        data = fh.read()
    import hashlib

    def put(index, body, size=len(data), digest=None, blob=sha):
        # the declared hash is the blob's prefix up to the chunk's end: the acknowledged bytes + this body
        digest = digest or hashlib.sha256(data[:index * chunk] + body).hexdigest()
        return t.request("PUT", f"/v1/blobs/{blob}/chunks/{index}", body, body_sha256=digest, chunk=True,
                         headers={"X-FR-Prefix-SHA256": digest, "X-FR-Blob-Size": str(size)})

    chunk = 4 << 20
    assert _code(lambda: put(0, data[:chunk], blob="ab" * 32)) == Code.BLOB_NOT_EXPECTED
    assert _code(lambda: put(1, data[chunk:])) == Code.CHUNK_OUT_OF_ORDER
    assert _code(lambda: put(0, data[:chunk], digest="00" * 32)) == Code.CHUNK_HASH_MISMATCH
    assert _code(lambda: put(0, data[:1000])) == Code.CHUNK_SIZE_WRONG
    assert put(0, data[:chunk])["offset"] == chunk
    assert put(0, data[:chunk])["offset"] == chunk  # repeated chunk: acknowledged, not written twice
    assert _code(lambda: put(1, data[chunk:], size=len(data) + 1)) == Code.BLOB_SIZE_MISMATCH
    assert _code(lambda: put(1, b"\x00" * (len(data) - chunk))) == Code.BLOB_HASH_MISMATCH
    state = t.request("GET", f"/v1/blobs/{sha}")
    assert (state["state"], state["offset"]) == ("absent", 0)  # the bad upload was discarded, start again
    assert put(0, data[:chunk])["offset"] == chunk
    assert put(1, data[chunk:])["complete"] is True
    assert SyncSession(store, data_dir).run().ok


def test_enrolment_codes_are_one_time_and_checked(store, data_dir, hq, tmp_path, keyring_env, hq_keys):
    code = hq.admin("enrolment-code", "--department", DEPARTMENT).strip()
    with pytest.raises(SyncError) as caught:
        enrol(store, data_dir, hq.url, "0000-0000-0000-0000")
    assert caught.value.code == Code.ENROL_CODE_INVALID and "登记码不正确" in str(caught.value)
    first = enrol(store, data_dir, hq.url, code)
    assert enrol(store, data_dir, hq.url, code.lower()).hq_id == first.hq_id  # same device again: fine
    from field_app.store import Store
    from tests.unit.store.conftest import ZHAO

    other = Store.create(tmp_path / "other", officers=[ZHAO], hq_public_key=hq_keys[1])
    try:
        with pytest.raises(SyncError) as caught:
            enrol(other, tmp_path / "other", hq.url, code)
        assert caught.value.code == Code.ENROL_CODE_USED
    finally:
        other.close()
    from field_app.store.escrow import generate_hq_keypair

    foreign = Store.create(tmp_path / "foreign", officers=[ZHAO], hq_public_key=generate_hq_keypair()[1])
    try:
        code2 = hq.admin("enrolment-code", "--department", DEPARTMENT).strip()
        with pytest.raises(SyncError) as caught:
            enrol(foreign, tmp_path / "foreign", hq.url, code2)
        assert caught.value.code == Code.ENROL_ESCROW_MISMATCH
    finally:
        foreign.close()
    roster = store.record_versions("sync.roster")[-1].payload
    assert {o["cert_no"] for o in roster["officers"]} == {"13010220170031", "13010220190047"}


def test_a_fake_hq_without_the_code_cannot_enrol_the_laptop(store, data_dir, hq, monkeypatch):
    """The answer's HMAC is keyed by the code: an HQ that did not issue it is refused."""
    hq.admin("enrolment-code", "--department", DEPARTMENT)
    code = hq.admin("enrolment-code", "--department", DEPARTMENT).strip()
    original = Transport.request

    def tamper(self, method, path, body=b"", **kw):
        answer = original(self, method, path, body, **kw)
        if path.endswith("/v1/enrol"):
            answer["department"] = "假冒的部门"
        return answer

    monkeypatch.setattr(Transport, "request", tamper)
    with pytest.raises(SyncError) as caught:
        enrol(store, data_dir, hq.url, code)
    assert "无法验证" in str(caught.value)
    assert store.record_versions("sync.enrolment") == []


def test_plain_http_to_a_remote_host_is_refused():
    from sync.client.transport import TransportError, check_url

    with pytest.raises(TransportError) as caught:
        check_url("http://hq.example.gov.cn:8443")
    assert "https" in str(caught.value) and not caught.value.retry
    assert check_url("https://hq.example.gov.cn:8443")[0] == "https"


def test_field_hq_serve_also_serves_the_web_platform(hq):
    """The same `field-hq serve` process answers browsers: the login page, and a redirect to it."""
    conn = http.client.HTTPConnection("127.0.0.1", hq.port, timeout=10)
    try:
        conn.request("GET", "/search")
        redirect = conn.getresponse()
        redirect.read()
        conn.request("GET", "/login")
        login = conn.getresponse()
        page = login.read().decode("utf-8")
    finally:
        conn.close()
    assert redirect.status == 303 and redirect.getheader("location").startswith("/login")
    assert login.status == 200 and "执法全过程记录管理平台" in page and 'name="csrf"' in page
