"""The Qt binding itself must not corrupt the interpreter.

PySide6-Essentials 6.12.0 loses one reference to ``True`` on every signal emitted from Python (any
signal, any arguments). The app emits on every op, recording tick and refresh, so after some
thousands of emits the interpreter aborts ("Fatal Python error: bool_dealloc") — in the field that
is the app dying mid-visit, in CI it was the test process aborting at exit after all tests passed.
This test emits through the ops runner's own relay signal in a child process (an abort must show as
a failure here, not kill the test run) and checks that the refcount of ``True`` stays put, so an
upgrade of the pin that brings the bug back is caught before it reaches a laptop.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

EMITS = 3000

CHILD = textwrap.dedent(
    f"""
    import gc, sys
    from PySide6.QtCore import QCoreApplication
    from field_app.ui.ops import _Relay
    app = QCoreApplication([])
    relay = _Relay()
    seen = []
    relay.finished.connect(lambda op, result, exc: seen.append(result))
    gc.collect()
    before = sys.getrefcount(True)
    for i in range({EMITS}):
        relay.finished.emit(None, True, None)
    gc.collect()
    after = sys.getrefcount(True)
    print(len(seen), before, after)
    """
)


def test_emitting_signals_does_not_eat_references_to_true():
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, f"the Qt binding crashed the interpreter:\n{done.stderr[-2000:]}"
    delivered, before, after = (int(x) for x in done.stdout.split())
    assert delivered == EMITS
    # Each delivered result is appended to ``seen`` (+1 reference each); the bug takes one away per emit.
    assert after - before >= EMITS - 50, (before, after)
