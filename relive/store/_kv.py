"""The store's backends: keys to strings with a time to live. Memory (the default) and Redis.

Both speak the same four calls, so the page state above them (`_state.py`) never knows which one
it has. Memory keeps one replica's state (`relive demo`, tests); Redis is what several replicas
share. Times to live are seconds; memory reads them from an injected clock.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Protocol

from relive._clock import Clock, MonotonicClock
from relive.store._errors import StoreUnavailableError

log = logging.getLogger("relive.store")

PREFIX = "relive:"


class KeyValue(Protocol):
    """Strings by key, each gone after its time to live."""

    async def get(self, key: str) -> str | None:
        """The value, or None when absent or expired."""
        ...

    async def put(self, key: str, value: str, ttl: float) -> None:
        """Keep `value` under `key` for `ttl` seconds."""
        ...

    async def delete(self, key: str) -> None:
        """Drop `key` (absent is fine)."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


class MemoryKV:
    """One process's store: a dict with expiry times from the clock."""

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock = clock or MonotonicClock()
        self._items: dict[str, tuple[str, float]] = {}

    async def get(self, key: str) -> str | None:
        item = self._items.get(key)
        if item is None:
            return None
        if item[1] <= self._clock.now():
            del self._items[key]
            return None
        return item[0]

    async def put(self, key: str, value: str, ttl: float) -> None:
        if ttl <= 0:
            raise ValueError(f"ttl must be positive, got {ttl}")
        now = self._clock.now()
        if len(self._items) > 1024:  # expired entries go on writes too, not only on reads
            self._items = {k: v for k, v in self._items.items() if v[1] > now}
        self._items[key] = (value, now + ttl)

    async def delete(self, key: str) -> None:
        self._items.pop(key, None)

    def entry(self, key: str) -> tuple[str, float] | None:
        """The value and the seconds it has left, or None."""
        item = self._items.get(key)
        left = item[1] - self._clock.now() if item else 0.0
        return (item[0], left) if item and left > 0 else None

    async def close(self) -> None:
        self._items.clear()

    def __len__(self) -> int:
        now = self._clock.now()
        return sum(1 for _, until in self._items.values() if until > now)


class RedisKV:
    """Redis through redis-py's asyncio client; an unreachable server is `StoreUnavailableError`."""

    def __init__(self, url: str, *, timeout: float = 1.0) -> None:
        import redis.asyncio as aioredis

        self._redis = aioredis.from_url(
            url,
            decode_responses=True,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            health_check_interval=10,
        )

    async def get(self, key: str) -> str | None:
        from redis.exceptions import RedisError

        try:
            value = await self._redis.get(PREFIX + key)
        except RedisError as exc:
            raise StoreUnavailableError(f"redis: {type(exc).__name__}") from None
        return value if value is None or isinstance(value, str) else value.decode()

    async def put(self, key: str, value: str, ttl: float) -> None:
        from redis.exceptions import RedisError

        if ttl <= 0:
            raise ValueError(f"ttl must be positive, got {ttl}")
        try:
            await self._redis.set(PREFIX + key, value, px=max(1, int(ttl * 1000)))
        except RedisError as exc:
            raise StoreUnavailableError(f"redis: {type(exc).__name__}") from None

    async def delete(self, key: str) -> None:
        from redis.exceptions import RedisError

        try:
            await self._redis.delete(PREFIX + key)
        except RedisError as exc:
            raise StoreUnavailableError(f"redis: {type(exc).__name__}") from None

    async def close(self) -> None:
        await self._redis.aclose()


class FallbackKV:
    """Redis first, this replica's memory beside it: a Redis fault degrades, never crashes.

    Every write goes to memory too; reads ask Redis (it has the word: another replica may have
    moved a page on) and fall back to memory while it is down. After a failure Redis is left
    alone for `retry_after` seconds (no timeout per call), then tried again; one warning when it
    goes, one line when it is back, and what was written meanwhile is copied over then, unless
    Redis holds a newer value: each value goes to Redis stamped with its write time (wall clock,
    `STAMP` before it), so a replica back from a fault never overwrites what another one wrote
    since (a page that moved on, its newer handle).
    """

    def __init__(
        self,
        shared: KeyValue,
        clock: Clock | None = None,
        *,
        retry_after: float = 2.0,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._clock = clock or MonotonicClock()
        self._wall = wall
        self.shared = shared
        self.local = MemoryKV(self._clock)
        self._retry_after = retry_after
        self._down_until: float | None = None
        # Written or deleted while Redis was down: key -> when (wall clock, ms).
        self._unsynced: dict[str, int] = {}

    @property
    def degraded(self) -> bool:
        """Redis failed lately: this replica runs on its own memory."""
        return self._down_until is not None

    def _usable(self) -> bool:
        return self._down_until is None or self._clock.now() >= self._down_until

    def _failed(self, exc: StoreUnavailableError) -> None:
        if self._down_until is None:
            log.warning("shared store unreachable (%s): going on with this replica's memory", exc)
        self._down_until = self._clock.now() + self._retry_after

    def _now_ms(self) -> int:
        return int(self._wall() * 1000)

    async def _worked(self) -> None:
        if self._down_until is None:
            return
        self._down_until = None
        keys, self._unsynced = self._unsynced, {}
        copied = kept = 0
        try:
            for key, at in keys.items():
                there = await self.shared.get(key)
                if there is not None and _unstamp(there)[0] > at:
                    kept += 1  # another replica wrote it since: newer than ours
                    continue
                item = self.local.entry(key)
                if item is None:
                    await self.shared.delete(key)
                else:
                    await self.shared.put(key, _stamp(at, item[0]), item[1])
                copied += 1
        except StoreUnavailableError as exc:
            self._unsynced = keys | self._unsynced
            self._failed(exc)
            return
        log.warning(
            "shared store reachable again (%d record(s) copied over, %d newer ones kept)",
            copied,
            kept,
        )

    async def get(self, key: str) -> str | None:
        if self._usable():
            try:
                value = await self.shared.get(key)
            except StoreUnavailableError as exc:
                self._failed(exc)
            else:
                await self._worked()
                return None if value is None else _unstamp(value)[1]
        return await self.local.get(key)

    async def put(self, key: str, value: str, ttl: float) -> None:
        await self.local.put(key, value, ttl)
        at = self._now_ms()
        if not self._usable():
            self._unsynced[key] = at
        else:
            try:
                await self.shared.put(key, _stamp(at, value), ttl)
            except StoreUnavailableError as exc:
                self._failed(exc)
                self._unsynced[key] = at
            else:
                await self._worked()

    async def delete(self, key: str) -> None:
        await self.local.delete(key)
        if not self._usable():
            self._unsynced[key] = self._now_ms()
        else:
            try:
                await self.shared.delete(key)
            except StoreUnavailableError as exc:
                self._failed(exc)
                self._unsynced[key] = self._now_ms()
            else:
                await self._worked()

    async def close(self) -> None:
        await self.shared.close()
        await self.local.close()


STAMP = "~"  # `<ms>~<value>`: values (hex digests, sealed base64url) never hold a "~"


def _stamp(at: int, value: str) -> str:
    return f"{at}{STAMP}{value}"


def _unstamp(stored: str) -> tuple[int, str]:
    """(when it was written, in ms, or 0 if not stamped; the value)."""
    at, sep, value = stored.partition(STAMP)
    if sep and at.isdigit():
        return int(at), value
    return 0, stored
