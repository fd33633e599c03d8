"""`field-app doctor`: what this laptop can and cannot do, in plain Chinese, for IT and officers.

Every check opens the real thing (a camera frame, microphone samples, a keyring round trip, a font
registration, a Qt platform in a child process) instead of trusting that a file exists. Exit code 0
means the app can do its job here; otherwise the report says which check failed and what to do.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from field_app import __version__
from field_app.display import display_problem
from field_app.paths import self_command

OK, WARN, ERROR = "正常", "警告", "错误"

# Recording 720p for a long visit takes about 1 GB an hour; below these the officer will run out.
DISK_ERROR_BYTES = 5 * 1024**3
DISK_WARN_BYTES = 20 * 1024**3


@dataclass
class Check:
    key: str
    title: str
    status: str
    detail: str
    advice: str = ""


def _configured_synthetic(data_dir: Path | None, which: str) -> bool:
    from field_app.capture.config import SYNTHETIC, CaptureConfigError, load_capture_config

    if data_dir is None:
        return False
    try:
        return getattr(load_capture_config(data_dir), which) == SYNTHETIC
    except CaptureConfigError:
        return False  # reported by the encoder check


def check_cameras(data_dir: Path | None = None) -> Check:
    from field_app.capture.devices import find_cameras

    if _configured_synthetic(data_dir, "camera"):
        return Check("camera", "摄像头", WARN, "录像设置（capture.json）使用测试信号，录下的画面不能作为证据",
                     "正式执法前请信息技术人员把 capture.json 中的 camera 改回真实摄像头。")

    try:
        cams = find_cameras()
    except Exception as exc:
        return Check("camera", "摄像头", ERROR, f"无法检测摄像头（{exc}）", "请检查 OpenCV 是否安装完整。")
    if not cams:
        return Check("camera", "摄像头", ERROR, "未找到摄像头（没有能输出画面的视频设备）",
                     "请连接摄像头或检查驱动，然后重新运行 field-app doctor。没有摄像头不能进行需要全程录像的执法。")
    shown = "；".join(f"{c.ident}（{c.width}×{c.height}）" for c in cams)
    return Check("camera", "摄像头", OK, f"找到 {len(cams)} 个：{shown}")


def check_microphones(data_dir: Path | None = None) -> Check:
    from field_app.capture.devices import AudioUnavailable, find_microphones

    if _configured_synthetic(data_dir, "microphone"):
        return Check("microphone", "麦克风", WARN, "录像设置（capture.json）使用测试信号，录下的声音不能作为证据",
                     "正式执法前请信息技术人员把 capture.json 中的 microphone 改回真实麦克风。")

    try:
        mics = find_microphones()
    except AudioUnavailable as exc:
        return Check("microphone", "麦克风", ERROR, str(exc), "请安装音频组件后重试。")
    default = [m for m in mics if m.is_default]
    if not mics:
        return Check("microphone", "麦克风", ERROR, "未找到能录音的麦克风", "请连接麦克风或检查声音设置。")
    if not default:
        return Check("microphone", "麦克风", WARN, f"找到 {len(mics)} 个输入设备，但默认输入设备无法录音",
                     "请在系统声音设置中选择可用的默认麦克风。")
    mic = default[0]
    level = "无声" if mic.level_dbfs is None or mic.level_dbfs == float("-inf") else f"{mic.level_dbfs:.0f} dBFS"
    return Check("microphone", "麦克风", OK, f"默认：{mic.name}（试录电平 {level}）；共 {len(mics)} 个输入设备")


def check_encoder(data_dir: Path) -> Check:
    """Record one second from the synthetic sources through the real encoder and read it back."""
    import io

    import av

    from field_app.capture.config import CaptureConfigError, load_capture_config
    from field_app.capture.encoder import EncoderSettings, SegmentEncoder
    from field_app.capture.sources import SyntheticAudio, SyntheticVideo

    try:
        config = load_capture_config(data_dir)
    except CaptureConfigError as exc:
        return Check("encoder", "录像编码", ERROR, str(exc))
    buffers: list[io.BytesIO] = []

    class MemorySink:
        def begin(self, index):
            buffers.append(io.BytesIO())
            return buffers[-1]

        def end(self, index, writer, segment):
            pass

    settings = EncoderSettings(width=320, height=240, fps=30, segment_seconds=10)
    try:
        video, audio = SyntheticVideo(320, 240, 30), SyntheticAudio()
        encoder = SegmentEncoder(settings, MemorySink())
        for i in range(30):
            encoder.video(i / 30, video.frame_at(i))
            encoder.audio(i / 30, audio.samples(i * 1600, 1600))
        encoder.close()
        buffers[0].seek(0)
        with av.open(buffers[0], "r", format="matroska") as container:
            frames = sum(1 for _ in container.decode(video=0))
    except Exception as exc:
        return Check("encoder", "录像编码", ERROR, f"录像编码测试失败（{type(exc).__name__}: {exc}）",
                     "请重新安装程序（PyAV/FFmpeg 可能不完整）。")
    if frames < 29:
        return Check("encoder", "录像编码", ERROR, f"测试录像只读回 {frames} 帧（应为 30 帧）")
    e = config.encoder
    devices = f"摄像头 {config.camera if config.camera is not None else '默认'}，麦克风 {config.microphone if config.microphone is not None else '默认'}"
    return Check("encoder", "录像编码", OK, f"H.264/AAC 测试录像正常；设置 {e.width}×{e.height} {e.fps} 帧/秒，"
                 f"每段 {e.segment_seconds:g} 秒；{devices}")


def check_pdf_font() -> Check:
    from field_app.printing.fonts import FontUnavailable, print_fonts

    try:
        fonts = print_fonts()
    except FontUnavailable as exc:
        return Check("pdf_font", "打印用中文字体", ERROR, str(exc))
    if fonts.body == fonts.heading:
        return Check("pdf_font", "打印用中文字体", WARN, f"{fonts.heading.path}（缺少宋体，正文改用黑体）",
                     "打印仍可进行；如需宋体，请恢复 resources/fonts/pdf 中的字体文件。")
    return Check("pdf_font", "打印用中文字体", OK, f"正文 {fonts.body.path}；标题 {fonts.heading.path}")


def check_keyring() -> Check:
    from field_app.store.secrets import KeyringUnavailable, probe_keyring

    try:
        report = probe_keyring()
    except KeyringUnavailable as exc:
        return Check("keyring", "系统密钥环", ERROR, str(exc))
    except Exception as exc:
        return Check("keyring", "系统密钥环", ERROR, f"系统密钥环不可用（{type(exc).__name__}: {exc}）")
    return Check("keyring", "系统密钥环", OK, f"{report.detail}（{report.backend}）")


def check_disk(data_dir: Path) -> Check:
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        probe = data_dir / ".doctor-write-test"
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as exc:
        return Check("disk", "数据目录", ERROR, f"数据目录 {data_dir} 无法写入（{exc.strerror or exc}）",
                     "请检查磁盘和权限，或用 --data-dir 指定其他目录。")
    free = shutil.disk_usage(data_dir).free
    gib = free / 1024**3
    detail = f"{data_dir}：可用空间 {gib:.1f} GB（约可录像 {gib:.0f} 小时）"
    if free < DISK_ERROR_BYTES:
        return Check("disk", "数据目录", ERROR, detail, "空间不足，请先同步到局里并释放空间。")
    if free < DISK_WARN_BYTES:
        return Check("disk", "数据目录", WARN, detail, "空间偏少，长时间执法可能不够用。")
    return Check("disk", "数据目录", OK, detail)


def _list_printers() -> list[str]:
    if sys.platform == "win32":  # untested here: no Windows machine in CI
        cmd = ["powershell", "-NoProfile", "-Command", "Get-Printer | Select-Object -ExpandProperty Name"]
    else:
        if not shutil.which("lpstat"):
            return []
        cmd = ["lpstat", "-e"]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [line.strip() for line in out.stdout.splitlines() if line.strip()]


def check_printers() -> Check:
    printers = _list_printers()
    if not printers:
        return Check("printer", "打印机", WARN, "未找到打印机",
                     "现场需要打印笔录供当事人逐页签名；请连接便携打印机并安装驱动。")
    return Check("printer", "打印机", OK, "、".join(printers))


def check_qt_platform() -> Check:
    problem = display_problem()
    if problem:
        return Check("qt", "图形界面", ERROR, problem.splitlines()[0], "在桌面会话中运行，或使用 xvfb-run -a field-app。")
    try:
        out = subprocess.run(self_command() + ["_qt-probe"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Check("qt", "图形界面", ERROR, f"无法启动 Qt（{exc}）")
    if out.returncode != 0:
        tail = (out.stderr.strip().splitlines() or ["无输出"])[-1]
        return Check("qt", "图形界面", ERROR, f"Qt 无法启动（{tail}）", "请安装 Qt 所需的系统库（见 README）。")
    info = json.loads(out.stdout)
    if not info["cjk_font"]:
        return Check("qt", "图形界面", ERROR, f"Qt 平台 {info['platform']}，但没有中文字体",
                     "请安装 fonts-noto-cjk 或 fonts-wqy-zenhei。")
    return Check("qt", "图形界面", OK,
                 f"Qt {info['qt_version']}，平台 {info['platform']}，屏幕 {info['screens']} 个，中文字体 {info['cjk_font']}")


CHECKS: list[Callable[[], Check]] = [check_pdf_font, check_keyring, check_printers, check_qt_platform]


def run_checks(data_dir: Path) -> list[Check]:
    """Run every check; a check that crashes becomes an ERROR entry, never a traceback."""
    results = []
    for fn in [lambda: check_disk(data_dir), lambda: check_encoder(data_dir), lambda: check_cameras(data_dir),
               lambda: check_microphones(data_dir), *CHECKS]:
        try:
            results.append(fn())
        except Exception as exc:
            results.append(Check(getattr(fn, "__name__", "check"), "检查", ERROR, f"检查程序出错：{exc!r}"))
    return results


def format_report(data_dir: Path, checks: list[Check]) -> str:
    lines = [f"执法全过程记录 设备自检（field-app {__version__}）", f"数据目录：{data_dir}", ""]
    for c in checks:
        lines.append(f"[{c.status}] {c.title}：{c.detail}")
        if c.advice and c.status != OK:
            lines.append(f"        处理办法：{c.advice}")
    errors = sum(c.status == ERROR for c in checks)
    warns = sum(c.status == WARN for c in checks)
    lines.append("")
    if errors:
        lines.append(f"结论：有 {errors} 项错误、{warns} 项警告，本机暂不能用于现场执法。")
    elif warns:
        lines.append(f"结论：可以使用，但有 {warns} 项警告。")
    else:
        lines.append("结论：一切正常，可以使用。")
    return "\n".join(lines)


def main(data_dir: Path, as_json: bool = False) -> int:
    checks = run_checks(data_dir)
    if as_json:
        print(json.dumps({"data_dir": str(data_dir), "checks": [asdict(c) for c in checks]},
                         ensure_ascii=False, indent=2))
    else:
        print(format_report(data_dir, checks))
    return 1 if any(c.status == ERROR for c in checks) else 0
