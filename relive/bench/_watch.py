"""Timestamp every event a relive session emits, and wait for the ones a bench cares about.

One consumer task reads `session.events()` as an app would; the bench then asks "when did the
first `Connected` after index i arrive?" without sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from relive._clock import Clock, MonotonicClock
from relive.session import ServerMessage


class EventSource(Protocol):
    def events(self) -> AsyncIterator[Any]: ...


@dataclass(frozen=True)
class Stamped:
    """An event and when the app saw it (clock seconds)."""

    at: float
    event: Any


class EventWatch:
    """Reads one session's event stream in the background and keeps it, timestamped."""

    def __init__(self, session: EventSource, clock: Clock | None = None) -> None:
        self._clock = clock or MonotonicClock()
        self.seen: list[Stamped] = []  # from index `forgotten` on
        self.forgotten = 0
        self.ended = False
        self._changed = asyncio.Event()
        self._task = asyncio.create_task(self._consume(session), name="bench-event-watch")

    async def _consume(self, session: EventSource) -> None:
        try:
            async for event in session.events():
                self.seen.append(Stamped(self._clock.now(), event))
                self._changed.set()
        finally:
            self.ended = True
            self._changed.set()

    def __len__(self) -> int:
        """Every event seen, forgotten ones included: an index stays an index."""
        return self.forgotten + len(self.seen)

    def since(self, mark: int) -> list[Stamped]:
        """The events from index `mark` on (none of them forgotten)."""
        return self.seen[self._at(mark) :]

    def forget(self) -> None:
        """Let go of the events seen so far: a long run keeps only what it will still read (a
        crowd's kept events are objects every full garbage collection walks)."""
        self.forgotten += len(self.seen)
        self.seen = []

    def _at(self, index: int) -> int:
        if index < self.forgotten:
            raise IndexError(f"event {index} was forgotten (from {self.forgotten} on)")
        return index - self.forgotten

    async def wait_for(
        self,
        predicate: Callable[[Any], bool],
        *,
        after: int = 0,
        timeout: float | None = 10.0,  # noqa: ASYNC109  (a bound on a bench step, not a sleep)
    ) -> tuple[int, Stamped]:
        """The first event at index >= `after` matching `predicate`, and its index (`timeout`
        None: the caller bounds the wait)."""
        if timeout is None:
            return await self._wait_for(predicate, after)
        async with asyncio.timeout(timeout):
            return await self._wait_for(predicate, after)

    async def _wait_for(self, predicate: Callable[[Any], bool], i: int) -> tuple[int, Stamped]:
        self._at(i)
        while True:
            while i < len(self):
                stamped = self.seen[i - self.forgotten]
                if predicate(stamped.event):
                    return i, stamped
                i += 1
            if self.ended:
                raise EOFError("the session's event stream ended")
            self._changed.clear()
            await self._changed.wait()

    async def aclose(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


def resumable_update(event: Any) -> bool:
    """A server message carrying a resumable handle."""
    if not isinstance(event, ServerMessage):
        return False
    update = event.message.session_resumption_update
    return bool(update and update.resumable and update.new_handle)


def go_away(event: Any) -> bool:
    """A server message carrying a goAway."""
    return isinstance(event, ServerMessage) and event.message.go_away is not None
