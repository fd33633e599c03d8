"""The audio fixture: a real PulseAudio source reached through PortAudio/ALSA, as on a laptop."""

from __future__ import annotations

import numpy as np


def test_default_input_records_the_440hz_sine(audio_env):
    import sounddevice as sd

    rate = 48000
    data = sd.rec(int(rate * 0.5), samplerate=rate, channels=1, dtype="float32")
    sd.wait()
    samples = data[:, 0]
    rms = float(np.sqrt(np.mean(samples**2)))
    assert rms > 0.05, "recorded silence"
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    peak_hz = np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum))]
    assert abs(peak_hz - 440) < 5
