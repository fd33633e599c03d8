"""Unlocking: passwords, the device secret in the real OS keyring, throttling, idle lock, one process."""

from __future__ import annotations

import time

import keyring
import pytest

from field_app.store import (DeviceSecretMissing, KeyringUnavailable, Store, StoreBusy, StoreError, StoreLocked,
                             StoreNotFound, TooManyAttempts, WrongPassword)
from field_app.store.keys import KEYRING_SERVICE
from field_app.store.throttle import FREE_ATTEMPTS, wait_after
from tests.conftest import reset_keyring
from tests.unit.store.conftest import LIU, WANG, ZHAO, file_hashes, reopen
from tests.unit.test_secrets import PlaintextKeyring


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_790_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def closed(store, data_dir):
    store.append("note", {"text": "录像开始"})
    store.close()
    return data_dir


def test_wrong_password_is_refused_in_chinese_and_changes_nothing_on_disk(closed):
    before = file_hashes(closed)
    locked = Store.open(closed)
    with pytest.raises(WrongPassword) as caught:
        locked.unlock(WANG[1], "wang-jianguo-2025")
    assert "密码不正确" in str(caught.value) and "还可再试 2 次" in str(caught.value)
    with pytest.raises(WrongPassword, match="没有登记执法证号为 13010220999999"):
        locked.unlock("13010220999999", WANG[3])
    assert not locked.is_unlocked
    with pytest.raises(StoreLocked, match="请先输入执法证号和密码解锁"):
        locked.append("note", {"text": "x"})
    assert file_hashes(closed) == before


def test_unlock_with_the_right_password_after_a_wrong_one(closed):
    locked = Store.open(closed)
    with pytest.raises(WrongPassword):
        locked.unlock(WANG[1], LIU[3])  # someone else's password
    officer = locked.unlock(WANG[1], WANG[3])
    assert officer.name == "王建国" and locked.is_unlocked
    locked.close()


def test_after_free_attempts_the_next_try_must_wait_even_with_the_right_password(closed):
    clock = FakeClock()
    locked = Store.open(closed, clock=clock)
    for _ in range(FREE_ATTEMPTS + 1):
        with pytest.raises(WrongPassword):
            locked.unlock(WANG[1], "not-the-password")
    wait = wait_after(FREE_ATTEMPTS + 1)
    assert wait > 0
    before = file_hashes(closed)
    with pytest.raises(TooManyAttempts, match="秒后再试") as caught:
        Store.open(closed, clock=clock).unlock(WANG[1], WANG[3])  # a restart does not reset it
    assert caught.value.retry_after == pytest.approx(wait)
    assert file_hashes(closed) == before
    clock.now += wait + 1
    assert locked.unlock(WANG[1], WANG[3]).cert_no == WANG[1]
    locked.close()
    # success reset the count: the next wrong password is free again
    again = Store.open(closed, clock=clock)
    with pytest.raises(WrongPassword, match="还可再试 2 次"):
        again.unlock(WANG[1], "not-the-password")


def test_a_second_officer_joins_and_is_named_on_later_entries(closed):
    opened = reopen(closed, WANG)
    opened.unlock(LIU[1], LIU[3])
    assert [o.name for o in opened.unlocked_officers] == ["王建国", "刘晓燕"]
    entry = opened.append("note", {"text": "两名执法人员在场"})
    assert set(entry.officers) == {WANG[1], LIU[1]}
    opened.close()


def test_without_a_session_keyring_the_store_fails_closed(closed, keyring_env, monkeypatch):
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS")
    reset_keyring()
    try:
        locked = Store.open(closed)  # reading the header needs no keyring
        with pytest.raises(KeyringUnavailable, match="密钥环") as caught:
            locked.unlock(WANG[1], WANG[3])
        assert isinstance(caught.value, StoreError)
        assert not locked.is_unlocked
    finally:  # the keyring_env fixture ends by removing the variable itself
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", keyring_env["DBUS_SESSION_BUS_ADDRESS"])


def test_create_without_a_keyring_leaves_nothing_behind(isolated_home, hq_keys):
    reset_keyring()  # no session bus in this test
    with pytest.raises(KeyringUnavailable, match="密钥环"):
        Store.create(isolated_home, officers=[WANG], hq_public_key=hq_keys[1])
    assert not isolated_home.exists()


def test_a_plaintext_keyring_is_refused_and_receives_no_secret(isolated_home, hq_keys):
    keyring.set_keyring(PlaintextKeyring())
    try:
        with pytest.raises(KeyringUnavailable, match="不安全"):
            Store.create(isolated_home, officers=[WANG], hq_public_key=hq_keys[1])
        assert PlaintextKeyring.store == {}
    finally:
        reset_keyring()


def test_a_lost_device_secret_says_to_ask_hq(closed):
    store_id = Store.open(closed).store_id
    keyring.delete_password(KEYRING_SERVICE, f"device-secret:{store_id}")
    with pytest.raises(DeviceSecretMissing, match="局端"):
        Store.open(closed).unlock(WANG[1], WANG[3])
    keyring.set_password(KEYRING_SERVICE, f"device-secret:{store_id}", "00" * 32)  # a wrong one
    with pytest.raises(DeviceSecretMissing, match="不匹配"):
        Store.open(closed).unlock(WANG[1], WANG[3])


def test_change_password_rewraps_without_re_encrypting(closed):
    opened = reopen(closed)
    media_before = {k: v for k, v in file_hashes(closed).items() if k.startswith("vault/")}
    db_salt = (closed / "evidence.db").read_bytes()[:16]
    with pytest.raises(WrongPassword, match="原密码不正确"):
        opened.change_password(WANG[1], "wrong-old-password", "wang-new-2027")
    opened.change_password(WANG[1], WANG[3], "wang-new-2027")
    opened.close()
    assert (closed / "evidence.db").read_bytes()[:16] == db_salt
    assert {k: v for k, v in file_hashes(closed).items() if k.startswith("vault/")} == media_before
    with pytest.raises(WrongPassword):
        Store.open(closed).unlock(WANG[1], WANG[3])
    again = reopen(closed, ("王建国", WANG[1], "", "wang-new-2027"))
    assert [e.entry_type for e in again.entries_after(0)][-1] == "store.password_changed"
    again.close()


def test_enrol_a_third_officer_later(closed):
    opened = reopen(closed)
    opened.enrol_officer(*ZHAO)
    opened.close()
    assert ZHAO[1] in Store.open(closed).enrolled_cert_nos
    assert reopen(closed, ZHAO).unlocked_officers[0].name == "赵志强"


def test_only_one_process_or_window_at_a_time(closed):
    first = reopen(closed)
    with pytest.raises(StoreBusy, match="另一个程序"):
        reopen(closed, LIU)
    first.close()
    reopen(closed, LIU).close()


def test_idle_store_locks_itself_unless_held(store):
    store.idle_timeout = 0.3
    store.touch()
    assert store.check_idle() is False
    with store.keep_unlocked():
        time.sleep(0.4)
        assert store.check_idle() is False  # recording in progress: stays unlocked
        with pytest.raises(StoreError, match="正在录制"):
            store.lock()
    time.sleep(0.4)
    assert store.check_idle() is True
    assert not store.is_unlocked and store.unlocked_officers == ()
    with pytest.raises(StoreLocked):
        store.entries_after(0)


def test_open_an_empty_directory(tmp_path):
    with pytest.raises(StoreNotFound, match="没有证据库"):
        Store.open(tmp_path)
