"""Injectable time, so lifetimes, backoff and expiry are tested without sleeping.

Logic takes a `Clock` and asks it for `now()` (seconds, monotonic). Drivers use `MonotonicClock`;
tests use `ManualClock` and `advance()` it.
"""

from __future__ import annotations

import time
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    """A source of monotonic time in seconds."""

    def now(self) -> float:
        """The current time in seconds (monotonic: only differences mean anything)."""
        ...


class MonotonicClock:
    """The real clock: `time.monotonic()`."""

    def now(self) -> float:
        """`time.monotonic()`."""
        return time.monotonic()


class ManualClock:
    """A clock that only moves when a test says so."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = start

    def now(self) -> float:
        """The time the test has set or advanced to."""
        return self._now

    def advance(self, seconds: float) -> float:
        """Move time forward by `seconds` (never backward) and return the new time."""
        if seconds < 0:
            raise ValueError(f"a clock cannot go back in time (advance({seconds}))")
        self._now += seconds
        return self._now

    def set(self, when: float) -> None:
        """Jump to absolute time `when`, which must not be in the past."""
        if when < self._now:
            raise ValueError(f"a clock cannot go back in time (set({when}) < {self._now})")
        self._now = when
