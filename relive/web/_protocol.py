"""The page <-> backend protocol: JSON text frames for control, binary frames for audio.

Page -> backend:
    {"type": "hello", "page": "<32+ hex chars>", "secret": null | "<secret from welcome>"}  first
    {"type": "start", "mode": "call"}        start (or re-join) the voice call
    {"type": "text", "text": "...", "seq": n} a chat message (starts the text session if needed)
    {"type": "text", ..., "again": true}     one the page sends again after a welcome: it waits
                                             for the answer to the message before it (or for
                                             the model's silence, `_resend.ANSWER_WAIT`)
    {"type": "audio", "seq": n}              the next binary frame is call audio number n (the
                                             ones after it n+1, n+2, ...)
    {"type": "mute", "muted": true, "seq": n} the mic is muted (the stream is marked ended); n
                                             numbers it among the call's audio chunks
    {"type": "mute", "muted": false}         unmuted (audio follows; nothing to number)
    {"type": "hangup"}                       end the call; its session is closed and forgotten
    {"type": "history", "mode": m}           every turn the backend holds (the page expands a fold)
    {"type": "fault", "mode": m, "fault": f} a panel button: goaway, drop, drop_page, lose_session
    binary: 16 kHz mono PCM16 (little endian) microphone audio for the call

Backend -> page:
    {"type": "welcome", "secret": "...", "fresh": bool, "sessions": {"call": "live", ...},
     "model": {"name": str, "emulator": bool}, "panel": bool, "faults": [f...],
     "toasts": {"reconnected": str, "new_session": str},  the page's own toasts' words
     "received": {"call": n, "text": m}}
    {"type": "covered", "mode": m, "seq": n}  every input of mode m up to number n is safe
    {"type": "status", "mode": m, "status": "connecting"|"live"|"reconnecting"|"ended"}
    {"type": "transcript", "mode": m, "summary": str, "folded_turns": int, "recent": [turn...]}
        (a turn: role, text, interrupted, final; "void": true on a partial reply a reconnect cut)
    {"type": "notice", "mode": m, "kind": "reconnected"|"new_session"|"gave_up"|"failed",
     "level": "info"|"warn"|"error", "text": "..."}
    {"type": "history", "mode": m, "summary": str, "folded_turns": int, "turns": [turn...]}
    {"type": "metrics", "mode": m, "connections": int, "reconnects": int,
     "last_downtime_ms": int|null, "replayed": int, "new_sessions": int}
    {"type": "interrupted", "mode": "call"}
    {"type": "reply_cut", "mode": m}         a reconnect cut the reply: its turn is asked again
    {"type": "error", "code": "...", "message": "..."}
    {"type": "goaway"}                       this replica is draining: reconnect (to another one)
    binary: 24 kHz mono PCM16 model audio for the call

Input numbers (a crash loses no input). The page numbers its inputs per mode from 1: each chat
message (`seq`), and each call audio chunk and mute in one series (the `audio` message numbers
the binary frames after it; a page that never sends one sends unnumbered audio, taken as it
comes; a mute takes the next number, and the audio after it says its number again). It keeps
every input until a `covered` message says the backend has it safe: held by a resumable handle,
or answered (the exchange is restored on a resume), and that written to the shared store (memory
for a single process). After a `welcome`, the page sends again, in order, each input it keeps
numbered above `received[mode]`: what the replica that welcomed it has (its running session's,
or what the store covers when it takes the page over from a replica that died). The backend
drops a numbered input at or below what it has, so nothing is doubled. The page bounds what it
keeps (app.js: 10 s of call audio, the oldest dropped beyond; 50 chat messages).

Each backend -> page kind is a frozen dataclass below (`Welcome` ... `Goaway`); `to_json()` is
their one encoding. What the page sends, and its parsing, is in `_incoming.py`. Neither module
does I/O.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, ClassVar, Literal

from relive._errors import WebError

Mode = Literal["call", "text"]
MODES: tuple[Mode, ...] = ("call", "text")
FaultName = Literal["goaway", "drop", "drop_page", "lose_session"]
FAULTS: tuple[FaultName, ...] = ("goaway", "drop", "drop_page", "lose_session")

# Close codes the page understands (4000-4999 are the application's own).
CLOSE_FORBIDDEN = 4403  # not this page's session: never retried
CLOSE_REPLACED = 4409  # another socket of the same page took over: never retried
CLOSE_ABUSE = 1008  # policy violation: too many refused messages
CLOSE_BAD_HELLO = 4400


class ProtocolError(WebError):
    """A message the backend refuses; `code` and the message go back to the page."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def to_message(self) -> Error:
        return Error(self.code, self.message)

    def to_json(self) -> dict[str, Any]:
        return self.to_message().to_json()


