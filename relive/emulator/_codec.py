"""Wire codec: client frames in (either JSON casing, checked), server frames out (binary JSON).

The real server parses proto3 JSON, which accepts both `snake_case` and `camelCase` for every
field; the SDKs send a mix. `decode` normalises keys to camelCase at every depth (except inside
free-form `Struct` values such as function arguments) and checks the shape, raising
`ProtocolError` with the close the real server would send.

Every check costs O(the frame's size): nesting is limited (as protobuf limits recursion), strings
must be proper Unicode (no lone surrogates), and every field the emulator reads has its JSON type
checked here, list items included, so the handlers never meet a shape they did not expect.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from relive._errors import EmulatorError
from relive.emulator import _closes as closes
from relive.emulator._closes import CloseReason

JsonDict = dict[str, Any]

# Fields whose values are free-form proto `Struct`/`Value`: their keys are user data.
_FREEFORM = frozenset({"response", "args", "parametersJsonSchema", "responseJsonSchema", "labels"})

MESSAGE_TYPES = ("setup", "clientContent", "realtimeInput", "toolResponse", "contextUpdate")

_SETUP_FIELDS = frozenset(
    {
        "model",
        "generationConfig",
        "systemInstruction",
        "tools",
        "realtimeInputConfig",
        "sessionResumption",
        "contextWindowCompression",
        "inputAudioTranscription",
        "outputAudioTranscription",
        "proactivity",
        "explicitVadSignal",
        "historyConfig",
        "avatarConfig",
        "safetySettings",
        "labels",
    }
)
_FIELDS: dict[str, frozenset[str]] = {
    "clientContent": frozenset({"turns", "turnComplete"}),
    "realtimeInput": frozenset(
        {
            "mediaChunks",
            "audio",
            "audioStreamEnd",
            "video",
            "text",
            "activityStart",
            "activityEnd",
        }
    ),
    "toolResponse": frozenset({"functionResponses"}),
}

# Expected JSON types of the fields the emulator reads, by dotted camelCase path.
_TYPES: dict[str, tuple[type, ...]] = {
    "setup.model": (str,),
    "setup.generationConfig": (dict,),
    "setup.generationConfig.responseModalities": (list,),
    "setup.generationConfig.responseModalities[]": (str,),
    "setup.generationConfig.temperature": (int, float),
    "setup.tools": (list,),
    "setup.tools[]": (dict,),
    "setup.tools[].functionDeclarations": (list,),
    "setup.tools[].functionDeclarations[]": (dict,),
    "setup.tools[].functionDeclarations[].name": (str,),
    "setup.sessionResumption": (dict,),
    "setup.sessionResumption.handle": (str,),
    "setup.sessionResumption.transparent": (bool,),
    "setup.contextWindowCompression": (dict,),
    "setup.contextWindowCompression.triggerTokens": (int, str),
    "setup.contextWindowCompression.slidingWindow": (dict,),
    "setup.contextWindowCompression.slidingWindow.targetTokens": (int, str),
    "setup.realtimeInputConfig": (dict,),
    "setup.realtimeInputConfig.automaticActivityDetection": (dict,),
    "setup.realtimeInputConfig.automaticActivityDetection.disabled": (bool,),
    "setup.realtimeInputConfig.automaticActivityDetection.silenceDurationMs": (int,),
    "setup.realtimeInputConfig.activityHandling": (str,),
    "clientContent.turns": (list,),
    "clientContent.turns[]": (dict,),
    "clientContent.turns[].role": (str,),
    "clientContent.turns[].parts": (list,),
    "clientContent.turns[].parts[]": (dict,),
    "clientContent.turns[].parts[].text": (str,),
    "clientContent.turnComplete": (bool,),
    "realtimeInput.text": (str,),
    "realtimeInput.audio": (dict,),
    "realtimeInput.audio.data": (str,),
    "realtimeInput.audio.mimeType": (str,),
    "realtimeInput.video": (dict,),
    "realtimeInput.video.data": (str,),
    "realtimeInput.video.mimeType": (str,),
    "realtimeInput.mediaChunks": (list,),
    "realtimeInput.mediaChunks[]": (dict,),
    "realtimeInput.mediaChunks[].data": (str,),
    "realtimeInput.mediaChunks[].mimeType": (str,),
    "realtimeInput.audioStreamEnd": (bool,),
    "realtimeInput.activityStart": (dict,),
    "realtimeInput.activityEnd": (dict,),
    "toolResponse.functionResponses": (list,),
    "toolResponse.functionResponses[]": (dict,),
    "toolResponse.functionResponses[].id": (str,),
}

# Deepest nesting of objects and arrays a frame may have (protobuf's default recursion limit).
MAX_DEPTH = 100

_PROTO_TYPE = {str: "TYPE_STRING", bool: "TYPE_BOOL", int: "TYPE_INT32", float: "TYPE_FLOAT"}
_SNAKE = re.compile(r"_([a-z0-9])")
# A `\uD800`-`\uDFFF` escape: only frames holding one need the (exact) lone-surrogate check.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class ProtocolError(EmulatorError):
    """A client message the real server would refuse; carries the close to send."""

    def __init__(self, close: CloseReason) -> None:
        super().__init__(close.reason)
        self.close = close


@dataclass(frozen=True)
class ClientMessage:
    """One decoded client frame: its type (camelCase) and its camelCase body.

    `checked`: the body is one the strict schema check is known to accept (the fast path's
    audio chunk), so the connection need not walk it again.
    """

    kind: str
    body: JsonDict
    size: int
    checked: bool = False


try:  # relive[fast]: about 3x faster on an audio chunk; the stdlib parser otherwise
    import orjson

    _fast_loads: Callable[[str | bytes], Any] = orjson.loads
except ImportError:  # the tests run this way in the oldest-SDK venv

    def _fast_loads(frame: str | bytes) -> Any:
        # Strict UTF-8, as `decode_full` (json.loads would also guess UTF-16 and UTF-32).
        return json.loads(frame.decode("utf-8") if isinstance(frame, bytes) else frame)


def _audio_chunk(frame: str | bytes, max_bytes: int) -> ClientMessage | None:
    """The fast path: `{"realtimeInput": {"audio": {"data": "...", "mimeType": "..."}}}` (either
    casing), the frame a call sends fifty times a second, or None for anything else.

    It accepts only what the full path (`decode` below) accepts, with the same body; everything
    else, well-formed or not, goes the full way, which gives the real server's close. A frame
    with no backslash has no escapes, so no lone surrogate; the parsers agree on the rest
    (tests/emulator/test_emulator_fast_path.py holds them to it). A frame that does not name
    `"audio"` is not parsed here at all.
    """
    if isinstance(frame, str):
        if len(frame) > max_bytes or "\\" in frame or '"audio"' not in frame:
            return None
    elif len(frame) > max_bytes or b"\\" in frame or b'"audio"' not in frame:
        return None
    try:
        raw = _fast_loads(frame)
    except (ValueError, RecursionError):  # the full path says why, as the real server would
        return None
    if type(raw) is not dict or len(raw) != 1:
        return None
    body = raw.get("realtimeInput") or raw.get("realtime_input")
    if type(body) is not dict or len(body) != 1:
        return None
    audio = body.get("audio")
    if type(audio) is not dict or len(audio) != 2:
        return None
    data, mime = audio.get("data"), audio.get("mimeType") or audio.get("mime_type")
    if type(data) is not str or type(mime) is not str:
        return None
    chunk = {"audio": {"data": data, "mimeType": mime}}
    return ClientMessage("realtimeInput", chunk, len(frame), checked=True)


def camel(name: str) -> str:
    """`turn_complete` -> `turnComplete` (camelCase names pass through)."""
    return _SNAKE.sub(lambda m: m.group(1).upper(), name)


def shown(text: str, limit: int = 40) -> str:
    """A piece of client data fit to quote in a close reason or a log line: short, printable."""
    return text[:limit].encode("utf-8", "backslashreplace").decode("utf-8")


def _too_deep() -> ProtocolError:
    return ProtocolError(
        closes.invalid(f"Invalid JSON payload received. Nesting deeper than {MAX_DEPTH} levels.")
    )


def check_depth(value: Any, depth: int = 1) -> None:
    """Free-form values are kept as sent, but their nesting is limited all the same
    (`ProtocolError` past `MAX_DEPTH`, counting `value` itself as level `depth`)."""
    if depth > MAX_DEPTH:
        raise _too_deep()
    if isinstance(value, dict):
        value = value.values()
    elif not isinstance(value, list):
        return
    for item in value:
        if isinstance(item, dict | list):
            check_depth(item, depth + 1)


def normalise(value: Any, key: str = "", depth: int = 1) -> Any:
    """Rename every key to camelCase at every depth, leaving free-form values alone.

    Raises `ProtocolError` for nesting deeper than `MAX_DEPTH`.
    """
    if depth > MAX_DEPTH:
        raise _too_deep()
    if key in _FREEFORM:
        check_depth(value, depth)
        return value
    if isinstance(value, dict):  # proto3 JSON: a null field is an unset one, so it goes
        return {
            camel(k): normalise(v, camel(k), depth + 1) for k, v in value.items() if v is not None
        }
    if isinstance(value, list):
        return [normalise(v, key, depth + 1) if isinstance(v, dict | list) else v for v in value]
    return value


def _check_unicode(frame: str, value: Any) -> None:
    """JSON may escape a lone surrogate; proto strings must be UTF-8, so refuse it."""
    if not _SURROGATE_ESCAPE.search(frame):
        return
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise ProtocolError(
            closes.invalid(
                "Invalid JSON payload received. A string holds a lone surrogate (not UTF-8)."
            )
        ) from None


def _snake_path(path: str) -> str:
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), path)


# The same table, grouped by message type and split into path parts once (`[]`: each item).
_TYPES_BY_KIND: dict[str, list[tuple[list[str], tuple[type, ...]]]] = {}
for _path, _expected in _TYPES.items():
    _head, _, _rest = _path.partition(".")
    _TYPES_BY_KIND.setdefault(_head, []).append((_rest.replace("[]", ".[]").split("."), _expected))


def _nodes(node: Any, parts: list[str], path: str) -> list[tuple[str, Any]]:
    """The values at a table path, with their concrete paths (`turns[2].parts`)."""
    found: list[tuple[str, Any]] = [(path, node)]
    for part in parts:
        step: list[tuple[str, Any]] = []
        for where, value in found:
            if part == "[]":
                if isinstance(value, list):
                    step += [(f"{where}[{i}]", v) for i, v in enumerate(value) if v is not None]
            elif isinstance(value, dict) and value.get(part) is not None:
                step.append((f"{where}.{part}", value[part]))
        found = step
    return found


def _wrap_lone_values(kind: str, body: Any) -> None:
    """A single value where a list goes is a one-element list (the protobuf JSON parser takes
    it): rewrite it so the handlers read one shape. Parents come first in `_TYPES`."""
    for parts, expected in _TYPES_BY_KIND.get(kind, ()):
        if expected != (list,):
            continue
        for _, parent in _nodes(body, parts[:-1], kind):
            value = parent.get(parts[-1]) if isinstance(parent, dict) else None
            if value is not None and not isinstance(value, list):
                parent[parts[-1]] = [value]


def _check_types(kind: str, body: Any) -> None:
    _wrap_lone_values(kind, body)
    for parts, expected in _TYPES_BY_KIND.get(kind, ()):
        for where, node in _nodes(body, parts, kind):
            if isinstance(node, bool) and bool not in expected:
                ok = False
            else:
                ok = isinstance(node, expected)
            if not ok:
                proto = _PROTO_TYPE.get(expected[0], "TYPE_MESSAGE")
                raise ProtocolError(
                    closes.invalid(
                        f"Invalid value at '{_snake_path(where)}' ({proto}), "
                        f"{shown(json.dumps(node)[:40])}"
                    )
                )


def decode(frame: str | bytes, max_bytes: int) -> ClientMessage:
    """Parse and check one client frame (text or binary JSON): an audio chunk the fast way,
    anything else (or an odd chunk) by `decode_full`."""
    return _audio_chunk(frame, max_bytes) or decode_full(frame, max_bytes)


def decode_full(frame: str | bytes, max_bytes: int) -> ClientMessage:
    """Parse and check one client frame (text or binary JSON), every rule, every kind."""
    size = len(frame)
    if size > max_bytes:
        raise ProtocolError(
            closes.invalid(f"Request payload size exceeds the limit: {max_bytes} bytes.")
        )
    try:
        text = frame.decode("utf-8") if isinstance(frame, bytes) else frame
        raw = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError(
            closes.invalid(f"Invalid JSON payload received. {exc}.".replace("..", "."))
        ) from None
    except RecursionError:  # the parser's own limit, far past MAX_DEPTH
        raise _too_deep() from None
    if not isinstance(raw, dict):
        raise ProtocolError(
            closes.invalid("Invalid JSON payload received. Expected a JSON object.")
        )
    _check_unicode(text, raw)
    msg = normalise(raw)
    for name in msg:
        if name not in MESSAGE_TYPES:
            raise ProtocolError(
                closes.invalid(
                    f'Invalid JSON payload received. Unknown name "{shown(name)}": '
                    "Cannot find field."
                )
            )
    if len(msg) != 1:
        raise ProtocolError(
            closes.invalid(
                "Invalid JSON payload received. A client message must set exactly one of "
                "setup, clientContent, realtimeInput, toolResponse."
            )
        )
    kind, body = next(iter(msg.items()))
    if not isinstance(body, dict):
        raise ProtocolError(
            closes.invalid(
                f"Invalid value at '{_snake_path(kind)}' (TYPE_MESSAGE), {shown(repr(body))}"
            )
        )
    allowed = _SETUP_FIELDS if kind == "setup" else _FIELDS.get(kind)
    if allowed is not None:
        for name in body:
            if name not in allowed:
                raise ProtocolError(
                    closes.invalid(
                        f'Invalid JSON payload received. Unknown name "{shown(name)}" at '
                        f"'{_snake_path(kind)}': Cannot find field."
                    )
                )
    _check_types(kind, body)
    return ClientMessage(kind, body, size)


def encode(message: JsonDict) -> bytes:
    """A server message as the real server sends it: a binary frame of UTF-8 JSON."""
    return json.dumps(message, separators=(",", ":")).encode()


def format_duration(seconds: float) -> str:
    """Proto3 JSON Duration: `60s`, `9.5s`, `0.001s`."""
    text = f"{max(seconds, 0.0):.9f}".rstrip("0").rstrip(".")
    return f"{text}s"


def parse_int(value: Any, default: int) -> int:
    """An int64 that proto JSON may carry as a string."""
    if value is None:
        return default
    return int(value)
