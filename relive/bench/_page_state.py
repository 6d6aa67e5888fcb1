"""What a bench page keeps and notes (`_page.PageClient`): its numbered inputs until the backend
says they are covered (`Kept`, app.js's rule and bounds), the outages a user would notice, and
its counters. Plain records, no I/O."""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

KEEP_AUDIO = 500  # numbered call audio the page keeps until covered: 10 s of 20 ms chunks
KEEP_TEXT = 50  # and chat messages (app.js's bounds)


@dataclass
class Outage:
    """The call not live, as the page sees it: `start` is the first sign (the call's status
    leaving "live", a `goaway`, or the socket closing), `end` the call's "live" status again."""

    cause: str  # "status", "goaway" or "closed"
    start: float
    end: float | None = None

    @property
    def seconds(self) -> float | None:
        return None if self.end is None else self.end - self.start


class Kept:
    """One mode's numbered inputs, kept until the backend says they are covered (app.js's rule:
    numbered from 1, the oldest dropped beyond `bound`)."""

    def __init__(self, bound: int) -> None:
        self.bound = bound
        self.next = 1
        self.items: deque[tuple[int, Any]] = deque()
        self.dropped = 0  # dropped over the bound before they were covered

    def keep(self, data: Any) -> int:
        seq = self.next
        self.next += 1
        self.items.append((seq, data))
        if len(self.items) > self.bound:
            self.items.popleft()
            self.dropped += 1
        return seq

    def covered(self, seq: int) -> None:
        while self.items and self.items[0][0] <= seq:
            self.items.popleft()

    def above(self, received: int) -> list[tuple[int, Any]]:
        """The kept inputs numbered above `received`, oldest first (from the newest end: the
        common case, one or two, costs that much)."""
        out = []
        for item in reversed(self.items):
            if item[0] <= received:
                break
            out.append(item)
        out.reverse()
        return out


@dataclass
class PageStats:
    welcomes: int = 0
    goaways: int = 0
    closes: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    notices: Counter[str] = field(default_factory=Counter)
    chunks_sent: int = 0
    chunks_unsent: int = 0  # mic audio while no socket was open and inputs are not numbered
    resent: int = 0  # inputs sent again after a welcome (numbered inputs)
    audio_received: int = 0
