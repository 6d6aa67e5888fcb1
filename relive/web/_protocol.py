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
their one encoding. This module only parses, validates and encodes; it does no I/O.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, ClassVar, Literal

from relive._errors import WebError
from relive.web._limits import Limits

Mode = Literal["call", "text"]
MODES: tuple[Mode, ...] = ("call", "text")
FaultName = Literal["goaway", "drop", "drop_page", "lose_session"]
FAULTS: tuple[FaultName, ...] = ("goaway", "drop", "drop_page", "lose_session")

PAGE_ID = re.compile(r"[0-9a-f]{32,64}")  # use with fullmatch (`$` would take a final "\n")

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


# -- page -> backend -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Hello:
    page: str
    secret: str | None


@dataclass(frozen=True)
class Start:
    mode: Mode


@dataclass(frozen=True)
class Text:
    text: str
    seq: int | None = None  # the page's number of this message (None: not numbered)
    again: bool = False  # sent again after a welcome (kept, not yet covered): answered in turn


@dataclass(frozen=True)
class AudioSeq:
    """The next binary frame is call audio number `seq`; each one after it counts on."""

    seq: int


@dataclass(frozen=True)
class Mute:
    muted: bool
    seq: int | None = None  # a mute is a call input, numbered with the audio (None: not numbered)


@dataclass(frozen=True)
class Hangup:
    pass


@dataclass(frozen=True)
class History:
    mode: Mode


@dataclass(frozen=True)
class Fault:
    """A resilience-panel button: break something on purpose for this page's `mode`."""

    mode: Mode
    fault: FaultName


Message = Hello | Start | Text | AudioSeq | Mute | Hangup | History | Fault


def parse(raw: str, limits: Limits) -> Message:
    """Parse one JSON frame from the page, or raise `ProtocolError` saying what is wrong."""
    try:
        size = len(raw.encode())
    except UnicodeEncodeError:  # a socket's text is UTF-8; a caller's str may not be
        raise ProtocolError("bad_request", _NOT_UNICODE) from None
    if size > limits.max_json_bytes:
        raise ProtocolError(
            "too_large", f"message too large (limit {limits.max_json_bytes} bytes); not sent"
        )
    try:
        obj = json.loads(raw)
    except ValueError:
        raise ProtocolError("bad_request", "message is not valid JSON") from None
    except RecursionError:  # 8 KiB of "[" is valid JSON too deep for the parser
        raise ProtocolError("bad_request", "message nests too deep") from None
    if not isinstance(obj, dict):
        raise ProtocolError("bad_request", "message must be a JSON object")
    if "\\u" in raw and not _proper_unicode(obj):
        raise ProtocolError("bad_request", _NOT_UNICODE)
    kind = obj.get("type")
    reader = _READERS.get(kind) if isinstance(kind, str) else None
    if reader is None:
        raise ProtocolError("bad_request", f"unknown message type {kind!r}")
    return reader(obj, limits)


def _hello(obj: dict[str, Any], limits: Limits) -> Hello:
    page, secret = obj.get("page"), obj.get("secret")
    if not isinstance(page, str) or not PAGE_ID.fullmatch(page):
        raise ProtocolError("bad_request", "hello needs a page id of 32-64 lowercase hex chars")
    if secret is not None and (not isinstance(secret, str) or len(secret) > 128):
        raise ProtocolError("bad_request", "hello secret must be a string or null")
    return Hello(page, secret)


def _start(obj: dict[str, Any], limits: Limits) -> Start:
    if obj.get("mode") != "call":
        raise ProtocolError("bad_request", 'start needs "mode": "call"')
    return Start("call")


def _text(obj: dict[str, Any], limits: Limits) -> Text:
    text = obj.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ProtocolError("bad_request", "text needs a non-empty string")
    if len(text) > limits.max_text_chars:
        raise ProtocolError(
            "too_large", f"message too long (limit {limits.max_text_chars} characters)"
        )
    seq, again = obj.get("seq"), obj.get("again", False)
    if not isinstance(again, bool):
        raise ProtocolError("bad_request", "again must be true or false")
    return Text(text.strip(), None if seq is None else _seq(seq), again)


MAX_SEQ = 2**53 - 1  # what a JavaScript number counts exactly


def _seq(value: Any) -> int:
    if type(value) is not int or not 1 <= value <= MAX_SEQ:
        raise ProtocolError("bad_request", f"seq must be an integer from 1 to {MAX_SEQ}")
    return value


def _mute(obj: dict[str, Any], limits: Limits) -> Mute:
    muted = obj.get("muted")
    if not isinstance(muted, bool):
        raise ProtocolError("bad_request", "mute needs a boolean 'muted'")
    seq = obj.get("seq")
    return Mute(muted, None if seq is None else _seq(seq))


def _fault(obj: dict[str, Any], limits: Limits) -> Fault:
    fault = obj.get("fault")
    for name in FAULTS:
        if fault == name:
            return Fault(_mode(obj), name)
    raise ProtocolError("bad_request", f"fault must be one of {', '.join(FAULTS)}")


# One reader per message type the page may send.
_READERS: dict[str, Callable[[dict[str, Any], Limits], Message]] = {
    "hello": _hello,
    "start": _start,
    "text": _text,
    "audio": lambda obj, limits: AudioSeq(_seq(obj.get("seq"))),
    "mute": _mute,
    "hangup": lambda obj, limits: Hangup(),
    "history": lambda obj, limits: History(_mode(obj)),
    "fault": _fault,
}


def _mode(obj: dict[str, Any]) -> Mode:
    mode = obj.get("mode")
    for name in MODES:
        if mode == name:
            return name
    raise ProtocolError("bad_request", 'mode must be "call" or "text"')


_NOT_UNICODE = "message is not proper Unicode (a lone surrogate)"


def _proper_unicode(value: Any) -> bool:
    """JSON can escape a lone surrogate (`"\\ud800"`); such a string cannot be sent on."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


AUDIO_BYTES_PER_S = 16_000 * 2
"""The page's call audio: 16 kHz PCM16, mono."""


def check_audio(data: bytes, limits: Limits) -> None:
    """Validate one binary audio frame (16 kHz PCM16)."""
    if len(data) > limits.max_audio_bytes:
        raise ProtocolError(
            "too_large", f"audio chunk too large (limit {limits.max_audio_bytes} bytes); dropped"
        )
    if len(data) % 2:
        raise ProtocolError("bad_request", "audio must be 16-bit PCM (an even number of bytes)")


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
