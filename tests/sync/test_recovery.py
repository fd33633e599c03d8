"""Recovering a laptop store through HQ, as IT does it: `field-hq recover-key` opens that one device's
escrow box with the escrow private key (which stays at HQ) and writes the store's data key; on the
laptop `field-app recover --data-key-file` opens the store with it and sets a new password."""

from __future__ import annotations

import hashlib

from field_app.store import Store
from tests.harness.hq import field_hq
from tests.sync.conftest import enrol_store
from tests.unit.store.conftest import HENGTAI, LIU, WANG
from tests.unit.store.test_cli import field_app, password_file


def _files(data_dir):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(data_dir.iterdir()) if p.is_file() and p.suffix in (".json", ".db")}


def _recover_key(hq, device_id, escrow_key_file, out):
    return field_hq("recover-key", "--data-dir", str(hq.data_dir), "--device", device_id,
                    "--escrow-key", str(escrow_key_file), "--out", str(out))


def test_a_data_key_from_hq_reopens_the_store_with_a_new_password(store, data_dir, hq, hq_keys, tmp_path):
    store.add_case(**HENGTAI)
    enrol_store(store, data_dir, hq)
    device_id = store.store_id
    store.close()
    escrow = tmp_path / "escrow.key"
    escrow.write_text(hq_keys[0].hex() + "\n")
    escrow.chmod(0o600)
    key_file = tmp_path / "device.key"
    made = _recover_key(hq, device_id, escrow, key_file)
    assert made.returncode == 0, made.stdout + made.stderr
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"

    new_pw = password_file(tmp_path, "wang-after-recovery-2027", "new.txt")
    result = field_app(data_dir, "recover", "--data-key-file", str(key_file), "--officer", WANG[1],
                       "--password-file", new_pw)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "现在可以用新密码解锁" in result.stdout
    check = field_app(data_dir, "verify", "--officer", WANG[1], "--password-file", new_pw)
    assert check.returncode == 0, check.stdout + check.stderr
    reopened = Store.open(data_dir)
    reopened.unlock(WANG[1], "wang-after-recovery-2027")
    try:
        assert [c.party_name for c in reopened.search("恒泰")] == [HENGTAI["party_name"]]
        recovered = [e for e in reopened.entries_after(0) if e.entry_type == "store.recovered"]
        assert [e.payload["method"] for e in recovered] == ["hq-data-key"]
    finally:
        reopened.close()


def test_the_key_of_another_store_is_refused_and_nothing_changes(store, data_dir, hq_keys, tmp_path, keyring_env):
    store.close()
    other_dir = tmp_path / "other"
    other = Store.create(other_dir, officers=[LIU], hq_public_key=hq_keys[1])
    other.close()
    from field_app.store.escrow import open_sealed  # what field-hq recover-key computes, for the other store
    wrong = open_sealed(hq_keys[0], other.header.escrow, other.header.store_id.encode())
    key_file = tmp_path / "other.key"
    key_file.write_text(wrong.hex() + "\n")
    before = _files(data_dir)
    result = field_app(data_dir, "recover", "--data-key-file", str(key_file), "--officer", WANG[1],
                       "--password-file", password_file(tmp_path, "whatever-new-2027"))
    assert result.returncode == 2
    assert "无法解密" in result.stderr and "Traceback" not in result.stderr
    assert _files(data_dir) == before

    key_file.write_text("not a key\n")
    garbled = field_app(data_dir, "recover", "--data-key-file", str(key_file), "--officer", WANG[1],
                        "--password-file", password_file(tmp_path, "whatever-new-2027"))
    assert garbled.returncode == 2 and "64 位十六进制" in garbled.stderr
    assert _files(data_dir) == before
