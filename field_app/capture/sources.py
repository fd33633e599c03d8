"""Video and audio sources. Each runs its own thread (or PortAudio callback) and pushes
timestamped data to the recorder through callbacks; none imports Qt.

- Video callback: ``on_frame(t, rgb)`` with ``t`` seconds on the recording's clock and an H×W×3
  uint8 RGB array of the configured size.
- Audio callback: ``on_audio(t, samples)`` with ``t`` the time of the first sample and float32 mono
  samples at the configured rate.
- Status callback: ``on_status(kind, detail)`` with kind "lost" or "restored" — a camera unplugged
  or a microphone gone becomes a logged gap, never a silent hole.

The synthetic sources are for tests, the demo and `doctor`: the picture says 「测试信号 非证据」 and
the sound beeps every second, so a synthetic recording can never pass for evidence.
"""

from __future__ import annotations

import threading
import time
from typing import Callable

import numpy as np

from field_app.capture.clock import SessionClock

FrameCallback = Callable[[float, np.ndarray], None]
AudioCallback = Callable[[float, np.ndarray], None]
StatusCallback = Callable[[str, str], None]


class SourceError(RuntimeError):
    """A source cannot start; ``str(exc)`` is a Chinese sentence for the officer."""


class _ThreadSource:
    """A source driven by one daemon thread; subclasses implement ``_run`` and honour ``_stop``."""

    name = "source"

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _spawn(self, target: Callable[[], None]) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=target, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


