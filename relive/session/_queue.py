"""The events an app has not read yet: bounded, dropping only what the app can do without.

An app that stops reading `events()` (a page gone to the background, a bug) must not grow the
process without bound: about 24 KiB per turn of raw server messages. Past `limit` events, the
oldest raw `ServerMessage` goes first (what it said is in the transcript, and lifecycle events
still tell the story); failing that, the oldest per-turn marker (`GenerationComplete`,
`TurnComplete`, `Interrupted`). Lifecycle events (`Connected`, `Reconnecting`, `Resumed`,
`NewSession`, `GaveUp`) and the end of the stream are never dropped. `dropped` counts the rest.
"""

from __future__ import annotations

import asyncio
from collections import deque

from relive.session import _events as ev

_DROPPABLE_FIRST = ev.ServerMessage
_DROPPABLE_THEN = (ev.GenerationComplete, ev.TurnComplete, ev.Interrupted)


class EventQueue:
    """A FIFO of events for the app's readers; `put` never blocks and never fails."""

    def __init__(self, limit: int) -> None:
        self._items: deque[object] = deque()
        self._ready = asyncio.Event()
        self.limit = limit
        self.dropped = 0

    def put(self, item: object) -> None:
        if len(self._items) >= self.limit:
            self._drop_one()
        self._items.append(item)
        self._ready.set()

    def _drop_one(self) -> None:
        for kinds in (_DROPPABLE_FIRST, _DROPPABLE_THEN):
            for position, item in enumerate(self._items):
                if isinstance(item, kinds):
                    del self._items[position]
                    self.dropped += 1
                    return

    async def get(self) -> object:
        while not self._items:
            self._ready.clear()
            await self._ready.wait()
        return self._items.popleft()

    def __len__(self) -> int:
        return len(self._items)
