"""A known recording for Chromium's fake microphone: a voiced burst, then silence, looped.

Chromium plays `--use-file-for-fake-audio-capture` in a loop, so the emulator's energy VAD sees one
utterance per loop: deterministic turns instead of the default fake device's random beeps.
"""

from __future__ import annotations

import math
import struct
import wave
from pathlib import Path

RATE = 48_000


def speech_like(seconds: float, *, pitch: float = 150.0, amplitude: float = 0.45) -> list[float]:
    """A buzz with harmonics and a syllable-rate envelope: survives noise suppression."""
    n = int(seconds * RATE)
    out = []
    for i in range(n):
        t = i / RATE
        envelope = 0.6 + 0.4 * math.sin(2 * math.pi * 5.0 * t)
        ramp = min(1.0, i / (0.01 * RATE), (n - i) / (0.01 * RATE))
        tone = sum(math.sin(2 * math.pi * pitch * k * t) / k for k in range(1, 6))
        out.append(amplitude * envelope * ramp * tone / 1.8)
    return out


def write_fake_mic(path: Path, *, speech: float = 0.4, silence: float = 1.0) -> Path:
    """Write a 48 kHz mono PCM16 WAV: `speech` seconds of voice, then `silence` seconds."""
    samples = speech_like(speech) + [0.0] * int(silence * RATE)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(
            b"".join(struct.pack("<h", int(max(-1.0, min(1.0, s)) * 32767)) for s in samples)
        )
    return path
