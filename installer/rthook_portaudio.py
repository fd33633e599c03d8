"""PyInstaller runtime hook (Linux): make sounddevice load the PortAudio copied into the bundle.

sounddevice looks PortAudio up with ``ctypes.util.find_library("portaudio")``, which on Linux asks
``ldconfig`` (system libraries only) — PyInstaller patches it on Windows, not on Linux. Without this
hook a laptop without the system's libportaudio2 would report no microphone although the bundle
carries the library. Runs before the app imports sounddevice."""

import ctypes.util
import os
import sys

_system_find_library = ctypes.util.find_library


def _find_library(name):
    if name == "portaudio":
        bundled = os.path.join(getattr(sys, "_MEIPASS", ""), "libportaudio.so.2")
        if os.path.isfile(bundled):
            return bundled
    return _system_find_library(name)


if sys.platform.startswith("linux") and getattr(sys, "frozen", False):
    ctypes.util.find_library = _find_library
