"""The bench's `EventWatch`: events kept with their time, waited on by index, let go once read."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from relive._clock import ManualClock
from relive.bench._watch import EventWatch


class _Source:
    """An event stream the test feeds by hand."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[Any] = asyncio.Queue()

    async def events(self) -> AsyncIterator[Any]:
        while (item := await self.queue.get()) is not None:
            yield item


async def test_a_forgotten_event_keeps_its_index_and_is_not_kept() -> None:
    source, clock = _Source(), ManualClock()
    watch = EventWatch(source, clock)
    for name in ("a", "b"):
        source.queue.put_nowait(name)
    assert await watch.wait_for(lambda e: e == "b", timeout=None) == (1, watch.seen[1])
    watch.forget()
    assert len(watch) == 2 and watch.seen == []  # nothing kept, the count goes on
    clock.advance(1.0)
    source.queue.put_nowait("c")
    index, stamped = await watch.wait_for(lambda e: e == "c", after=2, timeout=1.0)
    assert index == 2 and stamped.event == "c" and stamped.at == 1.0
    assert [s.event for s in watch.since(2)] == ["c"]
    with pytest.raises(IndexError, match="forgotten"):
        watch.since(1)
    with pytest.raises(IndexError, match="forgotten"):
        await watch.wait_for(lambda e: True, after=0, timeout=None)
    source.queue.put_nowait(None)
    await watch.aclose()
