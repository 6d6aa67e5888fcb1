"""Message size and rate limits for one browser socket, as plain logic over an injected clock."""

from __future__ import annotations

from dataclasses import dataclass

from relive._clock import Clock


@dataclass(frozen=True)
class Limits:
    """What one page may send. Audio: 40 ms chunks arrive 25 times a second, and after a
    reconnect the page sends again what no stored handle covers yet (up to 10 s, docs/web.md)
    at once: the audio buckets let that burst through, by count and by duration (16 kHz
    PCM16), while a page streaming faster than real time for long is still refused."""

    max_json_bytes: int = 8 * 1024
    max_audio_bytes: int = 32 * 1024  # 1 s of 16 kHz PCM16
    max_text_chars: int = 2000
    messages_per_s: float = 10.0
    # After a move the page sends its kept chat messages (up to 50, app.js) again at once, with
    # its start and the numbers of its audio and mutes: the burst lets them through.
    messages_burst: float = 64.0
    audio_chunks_per_s: float = 60.0
    audio_chunks_burst: float = 600.0  # 10 s of 20 ms chunks sent again, and some
    audio_seconds_per_s: float = 1.5  # of audio, a second
    audio_seconds_burst: float = 12.0  # the page's 10 s kept for a resend, and some
    max_violations: int = 50  # refused messages before the socket is closed


class TokenBucket:
    """`rate` tokens a second up to `burst`; `take()` says whether one was available."""

    def __init__(self, clock: Clock, *, rate: float, burst: float) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError(f"need rate > 0 and burst >= 1, got rate={rate} burst={burst}")
        self._clock = clock
        self._rate = rate
        self._burst = burst
        self._tokens = burst
        self._at = clock.now()

    def take(self, amount: float = 1.0) -> bool:
        """Take `amount` tokens if that many are there (a partial take is none)."""
        now = self._clock.now()
        self._tokens = min(self._burst, self._tokens + (now - self._at) * self._rate)
        self._at = now
        if self._tokens >= amount:
            self._tokens -= amount
            return True
        return False


class SocketLimiter:
    """Rate limits for one socket: control messages and audio chunks have separate buckets."""

    def __init__(self, clock: Clock, limits: Limits) -> None:
        self.limits = limits
        self._messages = TokenBucket(clock, rate=limits.messages_per_s, burst=limits.messages_burst)
        self._audio = TokenBucket(
            clock, rate=limits.audio_chunks_per_s, burst=limits.audio_chunks_burst
        )
        self._audio_seconds = TokenBucket(
            clock, rate=limits.audio_seconds_per_s, burst=limits.audio_seconds_burst
        )
        self.violations = 0

    def allow_message(self) -> bool:
        return self._count(self._messages.take())

    def allow_audio(self, seconds: float = 0.0) -> bool:
        """One chunk of `seconds` of audio: within both the chunk and the duration bucket."""
        ok = self._audio.take() and self._audio_seconds.take(seconds)
        return self._count(ok)

    def refused(self) -> None:
        """Count a message refused for another reason (too large, malformed)."""
        self.violations += 1

    @property
    def exhausted(self) -> bool:
        """Too many refused messages: the client is misbehaving, close it."""
        return self.violations >= self.limits.max_violations

    def _count(self, ok: bool) -> bool:
        if not ok:
            self.violations += 1
        return ok
