"""The keyring is accepted only when it is the OS credential store (fail closed otherwise)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import keyring
import pytest
from keyring.backend import KeyringBackend
from jaraco.classes import properties
from keyring.backends import fail, null

from tests.conftest import reset_keyring
from field_app.store.secrets import KeyringUnavailable, describe_keyring, probe_keyring, require_safe_keyring


class PlaintextKeyring(KeyringBackend):
    """Shaped like keyrings.alt.file.PlaintextKeyring, but never picked by discovery (keyring registers
    every subclass globally; a viable one would leak into other tests)."""

    store: dict = {}

    @properties.classproperty
    def priority(cls):
        raise RuntimeError("used only when set explicitly")

    def get_password(self, service, username):
        return self.store.get((service, username))

    def set_password(self, service, username, password):
        self.store[(service, username)] = password

    def delete_password(self, service, username):
        self.store.pop((service, username), None)


def test_secret_service_is_safe_and_round_trips(keyring_env):
    report = probe_keyring()
    assert report.safe
    assert "SecretService" in report.backend


def test_keyring_fixture_stores_in_the_real_daemon(keyring_env):
    keyring.set_password("field-recorder-test", "officer", "设备密钥-123")
    assert keyring.get_password("field-recorder-test", "officer") == "设备密钥-123"
    # Read it back through libsecret's own tool: the secret really is in gnome-keyring.
    looked_up = subprocess.run(
        ["secret-tool", "lookup", "service", "field-recorder-test", "username", "officer"],
        capture_output=True, text=True, timeout=20,
    )
    assert looked_up.stdout == "设备密钥-123"
    keyring.delete_password("field-recorder-test", "officer")


@pytest.mark.parametrize("backend", [fail.Keyring(), null.Keyring(), PlaintextKeyring()],
                         ids=["fail", "null", "plaintext"])
def test_unsafe_backends_are_refused_with_a_chinese_message(backend):
    keyring.set_keyring(backend)
    try:
        assert not describe_keyring().safe
        with pytest.raises(KeyringUnavailable, match="密钥环"):
            require_safe_keyring()
        assert PlaintextKeyring.store == {}  # nothing was written anywhere
    finally:
        reset_keyring()


CHAINED_PLAINTEXT = textwrap.dedent("""
    import keyring, keyring.core
    from keyring.backend import KeyringBackend
    from field_app.store.secrets import describe_keyring

    class PlaintextKeyring(KeyringBackend):  # what installing keyrings.alt adds: viable, priority 0.5
        priority = 0.5
        def get_password(self, s, u): return None
        def set_password(self, s, u, p): pass
        def delete_password(self, s, u): pass

    keyring.core.init_backend()
    report = describe_keyring()
    print(type(keyring.get_keyring()).__name__, report.safe)
""")


def test_secret_service_chained_with_a_plaintext_backend_is_refused(keyring_env):
    # With keyrings.alt installed next to a working SecretService, keyring silently chains both and
    # reads from the plaintext file too: the whole chain must be refused.
    result = subprocess.run([sys.executable, "-c", CHAINED_PLAINTEXT], capture_output=True, text=True,
                            env=dict(os.environ), timeout=60)
    assert result.stdout.split() == ["ChainerBackend", "False"], result.stderr


def test_no_session_bus_means_no_keyring():
    reset_keyring()  # the harness removed DBUS_SESSION_BUS_ADDRESS
    with pytest.raises(KeyringUnavailable):
        require_safe_keyring()
