"""Input audio: media-time bookkeeping and an energy voice-activity detector.

Speech starts at the first 10 ms frame whose int16 RMS passes a threshold and ends after
`silence_ms` of media time below it, or on `activityEnd` / `audioStreamEnd`. With automatic
detection disabled, `activityStart`/`activityEnd` bracket the turn instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


def pcm_seconds(data: bytes, rate: int) -> float:
    """Duration of 16-bit mono PCM."""
    return len(data) / (2 * rate)


def frame_rms(data: bytes, rate: int, frame_ms: int = 10) -> list[tuple[float, float]]:
    """(RMS, seconds) of each `frame_ms` frame of 16-bit little-endian mono PCM.

    Array maths (numpy, exact int64 sums of squares): the per-sample Python loop it replaces
    was a quarter of the emulator's cost per audio chunk (15 -> 3 µs per 20 ms chunk).
    """
    samples = np.frombuffer(data, dtype="<i2", count=len(data) // 2).astype(np.int64)
    step = max(1, rate * frame_ms // 1000)
    whole = len(samples) - len(samples) % step
    frames = samples[:whole].reshape(-1, step)
    seconds = step / rate
    out = [(math.sqrt(e / step), seconds) for e in (frames * frames).sum(axis=1).tolist()]
    if whole < len(samples):
        tail = samples[whole:]
        out.append((math.sqrt(int((tail * tail).sum()) / len(tail)), len(tail) / rate))
    return out


@dataclass
class SpeechEnd:
    """A spoken turn ended; `seconds` is its media duration (start of speech to end)."""

    seconds: float


@dataclass
class SpeechStart:
    """Voice activity began (used for barge-in)."""


VadEvent = SpeechStart | SpeechEnd


class VoiceDetector:
    """Turns a stream of audio chunks into speech start/end events, in media time."""

    def __init__(self, threshold: float, silence_ms: int, automatic: bool) -> None:
        self.threshold = threshold
        self.silence = silence_ms / 1000
        self.automatic = automatic
        self.media = 0.0  # seconds of audio received on this connection
        self._speech_from: float | None = None
        self._last_voice = 0.0

    @property
    def in_speech(self) -> bool:
        return self._speech_from is not None

    def feed(self, data: bytes, rate: int) -> list[VadEvent]:
        """Account for one chunk of audio; return what it started or ended."""
        if not self.automatic:
            self.media += pcm_seconds(data, rate)
            return []
        events: list[VadEvent] = []
        for level, frame in frame_rms(data, rate):
            voiced = level >= self.threshold
            if voiced:
                if self._speech_from is None:
                    self._speech_from = self.media
                    events.append(SpeechStart())
                self._last_voice = self.media + frame
            elif self._speech_from is not None and self.media + frame - self._last_voice >= (
                self.silence
            ):
                events.append(SpeechEnd(self._last_voice - self._speech_from))
                self._speech_from = None
            self.media += frame
        return events

    def activity_start(self) -> list[VadEvent]:
        if self._speech_from is not None:
            return []
        self._speech_from = self.media
        return [SpeechStart()]

    def activity_end(self) -> list[VadEvent]:
        """`activityEnd` or `audioStreamEnd`: close the current spoken turn."""
        if self._speech_from is None:
            return []
        end = self.media if not self.automatic else max(self._last_voice, self._speech_from)
        seconds = end - self._speech_from
        self._speech_from = None
        return [SpeechEnd(seconds)]
