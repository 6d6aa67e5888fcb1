"""Mass drops: when many sessions of one process lose their connections at once, spread them.

The first retry after a drop is immediate, which is right for one session and wrong for a
thousand: they would all hit the server in the same millisecond (a load balancer restart, a
network blip). Each drop is noted here; the more drops in the last `WINDOW` seconds, the wider
the random delay before this session's first retry (`Policy.drop_jitter_step` per peer, at most
`Policy.drop_jitter_max`). A lone drop still reconnects at once.

Inside a process, the reconnect bound (`_admission.py`, `Policy.limit_connects`, on by
default) orders a crowd's reconnects: a session whose jittered first retry begins joins its
queue, so the spread is kept small (0.5 ms per peer, at most 0.25 s: 50 ms at 100 sessions) and
adds little to the wait in it. The spread is there for the herd of processes, whose first
retries would otherwise reach the server together, and for an app that turns the bound off.

Sessions on the real clock share one herd per process; a test's `ManualClock` gets its own.
"""

from __future__ import annotations

import weakref

from relive._clock import Clock, MonotonicClock

WINDOW = 0.5


class DropHerd:
    """Recent drops of the sessions sharing a clock (one entry per session)."""

    def __init__(self) -> None:
        self._drops: dict[int, float] = {}  # session id -> its last drop, oldest first

    def note_drop(self, session: int, now: float) -> int:
        """Note a drop of `session` at `now`; how many sessions dropped in the last `WINDOW`."""
        self._drops.pop(session, None)
        self._drops[session] = now
        while (oldest := next(iter(self._drops))) != session:
            if self._drops[oldest] >= now - WINDOW:
                break
            del self._drops[oldest]
        return len(self._drops)


_REAL_TIME = DropHerd()
_BY_CLOCK: weakref.WeakKeyDictionary[Clock, DropHerd] = weakref.WeakKeyDictionary()


def herd_for(clock: Clock) -> DropHerd:
    """The herd of every session on this clock (all real-time sessions share one)."""
    if isinstance(clock, MonotonicClock):
        return _REAL_TIME
    herd = _BY_CLOCK.get(clock)
    if herd is None:
        herd = _BY_CLOCK[clock] = DropHerd()
    return herd
