"""Whether a graphical display is reachable, decided without importing Qt.

Qt aborts the whole process when it cannot load a platform plugin, so the CLI asks here first and
tells the user what to do instead of crashing.
"""

from __future__ import annotations

import os
import sys

NO_DISPLAY_MESSAGE = (
    "未检测到图形显示（没有 DISPLAY 或 WAYLAND_DISPLAY），无法打开程序窗口。\n"
    "请在笔记本的桌面会话中运行；在没有屏幕的机器上可以这样运行：\n"
    "    xvfb-run -a field-app\n"
    "只想检查设备时请运行：field-app doctor"
)


def display_problem(environ: dict[str, str] | None = None) -> str | None:
    """A Chinese explanation if no display can be used, else None.

    An explicit QT_QPA_PLATFORM (offscreen, xcb, wayland…) is trusted: the caller chose it.
    """
    env = os.environ if environ is None else environ
    if not sys.platform.startswith("linux"):
        return None
    if env.get("QT_QPA_PLATFORM") or env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"):
        return None
    return NO_DISPLAY_MESSAGE
