"""The lean hot path: client frames built directly, server frames parsed in one pass.

The SDK's `AsyncSession` spends most of its CPU per message on generic pydantic work (walking
every field on send, an alias map per key, a second validation and an empty `model_dump()` per
message on receive). relive's entries are validated once when the app sends them, so the driver
writes their frames itself, byte for byte what the SDK would send (tests compare the two), and
reads server frames with `LiveServerMessage.model_validate_json`, going through the SDK's own
conversion whenever that strict parse refuses a frame (unknown fields, snake_case keys,
`voiceActivity`, errors), so the result is always the SDK's (tests feed both the same frames).

Only the Developer API path is taken here; on Vertex AI the driver uses the SDK's methods. The
SDK internals this leans on (`AsyncSession._ws`, `_live_converters._LiveServerMessage_from_mldev`,
`LiveServerMessage._from_response`) are looked up once; if an SDK version lacks one, `supported()`
is False and the driver uses the SDK's public methods instead. Tests pin each of them.
"""

from __future__ import annotations

import base64
import importlib
import json
from collections.abc import Callable, Sequence
from typing import Any

import pydantic
import websockets
from google.genai import errors, types
from websockets.asyncio.client import ClientConnection

# The SDK's own receive conversion, for the frames the strict parse refuses (None if missing).
_from_mldev: Callable[..., dict[str, Any]] | None = getattr(
    importlib.import_module("google.genai._live_converters"), "_LiveServerMessage_from_mldev", None
)
try:  # relive[fast]: orjson writes them faster; the frames are the same either way
    import orjson

    def _dumps(value: Any, default: Callable[[Any], Any] | None = None) -> str:
        return orjson.dumps(value, default=default).decode()

except ImportError:  # pragma: no cover - the same frames, by the standard library

    def _dumps(value: Any, default: Callable[[Any], Any] | None = None) -> str:
        return json.dumps(value, default=default, separators=(",", ":"))


_STRICT: dict[str, Any] = {"by_alias": True, "by_name": False}
_VOICE_ACTIVITY = b'"voiceActivity"'
_VOICE_ACTIVITY_STR = _VOICE_ACTIVITY.decode()


def supported(sdk_session: Any, vertexai: bool) -> bool:
    """Whether the lean path can run on this SDK session (else use the SDK's methods)."""
    return (
        not vertexai
        and _from_mldev is not None
        and hasattr(types.LiveServerMessage, "_from_response")
        and isinstance(getattr(sdk_session, "_ws", None), ClientConnection)
    )


def socket(sdk_session: Any) -> ClientConnection:
    """The SDK session's WebSocket (checked by `supported`)."""
    ws: ClientConnection = sdk_session._ws
    return ws


# -- client frames ---------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii")  # the SDK's alphabet


def _only(model: pydantic.BaseModel, allowed: frozenset[str]) -> bool:
    """No field but `allowed` is set to a value."""
    return all(name in allowed or getattr(model, name) is None for name in model.model_fields_set)


_BLOB_FIELDS = frozenset({"data", "mime_type"})
_PART_FIELDS = frozenset({"text"})
_CONTENT_FIELDS = frozenset({"parts", "role"})


def _blob(value: Any, prefix: str) -> dict[str, Any] | None:
    if type(value) is not types.Blob or not _only(value, _BLOB_FIELDS):
        return None
    if not isinstance(value.data, bytes) or not (value.mime_type or "").startswith(prefix):
        return None  # the SDK refuses (or converts) it: let it say how
    return {"data": _b64(value.data), "mime_type": value.mime_type}


def realtime_input(name: str, value: Any) -> str | None:
    """The frame of `send_realtime_input(name=value)`, or None to let the SDK send it."""
    body: Any
    if name == "audio":
        body = _blob(value, "audio/")
    elif name == "video":
        body = _blob(value, "image/")
    elif name == "text":
        body = value if isinstance(value, str) else None
    elif name == "audio_stream_end":
        body, name = (value if isinstance(value, bool) else None), "audioStreamEnd"
    elif name in ("activity_start", "activity_end"):
        empty = value == {} or type(value) in (types.ActivityStart, types.ActivityEnd)
        body, name = ({} if empty else None), name.replace("_s", "S").replace("_e", "E")
    else:
        body = None  # media: the SDK's legacy mediaChunks
    if body is None:
        return None
    return _dumps({"realtime_input": {name: body}})


