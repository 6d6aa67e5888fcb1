"""One ticker for every bench page: real-time 20 ms microphone chunks, numbered per caller, with
a spoken turn every few seconds (`_page.PageClient.send_audio` takes them)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

from relive._clock import Clock
from relive.bench._audio import pcm_chunk
from relive.bench._child import CALLER_SHIFT
from relive.bench._page import PageClient

MAX_BEHIND = 0.1  # a microphone ticker this late skips ahead (see `Microphones`)
SPEECH_S = 0.4  # each spoken turn: this long, then silence (the emulator's VAD ends it at 0.5 s)


class Microphones:
    """One ticker for every page: a numbered 20 ms chunk each every 20 ms (real time); each page
    speaks `SPEECH_S` every `turn_every` seconds (staggered), a spoken turn the model answers.

    A ticker more than `MAX_BEHIND` late skips the ticks it missed (`skipped`) instead of sending
    them in a burst: on a starved machine a burst trips the replica's audio rate limit (1008 after
    50 refusals) and measures the pages' process, not the replica.
    """

    def __init__(self, pages: Sequence[PageClient], clock: Clock, turn_every: float) -> None:
        self.pages = pages
        self.clock = clock
        self.period = max(1, round(turn_every / 0.020))
        self.speech = min(self.period - 1, round(SPEECH_S / 0.020))
        self.made = [0] * len(pages)
        self.late_s: list[float] = []
        self.skipped = 0  # ticks skipped (per page) because the ticker fell behind
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="bench-mic")

    async def _run(self) -> None:
        start = self.clock.now()
        n = 0
        while True:
            due = start + n * 0.020
            wait = due - self.clock.now()
            if wait > 0:
                await asyncio.sleep(wait)  # a microphone's pace, not a wait for an event
            late = max(0.0, self.clock.now() - due)
            if late > MAX_BEHIND:
                missed = int(late / 0.020)
                self.skipped += missed
                n += missed
                late -= missed * 0.020
            self.late_s.append(late)
            for page in self.pages:
                seq = (page.index << CALLER_SHIFT) | self.made[page.index]
                self.made[page.index] += 1
                voiced = (n + page.index * 7) % self.period < self.speech
                await page.send_audio(pcm_chunk(seq, voiced=voiced))
            n += 1

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
