"""HQ escrow: a store whose officers all forgot their passwords is recovered with the HQ private key."""

from __future__ import annotations

import io

import keyring
import pytest
from cryptography.hazmat.primitives import serialization

from field_app.store import Store, StoreCorrupt, StoreError, WrongPassword
from field_app.store.escrow import generate_hq_keypair, load_hq_private_key, recover_store
from field_app.store.keys import KEYRING_SERVICE, read_header, write_header
from field_app.store.verify import verify_store
from tests.unit.store.conftest import HENGTAI, LIU, WANG, file_hashes, reopen

NEW_PASSWORD = "wang-after-recovery-2027"


@pytest.fixture
def forgotten(store, data_dir):
    """A store with evidence, closed; from here on the tests use no officer password."""
    store.add_case(**HENGTAI)
    ref = store.put_media(io.BytesIO(b"video segment " * 50_000), media_type="video/mp4")
    store.append("capture.segment", {"index": 0}, media=[ref.sha256])
    store.close()
    return data_dir, ref


@pytest.mark.parametrize("keyring_lost", [False, True], ids=["same-laptop", "keyring-lost-too"])
def test_recovery_with_the_hq_private_key_after_all_passwords_are_forgotten(forgotten, hq_keys, keyring_lost):
    data_dir, ref = forgotten
    store_id = Store.open(data_dir).store_id
    if keyring_lost:  # e.g. the laptop was reinstalled, or HQ recovers on its own machine
        keyring.delete_password(KEYRING_SERVICE, f"device-secret:{store_id}")
    recovered = recover_store(data_dir, hq_keys[0])
    assert recovered.recovered and recovered.unlocked_officers == ()
    assert recovered.search("恒泰建筑")[0].party_name == HENGTAI["party_name"]
    assert recovered.open_media(ref.sha256).read() == b"video segment " * 50_000
    assert verify_store(recovered) == []
    recovered.reset_password(WANG[1], NEW_PASSWORD)
    recovered.close()

    again = reopen(data_dir, ("王建国", WANG[1], "", NEW_PASSWORD))
    types = [e.entry_type for e in again.entries_after(0)]
    expected = ["store.recovered", "store.device_secret_replaced", "store.password_reset"]
    if not keyring_lost:
        expected.remove("store.device_secret_replaced")
    assert types[-len(expected):] == expected
    assert verify_store(again) == []
    again.close()
    if keyring_lost:  # the other officer's old key used the lost device secret: gone, must be reset too
        with pytest.raises(WrongPassword, match="没有登记"):
            Store.open(data_dir).unlock(LIU[1], LIU[3])
    else:
        reopen(data_dir, LIU).close()
    with pytest.raises(WrongPassword):
        Store.open(data_dir).unlock(WANG[1], WANG[3])


def test_another_hq_key_does_not_open_it_and_changes_nothing(forgotten):
    data_dir, _ = forgotten
    before = file_hashes(data_dir)
    with pytest.raises(WrongPassword, match="局端私钥与本证据库登记的局端公钥不匹配"):
        recover_store(data_dir, generate_hq_keypair()[0])
    assert file_hashes(data_dir) == before


def test_a_damaged_escrow_box_is_reported(forgotten, hq_keys):
    data_dir, _ = forgotten
    header = read_header(data_dir)
    sealed = bytearray.fromhex(header.escrow["sealed"])
    sealed[-1] ^= 1
    header.escrow["sealed"] = sealed.hex()
    write_header(data_dir, header)
    with pytest.raises(StoreCorrupt, match="托管密钥无法解开"):
        recover_store(data_dir, hq_keys[0])


def test_the_hq_key_may_be_pem_or_hex(forgotten, hq_keys):
    private = load_hq_private_key(hq_keys[0])
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    assert load_hq_private_key(pem).private_bytes_raw() == hq_keys[0]
    assert load_hq_private_key(hq_keys[0].hex()).private_bytes_raw() == hq_keys[0]
    recover_store(forgotten[0], pem).close()


def test_reset_password_is_only_for_recovery(store):
    with pytest.raises(StoreError, match="恢复证据库后才能重设密码"):
        store.reset_password(WANG[1], NEW_PASSWORD)


def test_the_escrow_box_is_sealed_to_hq_only(store, data_dir, hq_keys):
    header = read_header(data_dir)
    assert header.escrow["hq_public_key"] == hq_keys[1].hex()
    assert hq_keys[0].hex() not in (data_dir / "store.json").read_text()
    assert bytes(store._data_key).hex() not in (data_dir / "store.json").read_text()
