"""Counters and an event log, so tests wait on what happened instead of sleeping."""

from __future__ import annotations

import asyncio
import enum
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any


class EventKind(enum.StrEnum):
    """Every kind of `EmulatorEvent`, in one place: a misspelt kind is a type error."""

    ABORTED = "aborted"
    CLOSED = "closed"
    COMPRESSED = "compressed"
    CONNECTION_CLOSED = "connection_closed"
    CONNECTION_OPENED = "connection_opened"
    CONTEXT_UPDATE = "context_update"
    DEADLINE = "deadline"
    DROPPED_MID_TURN = "dropped_mid_turn"
    GENERATION_COMPLETE = "generation_complete"
    GOAWAY = "goaway"
    HANDLE_ISSUED = "handle_issued"
    HANDLE_REJECTED = "handle_rejected"
    IDLE_ABORT = "idle_abort"
    INTERRUPTED = "interrupted"
    RECEIVED = "received"
    RESUMED = "resumed"
    SENT = "sent"
    SESSION_STARTED = "session_started"
    SETUP_TIMEOUT = "setup_timeout"
    TOKEN_ADMITTED = "token_admitted"
    TOKEN_EXPIRED = "token_expired"
    TOKEN_MINTED = "token_minted"
    TOKEN_REJECTED = "token_rejected"
    TOOL_CALL = "tool_call"
    TOOL_RESPONSE_IGNORED = "tool_response_ignored"
    TOOL_RESULT = "tool_result"
    TURN_COMPLETE = "turn_complete"


@dataclass(frozen=True)
class EmulatorEvent:
    """Something the emulator did: `kind` plus details (`conn` is the connection id)."""

    kind: EventKind
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


_COUNTS: dict[EventKind, str] = {
    EventKind.SESSION_STARTED: "sessions",
    EventKind.RESUMED: "resumptions",
    EventKind.GOAWAY: "goaways_sent",
    EventKind.DEADLINE: "deadlines",
    EventKind.TOOL_CALL: "tool_calls",
    EventKind.INTERRUPTED: "interruptions",
    EventKind.COMPRESSED: "compressions",
    EventKind.ABORTED: "aborts",
    EventKind.CONNECTION_OPENED: "connections_opened",
    EventKind.HANDLE_ISSUED: "handles_issued",
}


class EventLog:
    """Stats plus a bounded history of events, with awaitable waits."""

    def __init__(
        self, keep: int = 10_000, hooks: list[Callable[[EmulatorEvent], object]] | None = None
    ) -> None:
        self.stats = EmulatorStats()
        # Called with every event, `sent` and `received` included (those are counted, not kept:
        # a `received` event's data holds the decoded client message, for observers only).
        self.hooks: list[Callable[[EmulatorEvent], object]] = hooks if hooks is not None else []
        self.events: list[EmulatorEvent] = []
        self._keep = keep
        self._seq = 0
        self._changed = asyncio.Event()
        self.started = time.monotonic()

    def record(self, kind: EventKind, data: dict[str, Any]) -> None:
        """Count the event, keep it (all but `sent`/`received`), tell the hooks, wake waiters."""
        s = self.stats
        if kind is EventKind.SENT or kind is EventKind.RECEIVED:
            if kind is EventKind.SENT:
                s.messages_sent += 1
            else:
                s.messages_received += 1
            for hook in self.hooks:
                hook(EmulatorEvent(kind, data, 0))
            self._changed.set()
            return
        attr = _COUNTS.get(kind)
        if attr is not None:
            setattr(s, attr, getattr(s, attr) + 1)
        if kind is EventKind.HANDLE_REJECTED:
            s.rejected_handles[str(data.get("reason"))] += 1
        elif kind is EventKind.CLOSED:
            s.closes[int(data["code"])] += 1
        elif kind is EventKind.TURN_COMPLETE and not data.get("interrupted"):
            s.turns_completed += 1
        self._seq += 1
        event = EmulatorEvent(kind, data, self._seq)
        self.events.append(event)
        for hook in self.hooks:
            hook(event)
        if len(self.events) > self._keep:
            del self.events[: len(self.events) - self._keep]
        self.poke()

    def received(self, conn: int, message: object) -> None:
        """A client frame came in (`message` is what the codec made of it): counted; the
        `received` event and its data exist only when a hook listens (once per audio chunk)."""
        self.stats.messages_received += 1
        if self.hooks:
            event = EmulatorEvent(EventKind.RECEIVED, {"conn": conn, "message": message}, 0)
            for hook in self.hooks:
                hook(event)
        self._changed.set()

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
