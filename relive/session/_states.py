"""The session manager's states, the one table of allowed moves, and the actions it asks for.

Every state change is a `Trigger` looked up in `EVENT_TRIGGERED_TRANSITIONS`; a trigger the
current state does not list raises `IllegalTransitionError`.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from relive._errors import SessionError
from relive.session import _events as ev
from relive.session._policy import Mode


class State(enum.Enum):
    """Where a session is; `LiveSession.state` reads it."""

    CONNECTING = "connecting"  # opening a connection for a new conversation
    LIVE = "live"
    DRAINING = "draining"  # goAway received: waiting for a safe point before the deadline
    RESUMING = "resuming"  # opening a connection with a resumption handle
    BACKING_OFF = "backing-off"  # waiting before the next attempt
    FAILED = "failed"  # gave up
    CLOSED = "closed"  # the app closed the session


class Trigger(enum.Enum):
    """What moves the session from one state to another (h11's events, for the table below)."""

    RESUME = "resume"  # open a connection with the handle in hand
    CONNECT = "connect"  # open a connection without a handle (nothing to resume yet)
    NEW_SESSION = "new session"  # the conversation could not be resumed: start a fresh one
    OPENED = "opened"  # the connection completed its setup
    GOAWAY = "goaway"  # the server will close soon: wait for a safe point
    BACK_OFF = "back off"  # an attempt failed: wait before the next
    GIVE_UP = "give up"
    CLOSE = "close"  # the app closed the session


S = State
T = Trigger
# The one table: in each state, which trigger moves to which state. Anything else is a bug
# (`IllegalTransitionError`). `SessionMachine._go` is the only door.
EVENT_TRIGGERED_TRANSITIONS: dict[State, dict[Trigger, State]] = {
    S.CONNECTING: {
        T.RESUME: S.RESUMING,  # start() with a stored handle
        T.OPENED: S.LIVE,
        T.BACK_OFF: S.BACKING_OFF,
        T.GIVE_UP: S.FAILED,
        T.CLOSE: S.CLOSED,
    },
    S.RESUMING: {
        T.OPENED: S.LIVE,
        T.BACK_OFF: S.BACKING_OFF,
        T.NEW_SESSION: S.CONNECTING,
        T.GIVE_UP: S.FAILED,
        T.CLOSE: S.CLOSED,
    },
    S.LIVE: {
        T.GOAWAY: S.DRAINING,
        T.RESUME: S.RESUMING,
        T.CONNECT: S.CONNECTING,
        T.NEW_SESSION: S.CONNECTING,
        T.BACK_OFF: S.BACKING_OFF,
        T.GIVE_UP: S.FAILED,
        T.CLOSE: S.CLOSED,
    },
    S.DRAINING: {
        T.RESUME: S.RESUMING,
        T.CONNECT: S.CONNECTING,
        T.NEW_SESSION: S.CONNECTING,  # the handle lacks answers this model takes no history for
        T.CLOSE: S.CLOSED,
    },
    S.BACKING_OFF: {
        T.RESUME: S.RESUMING,
        T.CONNECT: S.CONNECTING,
        T.NEW_SESSION: S.CONNECTING,  # the same, found when the backoff ends
        T.CLOSE: S.CLOSED,
    },
    S.FAILED: {T.CLOSE: S.CLOSED},
    S.CLOSED: {},
}
# Where each state may lead, whatever the trigger.
TRANSITIONS: dict[State, frozenset[State]] = {
    state: frozenset(moves.values()) for state, moves in EVENT_TRIGGERED_TRANSITIONS.items()
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

# The one wording of a new session, per mode: `NewSession.notice` carries it to the app, and
# the web page and `relive chat` show it as it is (docs/session.md, docs/web.md).
NOTICES: dict[Mode, str] = {
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
