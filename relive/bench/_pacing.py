"""Real-time audio: one numbered 20 ms chunk every 20 ms, and how late each one went out.

Sleeping here is the point (a microphone produces audio at this rate); lateness shows when the
sender's event loop could not keep up.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from relive._clock import Clock, MonotonicClock
from relive.bench._audio import CHUNK_MS


class AudioPacer:
    """Calls `send(seq)` for seq = 0, 1, 2... at `interval` seconds apart until stopped."""

    def __init__(
        self,
        send: Callable[[int], Awaitable[None]],
        *,
        clock: Clock | None = None,
        interval: float = CHUNK_MS / 1000,
        first_seq: int = 0,
    ) -> None:
        self._send = send
        self._clock = clock or MonotonicClock()
        self.interval = interval
        self.next_seq = first_seq
        self.sent: list[int] = []
        self.late_s: list[float] = []  # how far behind schedule each chunk went out
        self._task: asyncio.Task[None] | None = None
        self._progress = asyncio.Event()

    def start(self) -> None:
        if self._task is not None:
            raise RuntimeError("the pacer is already running")
        self._task = asyncio.create_task(self._run(), name="bench-audio-pacer")

    async def _run(self) -> None:
        start = self._clock.now()
        n = 0
        while True:
            due = start + n * self.interval
            wait = due - self._clock.now()
            if wait > 0:
                await asyncio.sleep(wait)
            self.late_s.append(max(0.0, self._clock.now() - due))
            seq = self.next_seq
            await self._send(seq)
            self.sent.append(seq)
            self._progress.set()
            self.next_seq += 1
            n += 1

    async def wait_sent(self, count: int, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until at least `count` chunks have gone out in all."""
        async with asyncio.timeout(timeout):
            while len(self.sent) < count:
                self._progress.clear()
                await self._progress.wait()

    async def stop(self) -> list[int]:
        """Stop sending; returns the sequence numbers sent."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        return self.sent
