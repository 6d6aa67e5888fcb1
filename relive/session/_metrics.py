"""Counters a dashboard or a bench reads: how often and how long the conversation was at risk."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Metrics:
    """Figures for one managed session (all connections of it)."""

    connections: int = 0  # connections that came up (setup complete)
    connect_attempts: int = 0
    reconnects: Counter[str] = field(default_factory=Counter)  # by cause: goaway, deadline, drop
    rejected_handles: int = 0
    new_sessions: int = 0  # conversations lost and started afresh
    downtime_s: float = 0.0  # total time between losing a connection and the next one up
    replayed: int = 0  # client messages sent again on a new connection
    restored_exchanges: int = 0  # answered exchanges re-sent as history (the handle lacked them)
    buffered: int = 0  # client messages that arrived while no connection was live
    dropped_from_buffer: int = 0  # media chunks dropped because the buffer was full
    events_dropped: int = 0  # events the app did not read in time (Policy.max_queued_events)
    gave_up: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The counters as a JSON-ready dict."""
        return {
            "connections": self.connections,
            "connect_attempts": self.connect_attempts,
            "reconnects": dict(self.reconnects),
            "rejected_handles": self.rejected_handles,
            "new_sessions": self.new_sessions,
            "downtime_s": round(self.downtime_s, 4),
            "replayed": self.replayed,
            "restored_exchanges": self.restored_exchanges,
            "buffered": self.buffered,
            "dropped_from_buffer": self.dropped_from_buffer,
            "events_dropped": self.events_dropped,
            "gave_up": self.gave_up,
        }