# -- backend -> page -----------------------------------------------------------------------------


class Status(enum.StrEnum):
    """A mode's session as the page shows it (the `status` message)."""

    CONNECTING = "connecting"
    LIVE = "live"
    RECONNECTING = "reconnecting"
    ENDED = "ended"


class NoticeKind(enum.StrEnum):
    """What a `notice` message (a toast on the page) is about."""

    FAILED = "failed"
    GAVE_UP = "gave_up"
    RECONNECTED = "reconnected"
    NEW_SESSION = "new_session"


class Level(enum.StrEnum):
    """How a notice is shown."""

    INFO = "info"
    WARN = "warn"
    ERROR = "error"


@dataclass(frozen=True)
class Outgoing:
    """A message to the page: its `type` plus its fields, in order (the one encoding)."""

    TYPE: ClassVar[str]

    def to_json(self) -> dict[str, Any]:
        return {"type": self.TYPE, **{f.name: getattr(self, f.name) for f in fields(self)}}


@dataclass(frozen=True)
class Welcome(Outgoing):
    TYPE = "welcome"
    secret: str
    fresh: bool
    sessions: Mapping[Mode, Status]
    model: Mapping[str, str | bool]  # {"name": ..., "emulator": ...}
    panel: bool
    faults: Sequence[FaultName]
    toasts: Mapping[NoticeKind, str]  # the words of the toasts the page raises itself
    received: Mapping[Mode, int]  # the highest input number per mode this backend has


@dataclass(frozen=True)
class StatusUpdate(Outgoing):
    TYPE = "status"
    mode: Mode
    status: Status


@dataclass(frozen=True)
class Transcript(Outgoing):
    TYPE = "transcript"
    mode: Mode
    summary: str
    folded_turns: int
    recent: Sequence[Mapping[str, Any]]


@dataclass(frozen=True)
class Notice(Outgoing):
    TYPE = "notice"
    mode: Mode
    kind: NoticeKind
    level: Level
    text: str


@dataclass(frozen=True)
class Turns(Outgoing):
    """The `history` reply: every turn held verbatim."""

    TYPE = "history"
    mode: Mode
    summary: str
    folded_turns: int
    turns: Sequence[Mapping[str, Any]]


@dataclass(frozen=True)
class Metrics(Outgoing):
    TYPE = "metrics"
    mode: Mode
    connections: int
    reconnects: int
    last_downtime_ms: int | None
    replayed: int
    new_sessions: int


@dataclass(frozen=True)
class Covered(Outgoing):
    """Every input of `mode` numbered up to `seq` is safe: the page may forget it."""

    TYPE = "covered"
    mode: Mode
    seq: int


@dataclass(frozen=True)
class Interrupted(Outgoing):
    TYPE = "interrupted"
    mode: Mode


@dataclass(frozen=True)
class ReplyCut(Outgoing):
    """A reply was cut by a reconnect and its turn is asked again: stop its audio (the
    transcript that follows marks its partial bubble `void`)."""

    TYPE = "reply_cut"
    mode: Mode


@dataclass(frozen=True)
class Error(Outgoing):
    TYPE = "error"
    code: str
    message: str


@dataclass(frozen=True)
class Goaway(Outgoing):
    TYPE = "goaway"
