"""The recording panel: live preview, red-dot indicator with elapsed time, the standard-notice
prompt with its confirm button, marker buttons, take photo, pause with a reason, end recording.

One panel drives one ``RecordingSession`` per site visit (one place, one matter); every procedure
done at that place is added to it, so the camera never stops between procedures. Starting and
stopping (device and encoder start-up, last segment flush) run through the ops runner; markers,
photos and pauses are quick appends done on the GUI thread.

Dangerous: the preview and status callbacks arrive on capture threads. They only emit Qt signals
(queued to the GUI thread); nothing here touches a widget from another thread.
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (QGridLayout, QHBoxLayout, QLabel, QLineEdit, QProgressBar,
                               QVBoxLayout, QWidget)

from field_app.ui.common import (TARGET, AppState, Place, big_button, confirm_once, message_label,
                                 show_message)
from field_app.ui.ops import OpRunner

MARKERS = (("certificates", "出示证件"), ("rights", "告知权利"), ("key_evidence", "关键证据"),
           ("statement", "当事人陈述"), ("signing", "签名"))
PREVIEW_W, PREVIEW_H = 400, 225


def default_sources():
    """(video, audio): the first camera and the default microphone, or the synthetic test sources
    (clearly watermarked as such) on a machine without a camera."""
    from field_app.capture import sources
    from field_app.capture.devices import find_cameras

    try:
        cameras = find_cameras()
    except Exception:  # noqa: BLE001 - no camera stack at all: fall back to the test sources
        cameras = []
    if cameras:
        return sources.CameraVideo(cameras[0].device), sources.MicrophoneAudio()
    return sources.SyntheticVideo(640, 360, 15), sources.SyntheticAudio()


def default_settings():
    from field_app.capture.encoder import EncoderSettings

    return EncoderSettings(width=640, height=360, fps=15, video_bitrate=800_000)


class MeteredAudio:
    """Wraps an audio source to measure its level for the meter (the capture package exposes no
    level). Everything else is the wrapped source's; samples go on unchanged. ``level`` is 0..1
    (−60 dBFS..0 dBFS), written by the audio thread, read by the GUI timer (a float: atomic)."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.level = 0.0

    def __getattr__(self, name: str):
        return getattr(self.inner, name)

    def start(self, clock, on_audio, on_status) -> None:
        def tap(t: float, samples: np.ndarray) -> None:
            if samples.size:
                data = samples.astype(np.float32)
                if samples.dtype.kind in "iu":
                    data /= 32768.0
                rms = float(np.sqrt(np.mean(np.square(data))))
                self.level = min(1.0, max(0.0, (20 * np.log10(rms + 1e-9) + 60) / 60))
            on_audio(t, samples)

        self.inner.start(clock, tap, on_status)

    def stop(self) -> None:
        self.inner.stop()


class _Bridge(QObject):
    frame = Signal(object)
    status = Signal(str, str)


