"""The in-flight rule: which client messages a resumption handle holds, per connection, I/O-free.

A handle is a snapshot of what the server had taken in when it issued it; a message written
just before the handle arrived may have crossed it on the way and must be replayed on a resume,
not counted as held. Without `lastConsumedClientMessageIndex` (Vertex only) the client infers it:

- The pong rule: the driver pings behind what it writes, and a handle settles only what a pong
  received *before* the handle acknowledged. The server read those messages before it answered
  the ping, so before it sent what came after the pong on the same socket. No clock is read, so a
  client descheduled between a write and reading the handle cannot make the write look older
  than it is. It assumes the server answers a ping in order with its input (the emulator does).
- The time rule, where pongs cannot decide (none back yet on the connection, pongs of `SLOW_PONG`
  or more as the real Developer API's have been reported, or a fixed margin): what was written
  within `window` seconds before the handle arrived stays unsettled.

Either way what stays unsettled is replayed rather than lost; the ping schedule only sets how
little is replayed needlessly (a ping behind every write while a handle is likely).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

# The time rule's window: this many times the longest of the recent round trips, within bounds.
MIN_WINDOW = 0.005
MAX_WINDOW = 1.0
WINDOW_FACTOR = 3.0
ROUND_TRIP_SAMPLES = 16
# Pings behind the writes that may be out at once, and the round trip past which pongs are too
# slow to settle by (the real Developer API has been reported to answer pings in 8-30 s).
MAX_PINGS_OUT = 16
SLOW_PONG = 5.0
# While no handle is likely, a ping goes behind a write at most this often (round trips for the
# time rule); while one is, behind every write (a pong per 20 ms chunk costs a wake-up each).
SPARSE_PING_EVERY = 0.25


@dataclass
class InFlight:
    """One connection's writes, pings and pongs. Indices are the journal's; times the clock's.

    `fixed_margin`: the app's `Policy.in_flight_margin`: the time rule with that window, no pings.
    """

    fixed_margin: float | None = None
    window: float = MIN_WINDOW  # the time rule's window
    written: int = 0  # highest index written on the connection
    pinged: int = 0  # highest index a ping went out behind
    acked: int = 0  # highest index a pong received so far acknowledged
    last_ping_at: float = float("-inf")
    pings_out: deque[tuple[float, int]] = field(default_factory=deque)  # (sent at, mark)
    round_trips: deque[float] = field(default_factory=lambda: deque(maxlen=ROUND_TRIP_SAMPLES))
    # (time, index) of the writes of the last `MAX_WINDOW` seconds, for the time rule.
    recent: deque[tuple[float, int]] = field(default_factory=deque)

    def opened(self, connect_time: float) -> None:
        """Setup completed after `connect_time` seconds: several round trips, so a third of it
        bounds one from above until the first pong."""
        margin = self.fixed_margin if self.fixed_margin is not None else connect_time / 3
        self.window = _bounded(margin)

    def taken(self, now: float, index: int) -> None:
        """Message `index` is about to be written."""
        self.recent.append((now, index))
        while self.recent[0][0] < now - MAX_WINDOW:
            self.recent.popleft()

    def wrote(self, now: float, index: int) -> None:
        """Message `index` was written: its time is now, not when it was taken."""
        self.written = index
        if self.recent and self.recent[-1][1] == index:
            self.recent[-1] = (now, index)

    def probe_due(self, now: float, *, idle: bool, handle_likely: bool) -> bool:
        """Whether to ping behind what was written. While a handle is likely: when no ping is
        out, and up to `MAX_PINGS_OUT` at once when the sender goes `idle`, so every write a
        handle may follow has one behind it. Otherwise at most every `SPARSE_PING_EVERY`."""
        if self.fixed_margin is not None or self.written <= self.pinged:
            return False
        out = len(self.pings_out)
        if not handle_likely:
            return out == 0 and now - self.last_ping_at >= SPARSE_PING_EVERY
        return out == 0 or (idle and out < MAX_PINGS_OUT)

    def ping(self, now: float) -> int:
        """A ping went out behind everything written: its mark, for `pong`."""
        self.pinged = self.written
        self.last_ping_at = now
        self.pings_out.append((now, self.written))
        return self.written

    def pong(self, now: float, mark: int) -> None:
        """The pong of the ping sent behind `mark` arrived (it answers earlier pings too)."""
        self.acked = max(self.acked, mark)
        while self.pings_out and self.pings_out[0][1] <= mark:
            sent_at, answered = self.pings_out.popleft()
            if answered == mark:
                self.round_trips.append(max(0.0, now - sent_at))
        if self.fixed_margin is None and self.round_trips:
            self.window = _bounded(WINDOW_FACTOR * max(self.round_trips))

    def held_by_handle(self, now: float) -> int | None:
        """The highest index a handle arriving now surely holds (None: no limit from here)."""
        if self._pongs_decide(now):
            return self.acked
        cutoff = now - self.window
        limit = None
        for sent_at, index in reversed(self.recent):  # newest first: a step or two
            if sent_at <= cutoff:
                break
            limit = index - 1
        return limit

    def _pongs_decide(self, now: float) -> bool:
        """Pongs come back on this connection, and promptly enough to settle by."""
        if self.fixed_margin is not None or not self.round_trips:
            return False
        if max(self.round_trips) >= SLOW_PONG:
            return False
        return not self.pings_out or now - self.pings_out[0][0] < SLOW_PONG

    @property
    def unproven(self) -> bool:
        """Something was written that no pong has acknowledged yet."""
        return self.written > self.acked


def _bounded(window: float) -> float:
    return min(MAX_WINDOW, max(MIN_WINDOW, window))