class SyntheticVideo(_ThreadSource):
    """A moving test pattern, clearly marked as a test source. ``paced=False`` delivers frames as
    fast as the callback returns (benchmarks); the timestamps still advance by 1/fps per frame."""

    name = "synthetic-video"
    is_synthetic = True

    def __init__(self, width: int = 1280, height: int = 720, fps: int = 30, paced: bool = True,
                 max_frames: int | None = None) -> None:
        super().__init__()
        self.width, self.height, self.fps = width, height, fps
        self.paced, self.max_frames = paced, max_frames
        self.background = self._background()

    def _background(self) -> np.ndarray:
        from PIL import Image, ImageDraw

        from field_app.capture.watermark import load_cjk_font

        w, h = self.width, self.height
        x = np.linspace(0, 1, w, dtype=np.float32)[None, :]
        y = np.linspace(0, 1, h, dtype=np.float32)[:, None]
        rgb = np.stack([np.broadcast_to(x * 200 + 30, (h, w)), np.broadcast_to(y * 180 + 40, (h, w)),
                        np.full((h, w), 120, np.float32)], axis=-1).astype(np.uint8)
        image = Image.fromarray(rgb)
        draw = ImageDraw.Draw(image)
        font = load_cjk_font(max(24, h // 10))
        text = "测试信号 非证据"
        tw = draw.textlength(text, font=font)
        draw.text(((w - tw) / 2, h * 0.3), text, font=font, fill=(255, 255, 0))
        small = load_cjk_font(max(14, h // 30))
        sub = "TEST SOURCE - NOT EVIDENCE"
        draw.text(((w - draw.textlength(sub, font=small)) / 2, h * 0.3 + font.size * 1.3), sub,
                  font=small, fill=(255, 255, 0))
        return np.asarray(image).copy()

    def frame_at(self, index: int) -> np.ndarray:
        """Frame ``index`` of the pattern: the background, a bar sweeping across, and a running clock
        (elapsed time and frame number) so a viewer sees at once that time moves and nothing jumps."""
        import cv2

        frame = self.background.copy()
        bar = max(8, self.width // 40)
        x0 = (index * max(2, self.width // (2 * self.fps))) % (self.width - bar)
        frame[:, x0:x0 + bar] = (255, 255, 255)
        seconds = index / self.fps
        label = f"{int(seconds // 3600):02d}:{int(seconds // 60) % 60:02d}:{seconds % 60:05.2f}  #{index:06d}"
        scale = self.height / 480
        cv2.putText(frame, label, (int(self.width * 0.05), int(self.height * 0.75)), cv2.FONT_HERSHEY_SIMPLEX,
                    scale, (255, 255, 255), max(1, int(scale * 2)), cv2.LINE_AA)
        return frame

    def start(self, clock: SessionClock, on_frame: FrameCallback, on_status: StatusCallback) -> None:
        def run() -> None:
            period = 1.0 / self.fps
            index = int(np.ceil(clock.now() * self.fps)) if self.paced else 0
            while not self._stop.is_set():
                if self.max_frames is not None and index >= self.max_frames:
                    return
                t = index * period  # paced: the frame's scheduled time on the recording clock
                if self.paced:  # like a camera: the frame is stamped with its scheduled time
                    delay = t - clock.now()
                    if delay > 0:
                        time.sleep(delay)
                on_frame(t, self.frame_at(index))
                index += 1

        self._spawn(run)


class SyntheticAudio(_ThreadSource):
    """A 440 Hz tone with a 1 kHz beep at the start of every second (audibly a test source)."""

    name = "synthetic-audio"
    is_synthetic = True

    def __init__(self, rate: int = 48000, block: int = 1024, paced: bool = True,
                 max_blocks: int | None = None) -> None:
        super().__init__()
        self.rate, self.block, self.paced, self.max_blocks = rate, block, paced, max_blocks
        self.delivered_until = 0.0

    def samples(self, first: int, count: int) -> np.ndarray:
        n = np.arange(first, first + count)
        t = n / self.rate
        tone = 0.25 * np.sin(2 * np.pi * 440 * t)
        beep = (n % self.rate) < (self.rate // 10)
        tone = np.where(beep, 0.35 * np.sin(2 * np.pi * 1000 * t), tone)
        return tone.astype(np.float32)

    def start(self, clock: SessionClock, on_audio: AudioCallback, on_status: StatusCallback) -> None:
        def run() -> None:
            produced = 0
            blocks = 0
            while not self._stop.is_set():
                if self.max_blocks is not None and blocks >= self.max_blocks:
                    return
                t = produced / self.rate
                if self.paced:
                    delay = (produced + self.block) / self.rate - clock.now()
                    if delay > 0:
                        time.sleep(delay)
                on_audio(t, self.samples(produced, self.block))
                produced += self.block
                self.delivered_until = produced / self.rate
                blocks += 1

        self._spawn(run)


class CameraVideo(_ThreadSource):
    """A real camera through OpenCV. Loss (unplugged, driver error) is reported and retried."""

    name = "camera"
    is_synthetic = False

    def __init__(self, device: str | int = 0, width: int = 1280, height: int = 720, fps: int = 30) -> None:
        super().__init__()
        self.device, self.width, self.height, self.fps = device, width, height, fps

    def _open(self):
        import cv2

        cap = cv2.VideoCapture(self.device)
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
        cap.set(cv2.CAP_PROP_FPS, self.fps)
        return cap

    def start(self, clock: SessionClock, on_frame: FrameCallback, on_status: StatusCallback) -> None:
        import cv2

        cap = self._open()
        if not cap.isOpened():
            cap.release()
            raise SourceError(f"无法打开摄像头 {self.device}，请检查连接后重试。")

        def run() -> None:
            nonlocal cap
            lost = False
            while not self._stop.is_set():
                ok, bgr = cap.read()
                if not ok or bgr is None:
                    if not lost:
                        lost = True
                        on_status("lost", f"摄像头 {self.device} 无画面")
                    cap.release()
                    time.sleep(0.5)
                    cap = self._open()
                    continue
                if lost:
                    lost = False
                    on_status("restored", f"摄像头 {self.device} 恢复")
                t = clock.now()
                if bgr.shape[1] != self.width or bgr.shape[0] != self.height:
                    bgr = cv2.resize(bgr, (self.width, self.height))
                on_frame(t, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            cap.release()

        self._spawn(run)


class MicrophoneAudio:
    """A real microphone through PortAudio (sounddevice); overflows and device loss are reported."""

    is_synthetic = False
    PREFILL_TOLERANCE = 0.05

    def __init__(self, device: int | str | None = None, rate: int = 48000, block: int = 1024) -> None:
        self.device, self.rate, self.block = device, rate, block
        self._stream = None
        self.delivered_until = 0.0  # recording-clock time up to which audio has been delivered

    def start(self, clock: SessionClock, on_audio: AudioCallback, on_status: StatusCallback) -> None:
        from field_app.capture.devices import AudioUnavailable, _sounddevice

        try:
            sd = _sounddevice()
        except AudioUnavailable as exc:
            raise SourceError(str(exc)) from exc

        # Timestamps: PortAudio tells, per callback, when the first sample hit the converter
        # (inputBufferAdcTime) and what time it is now (currentTime) on the stream's clock; the
        # difference is the capture latency, which can be seconds with PulseAudio. The block's time
        # on the recording clock is therefore now − latency. Hosts that give no ADC time fall back to
        # counting samples from the stream start. Audio captured before the stream started (a
        # driver's pre-fill) is not part of this recording and is dropped.
        start_t = [0.0]
        counted = [0]

        def callback(indata, frames, time_info, status) -> None:
            if status.input_overflow:
                on_status("overflow", "麦克风数据溢出，部分声音丢失")
            now = clock.now()
            adc, current = time_info.inputBufferAdcTime, time_info.currentTime
            if adc > 0 and current > 0 and 0 <= current - adc < 10:
                t = now - (current - adc)
            else:
                t = min(start_t[0] + counted[0] / self.rate, now - frames / self.rate)
            counted[0] += frames
            if t < start_t[0] - self.PREFILL_TOLERANCE:
                return
            self.delivered_until = t + frames / self.rate
            on_audio(max(t, 0.0), indata[:, 0].astype(np.float32, copy=True))

        def finished() -> None:
            if self._stream is not None:  # not a stop we asked for
                on_status("lost", "麦克风已断开")

        try:
            self._stream = sd.InputStream(device=self.device, samplerate=self.rate, channels=1,
                                          dtype="float32", blocksize=self.block, callback=callback,
                                          finished_callback=finished)
            start_t[0] = clock.now()
            self._stream.start()
        except Exception as exc:
            self._stream = None
            raise SourceError(f"无法打开麦克风（{exc}），请检查连接和声音设置。") from exc

    def stop(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.abort()  # the recorder already waited for the audio it needs; drop the rest
            stream.close()
