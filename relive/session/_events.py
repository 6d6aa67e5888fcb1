"""What the app sees: one ordered stream of server messages and lifecycle events.

The app never parses close codes: every connection-level happening arrives as one of these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from google.genai import types

from relive.transcript import Condensed

ReconnectReason = Literal["goaway", "drop", "deadline"]


@dataclass(frozen=True)
class ServerMessage:
    """A message from the server, exactly as the SDK parsed it."""

    message: types.LiveServerMessage


@dataclass(frozen=True)
class Connected:
    """A connection is up. `resumed` is True when it continues the previous conversation.

    On a resumed connection `history` is the previous transcript, condensed.
    """

    resumed: bool
    history: Condensed | None = None


@dataclass(frozen=True)
class Reconnecting:
    """The connection is being replaced. `deadline` is a monotonic time (goAway) or None."""

    reason: str
    cause: ReconnectReason
    deadline: float | None = None


@dataclass(frozen=True)
class Resumed:
    """The conversation continues on a new connection after `downtime_s` seconds."""

    downtime_s: float
    replayed: int = 0


@dataclass(frozen=True)
class NewSession:
    """The old conversation could not be resumed; a fresh one started.

    `notice` is a short sentence meant for a toast; `reason` says why, for logs. `seeded`: the
    new session was given the condensed transcript as history (resumption kept being refused
    by a server still holding the old connection); otherwise the transcript was emptied.
    """

    reason: str
    notice: str
    seeded: bool = False


@dataclass(frozen=True)
class ReplyCut:
    """A reply was cut by a reconnect and its turn is being asked again.

    Comes once, after the new connection is up and before the new reply: the partial reply the
    app got since the turn began (text, audio, transcription) is void, the whole answer
    follows. Adapters retract what they already pushed downstream.

    `turn` is where that partial reply stands in `LiveSession.transcript` (kept there, marked
    interrupted): its index counting folded turns, `earlier_count` + its place in `turns`.
    None when the cut reply had shown no words, or a new session emptied the transcript.
    """

    reason: str = "the connection ended mid-reply; the turn is asked again"
    turn: int | None = None


@dataclass(frozen=True)
class Undelivered:
    """One input the server never answered, or a run of media chunks of one kind.

    `index` is the journal number of the (first) message; `kind` says what it was
    ("client_content", "realtime_input.audio", ...); `text` holds the user's words (empty for
    media); `bytes` and `chunks` count what the run held. No audio bytes are kept.
    """

    index: int
    kind: str
    text: str
    bytes: int
    chunks: int = 1


@dataclass(frozen=True)
class GaveUp:
    """The manager stopped trying. `undelivered` lists the inputs the server never answered."""

    reason: str
    undelivered: list[Undelivered] = field(default_factory=list)


@dataclass(frozen=True)
class GenerationComplete:
    """The model finished producing its response (audio playback may still be going)."""


@dataclass(frozen=True)
class TurnComplete:
    """The model's turn is over.

    `after_cut`: the connection ended after generationComplete and before the server's
    turnComplete; the answer was whole, so the manager ends the turn itself.
    """

    after_cut: bool = False


@dataclass(frozen=True)
class Interrupted:
    """User activity cut the model's generation; the rest of that turn will not come."""


Event = (
    ServerMessage
    | Connected
    | Reconnecting
    | Resumed
    | NewSession
    | ReplyCut
    | GaveUp
    | GenerationComplete
    | TurnComplete
    | Interrupted
)
