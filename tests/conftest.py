"""Shared fixtures: an isolated HOME and data dir per test, Qt offscreen, and real system services.

Fixtures for services start them once per session and hand each test the environment variables that
reach them. Under CI (CI=true) a missing system dependency fails instead of skipping.
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before anything imports Qt

import pytest

from tests.harness.daemons import PulseAudio, SecretService

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch) -> Path:
    """Every test gets its own HOME, XDG dirs and app data dir; nothing leaks between tests.

    Returns the data directory (``FIELD_APP_DATA``), not created.
    """
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local/share"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    data_dir = tmp_path / "field-data"
    monkeypatch.setenv("FIELD_APP_DATA", str(data_dir))
    # No ambient services: tests that need one ask for its fixture.
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    monkeypatch.delenv("PULSE_SERVER", raising=False)
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    return data_dir


@pytest.fixture(scope="session")
def secret_service(tmp_path_factory):
    service = SecretService(tmp_path_factory.mktemp("secret-service")).start()
    yield service
    service.stop()


@pytest.fixture
def keyring_env(secret_service, monkeypatch) -> dict[str, str]:
    """The real SecretService keyring for this test (and for child processes it starts)."""
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", secret_service.bus_address)
    reset_keyring()  # re-resolve the backend now that the bus is reachable
    yield {"DBUS_SESSION_BUS_ADDRESS": secret_service.bus_address}
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS")
    reset_keyring()


def reset_keyring() -> None:
    """Make `keyring` choose its backend again from the current environment.

    keyring caches the list of viable backends per process (as the app does: it starts once per
    session); tests that change the environment must clear it.
    """
    import keyring.backend
    import keyring.core

    vars(keyring.backend.get_all_keyring).pop("saved_result", None)
    keyring.core.init_backend()


@pytest.fixture(scope="session")
def pulse_server(tmp_path_factory):
    server = PulseAudio(tmp_path_factory.mktemp("pulse")).start()
    yield server
    server.stop()


@pytest.fixture
def audio_env(pulse_server, monkeypatch) -> dict[str, str]:
    """A real PulseAudio server whose default source is a 440 Hz sine wave.

    PortAudio enumerates devices once at initialisation, so it is re-initialised here.
    """
    monkeypatch.setenv("PULSE_SERVER", pulse_server.server)
    _reinit_portaudio()
    yield {"PULSE_SERVER": pulse_server.server}
    monkeypatch.delenv("PULSE_SERVER")
    _reinit_portaudio()


def _reinit_portaudio() -> None:
    try:
        import sounddevice
    except OSError:
        return
    sounddevice._terminate()
    sounddevice._initialize()
