"""Counters and an event log, so tests wait on what happened instead of sleeping."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class EmulatorEvent:
    """Something the emulator did: `kind` plus details (`conn` is the connection id)."""

    kind: str
    data: dict[str, Any]
    seq: int


@dataclass
class EmulatorStats:
    """What happened so far, for tests to assert and for `GET /emulator/stats`."""

    connections_opened: int = 0
    open_connections: int = 0
    sessions: int = 0
    resumptions: int = 0
    rejected_handles: Counter[str] = field(default_factory=Counter)
    handles_issued: int = 0
    goaways_sent: int = 0
    deadlines: int = 0
    closes: Counter[int] = field(default_factory=Counter)
    aborts: int = 0
    turns_completed: int = 0
    interruptions: int = 0
    tool_calls: int = 0
    compressions: int = 0
    messages_received: int = 0
    messages_sent: int = 0

    def to_json(self) -> dict[str, Any]:
        """The counters as a JSON-ready dict."""
        data = asdict(self)
        data["rejected_handles"] = dict(self.rejected_handles)
        data["closes"] = {str(k): v for k, v in self.closes.items()}
        return data


_COUNTS = {
    "session_started": "sessions",
    "resumed": "resumptions",
    "goaway": "goaways_sent",
    "deadline": "deadlines",
    "tool_call": "tool_calls",
    "interrupted": "interruptions",
    "compressed": "compressions",
    "aborted": "aborts",
    "connection_opened": "connections_opened",
    "handle_issued": "handles_issued",
}


class EventLog:
    """Stats plus a bounded history of events, with awaitable waits."""

    def __init__(self, keep: int = 10_000) -> None:
        self.stats = EmulatorStats()
        self.events: list[EmulatorEvent] = []
        self._keep = keep
        self._seq = 0
        self._changed = asyncio.Event()
        self.started = time.monotonic()

    def record(self, kind: str, data: dict[str, Any]) -> None:
        s = self.stats
        if kind == "sent" or kind == "received":
            if kind == "sent":
                s.messages_sent += 1
            else:
                s.messages_received += 1
            self._changed.set()
            return
        attr = _COUNTS.get(kind)
        if attr is not None:
            setattr(s, attr, getattr(s, attr) + 1)
        if kind == "handle_rejected":
            s.rejected_handles[str(data.get("reason"))] += 1
        elif kind == "closed":
            s.closes[int(data["code"])] += 1
        elif kind == "turn_complete" and not data.get("interrupted"):
            s.turns_completed += 1
        self._seq += 1
        self.events.append(EmulatorEvent(kind, data, self._seq))
        if len(self.events) > self._keep:
            del self.events[: len(self.events) - self._keep]
        self.poke()

    def poke(self) -> None:
        """Wake waiters (stats changed)."""
        self._changed.set()

    async def wait_for(
        self,
        predicate: Callable[[EmulatorStats], bool],
        timeout: float,  # noqa: ASYNC109
    ) -> None:
        async with asyncio.timeout(timeout):
            while not predicate(self.stats):
                self._changed.clear()
                await self._changed.wait()

    async def wait_event(
        self,
        kind: str,
        timeout: float,  # noqa: ASYNC109
        after: int = 0,
        **match: Any,
    ) -> EmulatorEvent:
        """The first event of `kind` (newer than seq `after`) whose data has `match`."""
        async with asyncio.timeout(timeout):
            while True:
                for event in self.events:
                    wanted = event.seq > after and event.kind == kind
                    if wanted and all(event.data.get(k) == v for k, v in match.items()):
                        return event
                self._changed.clear()
                await self._changed.wait()

    @property
    def last_seq(self) -> int:
        return self._seq
