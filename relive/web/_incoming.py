"""What the page sends the backend: its message types, and the parsing that checks each frame.

One reader per message type; a frame that is not one of them, or breaks a limit, raises a
`ProtocolError` saying what is wrong (it goes back to the page as an `error`). The whole protocol,
both ways, is described in `_protocol.py`. No I/O.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from relive.web._limits import Limits
from relive.web._protocol import FAULTS, MODES, FaultName, Mode, ProtocolError

PAGE_ID = re.compile(r"[0-9a-f]{32,64}")  # use with fullmatch (`$` would take a final "\n")


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