def _content(content: types.Content) -> dict[str, Any] | None:
    if not _only(content, _CONTENT_FIELDS) or not content.parts:
        return None
    parts = []
    for part in content.parts:
        if part.text is None or not _only(part, _PART_FIELDS):
            return None
        parts.append({"text": part.text})
    out: dict[str, Any] = {"parts": parts}
    if content.role is not None:
        out["role"] = content.role
    return out


def client_content(turns: Sequence[types.Content], turn_complete: bool) -> str | None:
    """The frame of `send_client_content` for text-only turns, or None to let the SDK send it."""
    if not turns:
        return None
    contents = []
    for content in turns:
        built = _content(content)
        if built is None:
            return None
        contents.append(built)
    return _dumps({"client_content": {"turns": contents, "turnComplete": bool(turn_complete)}})


def _unbytes(value: Any) -> Any:
    if isinstance(value, bytes):
        return _b64(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def tool_response(responses: Sequence[types.FunctionResponse]) -> str | None:
    """The frame of `send_tool_response` (ids checked at submission), or None."""
    if not responses or any(not r.id for r in responses):
        return None
    dumped = [r.model_dump(exclude_none=True) for r in responses]
    try:
        return _dumps({"tool_response": {"functionResponses": dumped}}, default=_unbytes)
    except TypeError:
        return None  # something the fast writer cannot write as json.dumps does: the SDK's way


def frame(method: str, kwargs: dict[str, Any]) -> str | None:
    """The frame for a journal entry's SDK call, or None when the SDK should send it."""
    if method == "send_realtime_input" and len(kwargs) == 1:
        ((name, value),) = kwargs.items()
        return realtime_input(name, value)
    if method == "send_client_content":
        return client_content(kwargs.get("turns") or [], kwargs.get("turn_complete", True))
    if method == "send_tool_response":
        return tool_response(kwargs["function_responses"])
    return None  # send_context_update: rare, the SDK's way


# -- server frames ---------------------------------------------------------------------------


def load_like_sdk(raw: bytes | str) -> Any:
    """A server frame's JSON as the SDK reads it (an empty frame is `{}`; bad JSON its
    ValueError)."""
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        raise ValueError(f"Failed to parse response: {raw!r}") from None


def parse_like_sdk(raw: bytes | str) -> types.LiveServerMessage:
    """The SDK's own `AsyncSession._receive` conversion of one frame (Developer API)."""
    assert _from_mldev is not None
    response = load_like_sdk(raw)
    response_dict = _from_mldev(response)
    if not response_dict and response:
        errors.APIError.raise_error(response.get("code"), response, None)
    message: types.LiveServerMessage = types.LiveServerMessage._from_response(
        response=response_dict, kwargs=types.LiveServerMessage().model_dump()
    )
    return message


def parse(raw: bytes | str) -> types.LiveServerMessage:
    """One server frame as the SDK would give it: a strict one-pass parse, else the SDK's."""
    # `voiceActivity` is the one field the SDK renames inside (`type` -> `voice_activity_type`).
    renamed = _VOICE_ACTIVITY in raw if isinstance(raw, bytes) else _VOICE_ACTIVITY_STR in raw
    if raw and not renamed:
        try:
            message = types.LiveServerMessage.model_validate_json(raw, **_STRICT)
        except (pydantic.ValidationError, ValueError):
            pass
        else:
            # A frame with nothing in it (`{}`, or only nulls) is the SDK's to judge.
            if any(value is not None for value in message.__dict__.values()):
                return message
    return parse_like_sdk(raw)


def closed_error(exc: websockets.ConnectionClosed) -> errors.APIError:
    """What the SDK raises for a closed socket (so failures are judged exactly as before)."""
    if exc.rcvd:
        code, reason = exc.rcvd.code, exc.rcvd.reason
    else:
        code = 1006
        reason = websockets.frames.CLOSE_CODE_EXPLANATIONS.get(code, "Abnormal closure.")
    try:
        errors.APIError.raise_error(code, reason, None)
    except errors.APIError as error:
        return error
    raise AssertionError("unreachable")  # pragma: no cover
