"""Wire codec: client frames in (either JSON casing, checked), server frames out (binary JSON).

The real server parses proto3 JSON, which accepts both `snake_case` and `camelCase` for every
field; the SDKs send a mix. `decode` normalises keys to camelCase at every depth (except inside
free-form `Struct` values such as function arguments) and checks the shape, raising
`ProtocolError` with the close the real server would send.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

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
    "setup.generationConfig.temperature": (int, float),
    "setup.tools": (list,),
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
    "clientContent.turnComplete": (bool,),
    "realtimeInput.text": (str,),
    "realtimeInput.audio": (dict,),
    "realtimeInput.audio.data": (str,),
    "realtimeInput.audio.mimeType": (str,),
    "realtimeInput.video": (dict,),
    "realtimeInput.mediaChunks": (list,),
    "realtimeInput.audioStreamEnd": (bool,),
    "realtimeInput.activityStart": (dict,),
    "realtimeInput.activityEnd": (dict,),
    "toolResponse.functionResponses": (list,),
}

_PROTO_TYPE = {str: "TYPE_STRING", bool: "TYPE_BOOL", int: "TYPE_INT32", float: "TYPE_FLOAT"}
_SNAKE = re.compile(r"_([a-z0-9])")


class ProtocolError(Exception):
    """A client message the real server would refuse; carries the close to send."""

    def __init__(self, close: CloseReason) -> None:
        super().__init__(close.reason)
        self.close = close


@dataclass(frozen=True)
class ClientMessage:
    """One decoded client frame: its type (camelCase) and its camelCase body."""

    kind: str
    body: JsonDict
    size: int


def camel(name: str) -> str:
    """`turn_complete` -> `turnComplete` (camelCase names pass through)."""
    return _SNAKE.sub(lambda m: m.group(1).upper(), name)


def normalise(value: Any, key: str = "") -> Any:
    """Rename every key to camelCase at every depth, leaving free-form values alone."""
    if key in _FREEFORM:
        return value
    if isinstance(value, dict):
        return {camel(k): normalise(v, camel(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise(v, key) for v in value]
    return value


def _snake_path(path: str) -> str:
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), path)


# The same table, grouped by message type and split into path parts once.
_TYPES_BY_KIND: dict[str, list[tuple[str, list[str], tuple[type, ...]]]] = {}
for _path, _expected in _TYPES.items():
    _head, _, _rest = _path.partition(".")
    _TYPES_BY_KIND.setdefault(_head, []).append((_path, _rest.split("."), _expected))


def _check_types(kind: str, body: Any) -> None:
    for path, parts, expected in _TYPES_BY_KIND.get(kind, ()):
        node: Any = body
        for part in parts:
            node = node.get(part) if isinstance(node, dict) else None
            if node is None:
                break
        if node is None:
            continue
        if isinstance(node, bool) and bool not in expected:
            ok = False
        else:
            ok = isinstance(node, expected)
        if not ok:
            proto = _PROTO_TYPE.get(expected[0], "TYPE_MESSAGE")
            shown = json.dumps(node)[:40]
            raise ProtocolError(
                closes.invalid(f"Invalid value at '{_snake_path(path)}' ({proto}), {shown}")
            )


def decode(frame: str | bytes, max_bytes: int) -> ClientMessage:
    """Parse and check one client frame (text or binary JSON)."""
    size = len(frame)
    if size > max_bytes:
        raise ProtocolError(
            closes.invalid(f"Request payload size exceeds the limit: {max_bytes} bytes.")
        )
    try:
        raw = json.loads(frame)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError(
            closes.invalid(f"Invalid JSON payload received. {exc}.".replace("..", "."))
        ) from None
    if not isinstance(raw, dict):
        raise ProtocolError(
            closes.invalid("Invalid JSON payload received. Expected a JSON object.")
        )
    msg = normalise(raw)
    for name in msg:
        if name not in MESSAGE_TYPES:
            raise ProtocolError(
                closes.invalid(
                    f'Invalid JSON payload received. Unknown name "{name}": Cannot find field.'
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
            closes.invalid(f"Invalid value at '{_snake_path(kind)}' (TYPE_MESSAGE), {body!r}")
        )
    allowed = _SETUP_FIELDS if kind == "setup" else _FIELDS.get(kind)
    if allowed is not None:
        for name in body:
            if name not in allowed:
                raise ProtocolError(
                    closes.invalid(
                        f'Invalid JSON payload received. Unknown name "{name}" at '
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
