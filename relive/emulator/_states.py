"""The emulator's state tables, in one place (like h11's `_state.py`).

`ACCEPTS` says which client messages each connection state takes; `BUSY` lists the turn states
that new user input interrupts (barge-in). `EVENT_TRIGGERED_TRANSITIONS` and
`TURN_TRANSITIONS` say which trigger moves a connection, and its model turn, to which state:
`LiveConnection._go` is the only door, and anything the tables do not list is
`IllegalTransitionError`. `Auth` is what the handshake established.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from relive.emulator._closes import CloseReason


class State(enum.Enum):
    """Lifecycle of a connection."""

    AWAITING_SETUP = "awaiting setup"
    OPEN = "open"
    GOING_AWAY = "going away"
    CLOSED = "closed"


class TurnState(enum.Enum):
    """What the model is doing."""

    IDLE = "idle"
    GENERATING = "generating"
    TOOL_CALL = "in tool call"


ACCEPTS: dict[State, frozenset[str]] = {
    State.AWAITING_SETUP: frozenset({"setup"}),
    State.OPEN: frozenset({"clientContent", "realtimeInput", "toolResponse", "contextUpdate"}),
    State.GOING_AWAY: frozenset(
        {"clientContent", "realtimeInput", "toolResponse", "contextUpdate"}
    ),
    State.CLOSED: frozenset(),
}
BUSY = frozenset({TurnState.GENERATING, TurnState.TOOL_CALL})


class Trigger(enum.Enum):
    """What moves a connection."""

    SETUP = "setup"  # a valid setup arrived (and any handle resolved)
    GOAWAY = "goaway"  # goAway sent (at the lifetime's lead, or on demand)
    CLOSE = "close"  # the service closes, with a close frame
    ABORT = "abort"  # the drop-mid-turn fault: the socket is cut, no close frame
    LOST = "lost"  # the socket is gone (either side)


class TurnTrigger(enum.Enum):
    """What moves the model's turn."""

    REPLY = "reply"  # the model starts answering
    TOOL_CALL = "tool call"  # the model asks for a function's result
    TOOL_RESPONSE = "tool response"  # the client answered the call
    FINISH = "finish"  # the reply was sent in full
    INTERRUPT = "interrupt"  # user input cut the turn


_LIVE = {Trigger.CLOSE: State.CLOSED, Trigger.ABORT: State.CLOSED, Trigger.LOST: State.CLOSED}
EVENT_TRIGGERED_TRANSITIONS: dict[State, dict[Trigger, State]] = {
    State.AWAITING_SETUP: {
        Trigger.SETUP: State.OPEN,
        Trigger.CLOSE: State.CLOSED,
        Trigger.LOST: State.CLOSED,
    },
    State.OPEN: {Trigger.GOAWAY: State.GOING_AWAY, **_LIVE},
    State.GOING_AWAY: {Trigger.GOAWAY: State.GOING_AWAY, **_LIVE},
    State.CLOSED: {Trigger.LOST: State.CLOSED},
}
TURN_TRANSITIONS: dict[TurnState, dict[TurnTrigger, TurnState]] = {
    TurnState.IDLE: {
        TurnTrigger.REPLY: TurnState.GENERATING,
        TurnTrigger.TOOL_CALL: TurnState.TOOL_CALL,
    },
    TurnState.GENERATING: {
        TurnTrigger.FINISH: TurnState.IDLE,
        TurnTrigger.INTERRUPT: TurnState.IDLE,
    },
    TurnState.TOOL_CALL: {
        TurnTrigger.TOOL_RESPONSE: TurnState.IDLE,
        TurnTrigger.INTERRUPT: TurnState.IDLE,
    },
}


@dataclass(frozen=True)
class Auth:
    """What the handshake established: the key (or why there is none) and the API flavour."""

    api_key: str | None
    refused: CloseReason | None = None
    vertex: bool = False
    ephemeral: bool = False  # `api_key` is an auth_tokens/ name (the Constrained endpoint)
    api_version: str = "v1beta"
