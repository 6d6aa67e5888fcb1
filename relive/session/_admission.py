"""Admission of connects per process: an adaptive bound on how many are in flight at once.

When a thousand sessions reconnect at once on a CPU-bound client (or server), every handshake
shares the CPU with all the others and they all finish together, late (processor sharing). With
a bounded number in flight, served first come first served, the same work finishes in the same
total time but the median session is back in about half of it, and none later. Against the real
service a connect mostly waits on the network (100-500 ms round trips), and a small fixed bound
would serialise those waits; so the bound adapts, the way TCP Vegas sizes its window:

- `floor`: the least connect time seen lately (what a connect costs when nothing queues);
- a connect that took at most `tolerance` x the floor says nothing queues: while connects wait
  for a slot, the bound doubles (a latency-bound crowd is let through within a round trip or
  two);
- a slower one says connects queue behind each other: the bound shrinks in proportion
  (`tolerance * floor / took`, at most halving per connect), but never below
  `tolerance * floor / cost` (`cost`: a connect's own CPU time, about 2 ms here): as many as
  can start together and, each spending its CPU share, still finish within `tolerance` x the
  floor, so connects that mostly wait on the network all wait together (a 300 ms round trip:
  450; loopback: `least`). `floor / cost` alone, enough to keep the CPU busy in theory, held
  back a third of a 300-session wave 200 ms away for a whole round.

The floor is the least time seen; when it is older than `floor_window` it may rise (at most
doubling per window), so a slower network or machine is learnt again. Until a connect has been
timed the bound is `initial`: a process's first burst is a guess, later ones are learnt.

What takes a turn is a whole reconnect: the next socket's open (TCP, TLS, the WebSocket
upgrade), the old connection's close, the setup and its `setupComplete` (or the SDK's whole
connect where the lean one does not apply, `_connector.py`). A bound on the socket opens alone
left the closes and setups of every session sharing the CPU at once, so nobody finished early.
A turn is asked when the reconnect comes in sight (at a goAway, or as a drop's jittered first
retry begins); the next socket opens early in it, and the old connection, still draining,
stays open until the turn comes. A socket opened early in a long drain passes the turn on
(`SessionTurns`).

`ConnectLimit` is the I/O-free core (time is handed in); `Admission` is its asyncio driver,
one per event loop (and per `ManualClock`), shared by every session of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections import deque
from collections.abc import AsyncIterator, Callable
from functools import partial
from typing import Generic, TypeVar

from relive._clock import Clock, MonotonicClock

T = TypeVar("T")


class ConnectLimit(Generic[T]):
    """How many connects may be in flight, and who waits (first come, first served).

    Callers are known by a token of their choosing: `ask` admits one now or queues it,
    `done` frees its slot (with the time its connect took, or None if it failed or was
    cancelled) and returns the tokens admitted in its place, oldest first.
    """

    def __init__(
        self,
        *,
        initial: int = 16,
        least: int = 16,
        most: int = 1024,
        tolerance: float = 3.0,
        cost: float = 0.002,
        floor_window: float = 60.0,
        least_floor: float = 0.001,
    ) -> None:
        if not 1 <= least <= initial <= most:
            raise ValueError(f"need 1 <= least <= initial <= most, got {least}, {initial}, {most}")
        if tolerance < 1 or cost <= 0 or floor_window <= 0 or least_floor <= 0:
            raise ValueError("tolerance must be >= 1; cost, floor_window, least_floor positive")
        self.limit = float(initial)
        self.least, self.most = least, most
        self.tolerance = tolerance
        self.cost = cost
        self.floor_window = floor_window  # the floor is learnt again after this long
        self.least_floor = least_floor  # a floor below this (a manual clock: 0) counts as this
        self.floor: float | None = None
        self._floor_at = 0.0
        self.in_flight = 0
        self._waiting: deque[T] = deque()

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def ask(self, token: T) -> bool:
        """Admit `token` now (True) or queue it behind the others (False)."""
        if not self._waiting and self.in_flight < int(self.limit):
            self.in_flight += 1
            return True
        self._waiting.append(token)
        return False

    def withdraw(self, token: T) -> bool:
        """A queued caller gave up waiting; False if it was not queued (already admitted)."""
        try:
            self._waiting.remove(token)
        except ValueError:
            return False
        return True

    def done(self, now: float, took: float | None) -> list[T]:
        """An admitted connect ended after `took` seconds (None: failed or cancelled, which
        says nothing about queueing); the tokens admitted now in its place."""
        self.in_flight -= 1
        if took is not None:
            self._learn(now, max(took, self.least_floor))
        admitted: list[T] = []
        while self._waiting and self.in_flight < int(self.limit):
            admitted.append(self._waiting.popleft())
            self.in_flight += 1
        return admitted

    def _learn(self, now: float, took: float) -> None:
        if self.floor is None or took <= self.floor:
            self.floor, self._floor_at = took, now
        elif now - self._floor_at > self.floor_window:  # stale: it may rise, slowly
            self.floor, self._floor_at = min(took, 2 * self.floor), now
        bar = self.tolerance * self.floor
        busy = min(float(self.most), max(float(self.least), bar / self.cost))
        if took <= bar:
            if self._waiting:  # the bound held someone back and nothing queued: let more in
                self.limit = min(float(self.most), self.limit + 1)
        else:
            self.limit = self.limit * max(0.5, bar / took)
        self.limit = max(self.limit, busy)


class Turn:
    """One reconnect's place among the process's: admitted in arrival order, held through the
    reconnect, then ended (`end`), which frees the slot for the next one."""

    def __init__(self, admission: Admission) -> None:
        self._admission = admission
        self._admitted = asyncio.get_running_loop().create_future()
        self.ended = False

    @property
    def admitted(self) -> bool:
        return self._admitted.done() and not self._admitted.cancelled()

    async def wait(self) -> None:
        """Until admitted; `ConnectionError` if the turn ended first (given up). A waiter's
        cancellation leaves the turn as it is (another may wait on it too)."""
        if not self._admitted.done():
            await asyncio.wait([self._admitted])  # which cancels a waiter, not the turn
        if self._admitted.cancelled():
            raise ConnectionError("the turn to connect was given up")

    def end(self, took: float | None) -> None:
        """The reconnect is over: it took `took` seconds (None: it failed or was given up,
        which says nothing about queueing). A turn still waiting leaves the queue."""
        if self.ended:
            return
        self.ended = True
        self._admission._end(self, took)


class Admission:
    """`ConnectLimit` on an event loop: `turn = admission.turn()`, `await turn.wait()`,
    reconnect, `turn.end(took)`."""

    def __init__(self, clock: Clock, limit: ConnectLimit[Turn] | None = None):
        self.clock = clock
        self.limit: ConnectLimit[Turn] = limit or ConnectLimit()

    def turn(self) -> Turn:
        """A place in the queue (admitted at once if a slot is free and nobody waits)."""
        turn = Turn(self)
        if self.limit.ask(turn):
            turn._admitted.set_result(None)
        return turn

    def _end(self, turn: Turn, took: float | None) -> None:
        if not turn._admitted.done():
            self.limit.withdraw(turn)
            turn._admitted.cancel()
            return
        for admitted in self.limit.done(self.clock.now(), took):
            admitted._admitted.set_result(None)


class SessionTurns:
    """One session's turns: the one asked as a reconnect came in sight, in which its socket
    opens early (`early`), and the one its reconnect runs in (`take`: that same turn, or a
    new one)."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self.next: Turn | None = None  # asked, not yet taken by a reconnect

    def early(self) -> Callable[[], contextlib.AbstractAsyncContextManager[None]]:
        """The gate an early socket opens in: the next reconnect's turn."""
        if self.next is None:
            self.next = admission_for(self._clock).turn()
        return partial(self._early, self.next)

    @contextlib.asynccontextmanager
    async def _early(self, turn: Turn) -> AsyncIterator[None]:
        """If the reconnect has not begun once the socket is open (a long drain: the model
        mid-answer), the turn passes to the next session; the reconnect asks again when it
        begins (the socket's CPU is spent, and the drain holds nobody back)."""
        await turn.wait()
        try:
            yield
        finally:
            if self.next is turn:
                self.next = None
                turn.end(None)

    def take(self) -> Turn:
        """The turn a reconnect beginning now runs in."""
        turn, self.next = self.next or admission_for(self._clock).turn(), None
        return turn

    def close(self) -> None:
        """The session is over: give up a turn asked and not taken."""
        if self.next is not None:
            self.next.end(None)
            self.next = None


_BY_LOOP: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Admission] = (
    weakref.WeakKeyDictionary()
)
_BY_CLOCK: weakref.WeakKeyDictionary[Clock, Admission] = weakref.WeakKeyDictionary()


def admission_for(clock: Clock) -> Admission:
    """The admission every session on this clock shares: one per event loop on the real clock
    (a process's sessions share its CPU), one per test clock."""
    if isinstance(clock, MonotonicClock):
        loop = asyncio.get_running_loop()
        admission = _BY_LOOP.get(loop)
        if admission is None:
            admission = _BY_LOOP[loop] = Admission(MonotonicClock())
        return admission
    admission = _BY_CLOCK.get(clock)
    if admission is None:
        admission = _BY_CLOCK[clock] = Admission(clock)
    return admission