class RecordingPanel(QWidget):
    """Emits ``photo_taken(sha256)`` and ``recording_changed()``."""

    photo_taken = Signal(str)
    recording_changed = Signal()

    def __init__(self, state: AppState, ops: OpRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state, self.ops = state, ops
        self.sources: Callable[[], tuple] = default_sources
        self.settings: Callable[[], object] = default_settings
        self.session = None
        self.place: Place | None = None
        self._started_at = 0.0
        self._last_frame_shown = 0.0
        self._bridge = _Bridge(self)
        self._bridge.frame.connect(self._show_frame)
        self._bridge.status.connect(self._show_status)
        self.frames_shown = 0

        box = QVBoxLayout(self)
        top = QHBoxLayout()
        self.indicator = QLabel("● 未录制", self)
        self.indicator.setObjectName("recIndicator")
        top.addWidget(self.indicator)
        top.addStretch(1)
        top.addWidget(QLabel("声音", self))
        self.meter = QProgressBar(self)
        self.meter.setObjectName("audioMeter")
        self.meter.setRange(0, 100)
        self.meter.setTextVisible(False)
        self.meter.setFixedWidth(120)
        top.addWidget(self.meter)
        box.addLayout(top)
        self.preview = QLabel("摄像头画面", self)
        self.preview.setObjectName("preview")
        self.preview.setFixedSize(PREVIEW_W, PREVIEW_H)
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setStyleSheet("background: #202020; color: #cccccc;")
        box.addWidget(self.preview, alignment=Qt.AlignmentFlag.AlignHCenter)
        self.notice = QLabel("", self)
        self.notice.setObjectName("noticePrompt")
        self.notice.setWordWrap(True)
        self.notice.setStyleSheet("background: #fff3c4; color: #000; padding: 6px;")
        box.addWidget(self.notice)
        self.notice_button = big_button("已告知（确认）", self, primary=True, name="noticeButton")
        self.notice_button.clicked.connect(self.confirm_notice)
        box.addWidget(self.notice_button)
        grid = QGridLayout()
        self.marker_buttons = {}
        for i, (kind, text) in enumerate(MARKERS):
            button = big_button(text, self, name=f"marker_{kind}")
            button.clicked.connect(lambda _=False, k=kind: self.mark(k))
            self.marker_buttons[kind] = button
            grid.addWidget(button, i // 3, i % 3)
        self.photo_button = big_button("拍照", self, name="photoButton")
        self.photo_button.clicked.connect(lambda: self.take_photo())
        grid.addWidget(self.photo_button, 1, 2)
        box.addLayout(grid)
        pause_row = QHBoxLayout()
        self.pause_reason = QLineEdit(self)
        self.pause_reason.setObjectName("pauseReason")
        self.pause_reason.setMinimumHeight(TARGET)
        self.pause_reason.setPlaceholderText("暂停原因（必填）")
        self.pause_button = big_button("暂停", self, name="pauseButton")
        self.pause_button.clicked.connect(self.toggle_pause)
        pause_row.addWidget(self.pause_reason, 1)
        pause_row.addWidget(self.pause_button)
        box.addLayout(pause_row)
        self.stop_button = big_button("离开现场，结束录像", self, name="stopButton")
        self.stop_button.clicked.connect(self.stop)
        box.addWidget(self.stop_button)
        self.message = message_label(self, "recMessage")
        box.addWidget(self.message)
        box.addStretch(1)
        self.timer = QTimer(self)
        self.timer.setInterval(500)
        self.timer.timeout.connect(self._tick)
        self._update()

    # -- state --------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.session is not None and self.session.started and not self.session.stopped

    def elapsed_text(self) -> str:
        seconds = int(time.monotonic() - self._started_at) if self.running else 0
        return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"

    def _update(self) -> None:
        running = self.running
        paused = running and self.session.recorder.paused
        if running and not paused:
            self.indicator.setText(f"● 录制中 {self.elapsed_text()}")
            self.indicator.setStyleSheet("color: #d50000; font-weight: bold; font-size: 15pt;")
        elif paused:
            self.indicator.setText(f"❚❚ 已暂停 {self.elapsed_text()}")
            self.indicator.setStyleSheet("color: #e65100; font-weight: bold; font-size: 15pt;")
        else:
            self.indicator.setText("● 未录制")
            self.indicator.setStyleSheet("color: #555555; font-weight: bold; font-size: 15pt;")
        needs_notice = running and not self.session.notice_confirmed
        from field_app.capture.session import NOTICE_TEXT

        self.notice.setVisible(needs_notice)
        self.notice.setText(f"请向当事人告知：“{NOTICE_TEXT}”告知后点“已告知”。")
        self.notice_button.setVisible(needs_notice)
        for button in (*self.marker_buttons.values(), self.photo_button):
            button.setEnabled(running and not paused)
        self.pause_button.setEnabled(running)
        self.pause_button.setText("继续录像" if paused else "暂停")
        self.stop_button.setEnabled(running)
        self.state.recording = self.session if running else None
        self.state.recording_paused = bool(paused)

    def _tick(self) -> None:
        audio = self.session.recorder.audio_source if self.session is not None else None
        self.meter.setValue(int(getattr(audio, "level", 0.0) * 100) if self.running else 0)
        self._update()
        self.state.notify()

    # -- control ------------------------------------------------------------------------------
    def begin(self, store, place: Place, on_started: Callable[[], None] | None = None) -> None:
        """Start the continuous recording of a site visit on a worker; ``place.sessions`` are the
        procedure sessions it records (more may be added with ``add_procedure``)."""
        from field_app.capture.session import RecordingSession

        video, audio = self.sources()
        audio = MeteredAudio(audio)
        try:
            session = RecordingSession(
                store, case_no=place.case_no, place=place.place, matter=place.matter, video=video,
                audio=audio, settings=self.settings(), procedure_sessions=tuple(place.sessions),
                preview=self._bridge.frame.emit,
                on_status=lambda kind, detail: self._bridge.status.emit(kind, detail))
        except Exception as exc:  # noqa: BLE001 - Chinese RecordingError, or a device problem
            from field_app.ui.ops import user_message

            show_message(self.message, user_message(exc))
            return
        self.session, self.place = session, place
        show_message(self.message, "正在开启录像…", ok=True)

        def done(_) -> None:
            self._started_at = time.monotonic()
            self.message.clear()
            self.timer.start()
            self._update()
            self.recording_changed.emit()
            if on_started:
                on_started()

        def failed(text: str) -> None:
            show_message(self.message, text)
            self._update()
            self.recording_changed.emit()

        self.ops.run(session.start, on_done=done, on_error=failed, label="start recording")

    def add_procedure(self, session_id: str) -> None:
        """Record one more procedure session in the running recording (one place, one recording):
        ``RecordingSession.join`` logs it. Before the recording has started, the session is in the
        start entry's list instead."""
        if self.session is not None and session_id not in self.session.procedure_sessions:
            if self.session.started and not self.session.stopped:
                self.session.join(session_id)
            else:
                self.session.procedure_sessions = (*self.session.procedure_sessions, session_id)
        if self.place is not None and session_id not in self.place.sessions:
            self.place.sessions.append(session_id)

    def confirm_notice(self) -> None:
        self._act(lambda: self.session.confirm_notice(), "已记录：已告知全程录音录像。")

    def mark(self, kind: str) -> None:
        from field_app.capture.session import MARKER_KINDS

        self._act(lambda: self.session.mark(kind), f"已标记：{MARKER_KINDS[kind]}")

    def take_photo(self, note: str = "") -> str | None:
        """Store the current camera picture as evidence; emits ``photo_taken``. Returns its hash."""
        result = self._act(lambda: self.session.take_still(note), "已拍照并存入证据库。")
        if result:
            self.photo_taken.emit(result)
        return result

    def toggle_pause(self) -> None:
        if self.running and self.session.recorder.paused:
            self._act(self.session.resume, "已继续录像。")
            return
        reason = self.pause_reason.text().strip()
        if not reason:
            show_message(self.message, "暂停录像必须说明原因（同一地点不得中断录像）。")
            self.pause_reason.setFocus()
            return
        if self._act(lambda: self.session.pause(reason), f"已暂停：{reason}") is not False:
            self.pause_reason.clear()

    def _act(self, fn, ok_text: str):
        if not self.running:
            show_message(self.message, "录像没有在进行。")
            return False
        try:
            result = fn()
        except Exception as exc:  # noqa: BLE001
            from field_app.ui.ops import user_message
            import logging

            logging.getLogger(__name__).exception("recording action failed")
            show_message(self.message, user_message(exc))
            return False
        show_message(self.message, ok_text, ok=True)
        self._update()
        self.recording_changed.emit()
        return result if result is not None else True

    def stop(self, ask: bool = True, on_stopped: Callable[[], None] | None = None) -> None:
        """End the recording (leaving the place). Irreversible: asks once with a summary."""
        if not self.running:
            return
        session = self.session
        if ask and not confirm_once(self, "结束录像", f"结束在“{session.place}”的录像？\n已录制 "
                                    f"{self.elapsed_text()}，共 {session.segment_count} 个片段。"
                                    "结束后本地点的执法程序不能再继续录像。"):
            return
        self.stop_button.setEnabled(False)
        show_message(self.message, "正在保存最后一段录像…", ok=True)

        def done(payload) -> None:
            self.timer.stop()
            show_message(self.message, f"录像已结束，共 {payload['segments']} 个片段。", ok=True)
            self._update()
            self.recording_changed.emit()
            if on_stopped:
                on_stopped()

        self.ops.run(session.stop, on_done=done, on_error=lambda m: show_message(self.message, m),
                     what="recording", label="stop recording")

    # -- callbacks from capture threads (re-emitted; handled here on the GUI thread) ----------
    def _show_frame(self, frame: np.ndarray) -> None:
        now = time.monotonic()
        if now - self._last_frame_shown < 0.1:  # ≤ 10 previews a second: the GUI stays responsive
            return
        self._last_frame_shown = now
        frame = np.ascontiguousarray(frame)
        h, w = frame.shape[:2]
        image = QImage(frame.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
        self.preview.setPixmap(QPixmap.fromImage(image).scaled(
            PREVIEW_W, PREVIEW_H, Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation))
        self.frames_shown += 1

    def _show_status(self, kind: str, detail: str) -> None:
        from field_app.capture.session import GAP_CAUSES

        if kind in GAP_CAUSES:
            show_message(self.message, f"录像中断：{GAP_CAUSES[kind]}。{detail}")
        elif kind == "restored":
            show_message(self.message, "设备已恢复，继续录像。", ok=True)
        self._update()
