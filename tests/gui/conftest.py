"""GUI test fixtures: a real store (real SecretService keyring, cheap Argon2id so unlock is fast),
the main window on it, and helpers to drive it like an officer."""

from __future__ import annotations

import pytest

from field_app.store import Store
from field_app.store.keys import KdfParams
from tests.unit.store.conftest import HENGTAI, LIU, WANG, data_dir, hq_keys, store  # noqa: F401

CHEAP_KDF = KdfParams(memory_kib=8192, time_cost=1, parallelism=1)


@pytest.fixture
def made_store(keyring_env, data_dir, hq_keys):  # noqa: F811
    """A closed store with 王建国 and 刘晓燕 enrolled (cheap KDF) and the 恒泰 case."""
    created = Store.create(data_dir, officers=[WANG, LIU], hq_public_key=hq_keys[1], kdf=CHEAP_KDF)
    created.add_case(**HENGTAI)
    created.close()
    return data_dir


@pytest.fixture
def window(qtbot, made_store):
    from field_app.ui import common
    from field_app.ui.app import create_app
    from field_app.ui.main_window import MainWindow
    from field_app.ui.recording import RecordingPanel

    create_app()
    common.ASK = lambda parent, title, summary: True  # one confirmation: answered yes
    win = MainWindow(made_store)
    qtbot.addWidget(win)
    win.resize(1366, 768)
    win.show()
    qtbot.waitExposed(win)
    yield win
    panel = getattr(win, "panel", None)
    if panel is not None and panel.running:
        panel.session.stop()
    win.close()
    common.ASK = common._ask


def synthetic_sources():
    from field_app.capture.sources import SyntheticAudio, SyntheticVideo

    return SyntheticVideo(320, 180, 10), SyntheticAudio()


def small_settings():
    from field_app.capture.encoder import EncoderSettings

    return EncoderSettings(width=320, height=180, fps=10, video_bitrate=300_000,
                           segment_seconds=1.0)
