"""The emulator's state tables, in one place (like h11's `_state.py`).

`ACCEPTS` says which client messages each connection state takes; `BUSY` lists the turn states
that new user input interrupts (barge-in). `Auth` is what the handshake established.
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


@dataclass(frozen=True)
class Auth:
    """What the handshake established: the key (or why there is none) and the API flavour."""

    api_key: str | None
    refused: CloseReason | None = None
    vertex: bool = False
