"""Model audio produced while the page's socket is down: kept, bounded, then played or dropped.

The rule (docs/web.md): at most `max_bytes` of call audio is kept (10 s of 24 kHz PCM16 by
default; beyond that the oldest goes first). When a socket of the page comes back, the audio
produced within the last `max_age` seconds is sent to it right after the snapshot, so the page
plays what it missed; older audio is dropped, since the words are in the transcript and a reply
heard long after it was given would confuse more than help. A barge-in (`interrupted`), a new
session or a hang-up empties it. Plain logic over an injected clock.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from relive._clock import Clock

SPEAKER_BYTES_PER_SECOND = 24_000 * 2  # 24 kHz mono PCM16
FRAME_BYTES = 32 * 1024  # kept chunks are sent joined, in frames up to this size


@dataclass
class AwayCounts:
    """What happened to audio produced with no socket (for logs and tests)."""

    kept: int = 0  # bytes kept
    replayed: int = 0  # bytes sent to a socket that came back in time
    dropped_full: int = 0  # bytes dropped because the buffer was full (the oldest)
    dropped_stale: int = 0  # bytes too old when the page came back
    dropped_cleared: int = 0  # bytes made moot by a barge-in, a new session or a hang-up


class AwayAudio:
    """The call audio a page missed while its socket was down."""

    def __init__(
        self,
        clock: Clock,
        *,
        max_bytes: int = 10 * SPEAKER_BYTES_PER_SECOND,
        max_age: float = 10.0,
    ) -> None:
        self.clock = clock
        self.max_bytes = max_bytes
        self.max_age = max_age
        self.counts = AwayCounts()
        self._chunks: deque[tuple[float, bytes]] = deque()
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def keep(self, data: bytes) -> None:
        """Audio arrived for a page with no socket."""
        self._chunks.append((self.clock.now(), data))
        self._size += len(data)
        self.counts.kept += len(data)
        while self._size > self.max_bytes:
            _, old = self._chunks.popleft()
            self._size -= len(old)
            self.counts.dropped_full += len(old)

    def clear(self) -> None:
        """What was kept no longer applies (barge-in, new session, hang-up)."""
        self.counts.dropped_cleared += self._size
        self._chunks.clear()
        self._size = 0

    def take(self) -> list[bytes]:
        """A socket came back: the audio young enough to play, joined into frames; then empty."""
        oldest = self.clock.now() - self.max_age
        frames: list[bytes] = []
        pending = bytearray()
        for at, data in self._chunks:
            if at < oldest:
                self.counts.dropped_stale += len(data)
                continue
            if pending and len(pending) + len(data) > FRAME_BYTES:
                frames.append(bytes(pending))
                pending.clear()
            pending += data
        if pending:
            frames.append(bytes(pending))
        self.counts.replayed += sum(len(f) for f in frames)
        self._chunks.clear()
        self._size = 0
        return frames
