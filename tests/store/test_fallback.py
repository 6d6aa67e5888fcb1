"""FallbackKV after a Redis fault: what this replica wrote meanwhile is copied over, unless
another replica wrote a newer value in the meantime (over a switchable in-memory "Redis")."""

from __future__ import annotations

import logging

import pytest

from relive._clock import ManualClock
from relive.store import FallbackKV, MemoryKV, StoreUnavailableError


class Switchable(MemoryKV):
    """A shared store that can be made unreachable."""

    down = False

    async def get(self, key: str) -> str | None:
        if self.down:
            raise StoreUnavailableError("down")
        return await super().get(key)

    async def put(self, key: str, value: str, ttl: float) -> None:
        if self.down:
            raise StoreUnavailableError("down")
        await super().put(key, value, ttl)

    async def delete(self, key: str) -> None:
        if self.down:
            raise StoreUnavailableError("down")
        await super().delete(key)


async def test_the_copy_over_keeps_what_another_replica_wrote_since(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock, wall = ManualClock(), [1000.0]
    redis = Switchable(clock)
    cut_off = FallbackKV(redis, clock, retry_after=0.0, wall=lambda: wall[0])
    other = FallbackKV(redis, clock, retry_after=0.0, wall=lambda: wall[0])
    await cut_off.put("handle:a", "OLD", 60)
    redis.down = True
    await cut_off.put("handle:a", "MINE", 60)  # this replica, cut off from Redis
    await cut_off.put("handle:b", "ONLY-MINE", 60)
    await cut_off.delete("page:c")
    wall[0] += 1
    redis.down = False
    await other.put("handle:a", "NEWER", 60)  # the page moved on, on a replica that could write
    await other.put("page:c", "BACK", 60)
    with caplog.at_level(logging.WARNING, logger="relive.store"):
        assert await cut_off.get("handle:a") == "NEWER"  # back: the copy-over keeps it
    assert await other.get("handle:b") == "ONLY-MINE"
    assert await other.get("page:c") == "BACK"  # a delete older than the write does not win
    assert "reachable again (1 record(s) copied over, 2 newer ones kept)" in caplog.text


async def test_an_unstamped_value_is_read_as_it_is() -> None:
    clock = ManualClock()
    redis = MemoryKV(clock)
    await redis.put("k", "written-before-stamps", 60)
    assert await FallbackKV(redis, clock).get("k") == "written-before-stamps"
