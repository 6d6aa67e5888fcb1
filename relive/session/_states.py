"""The session manager's states, the one table of allowed moves, and the actions it asks for.

Every state change goes through `TRANSITIONS`; an illegal move raises `IllegalTransitionError`.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from relive._errors import SessionError
from relive.session import _events as ev


class State(enum.Enum):
    CONNECTING = "connecting"  # opening a connection for a new conversation
    LIVE = "live"
    DRAINING = "draining"  # goAway received: waiting for a safe point before the deadline
    RESUMING = "resuming"  # opening a connection with a resumption handle
    BACKING_OFF = "backing-off"  # waiting before the next attempt
    FAILED = "failed"  # gave up
    CLOSED = "closed"  # the app closed the session


S = State
TRANSITIONS: dict[State, frozenset[State]] = {
    S.CONNECTING: frozenset({S.LIVE, S.BACKING_OFF, S.FAILED, S.CLOSED}),
    S.RESUMING: frozenset({S.LIVE, S.BACKING_OFF, S.CONNECTING, S.FAILED, S.CLOSED}),
    S.LIVE: frozenset({S.DRAINING, S.RESUMING, S.CONNECTING, S.BACKING_OFF, S.FAILED, S.CLOSED}),
    S.DRAINING: frozenset({S.RESUMING, S.CONNECTING, S.FAILED, S.CLOSED}),
    S.BACKING_OFF: frozenset({S.RESUMING, S.CONNECTING, S.FAILED, S.CLOSED}),
    S.FAILED: frozenset({S.CLOSED}),
    S.CLOSED: frozenset(),
}


class SessionClosedError(SessionError):
    """The session is closed or gave up; nothing more can be sent."""


@dataclass(frozen=True)
class Connect:
    """Close any open connection, then open connection `conn_id` (resuming `handle` if set)."""

    conn_id: int
    handle: str | None


@dataclass(frozen=True)
class Disconnect:
    conn_id: int


@dataclass(frozen=True)
class Emit:
    event: ev.Event


Action = Connect | Disconnect | Emit

NOTICES = {
    "call": "The call could not be resumed, so a new one was started.",
    "text": "The conversation could not be resumed, so a new one was started.",
}


REFUSED_REASON = (
    "the server refused to resume for {seconds:.1f}s (it still holds the old connection; last: "
    "{failure}), so a new session was started with the conversation so far as history"
)
STALE_HANDLE_REASON = (
    "the newest resumption handle predates answers this model cannot be given back as history "
    "mid-session, so a new session was started with the conversation so far as history"
)
NO_HANDLE_REASON = "the connection ended before the server issued a resumption handle"


def parse_duration(text: str | None) -> float | None:
    """A protobuf Duration string ("10s", "9.5s") in seconds, or None."""
    if not text:
        return None
    match = re.fullmatch(r"\s*(-?\d+(?:\.\d+)?)s?\s*", text)
    return float(match.group(1)) if match else None
