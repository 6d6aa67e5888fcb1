"""Client messages checked up front, so bad input is an error for the caller, not a dead socket.

The methods mirror the SDK's `AsyncSession.send_*`; each call becomes one journal `Entry` with
validated, SDK-typed arguments that the driver later passes to the SDK unchanged.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from importlib.metadata import version
from typing import Any

import pydantic
from google.genai import types

from relive._errors import SessionError
from relive.session._journal import Entry

_REALTIME_FIELDS = (
    "media",
    "audio",
    "audio_stream_end",
    "video",
    "text",
    "activity_start",
    "activity_end",
)


def _content_text(contents: Sequence[types.Content]) -> str:
    return " ".join(
        p.text for c in contents if (c.role or "user") == "user" for p in (c.parts or []) if p.text
    ).strip()


def _blob_size(value: Any) -> int:
    data = getattr(value, "data", None)
    if isinstance(data, bytes | bytearray):
        return len(data)
    if isinstance(data, str):
        return len(data)
    return 64


def client_content(
    turns: types.Content | types.ContentDict | Sequence[types.Content | types.ContentDict] | None,
    turn_complete: bool,
) -> Entry:
    """`send_client_content(turns=..., turn_complete=...)` as a journal entry."""
    if turns is None:
        items: list[Any] = []
    elif isinstance(turns, types.Content | dict):
        items = [turns]
    elif isinstance(turns, Sequence) and not isinstance(turns, str):
        items = list(turns)
    else:
        raise TypeError(
            f"turns must be a Content, a dict or a list of them, got {type(turns).__name__}"
        )
    try:
        contents = [types.Content.model_validate(t) for t in items]
    except pydantic.ValidationError as e:
        raise ValueError(f"turns are not valid Content: {e}") from None
    size = sum(len(c.model_dump_json(exclude_none=True)) for c in contents)
    return Entry(
        index=0,
        method="send_client_content",
        kwargs={"turns": contents, "turn_complete": bool(turn_complete)},
        size=size + 16,
        ends_turn=bool(turn_complete),
        text=_content_text(contents),
        opens_turn=not turn_complete
        and bool(contents)
        and all((c.role or "user") == "user" for c in contents),
    )


def realtime_input(kwargs: dict[str, Any]) -> Entry:
    """`send_realtime_input(<one of audio, video, text, ...>=...)` as a journal entry."""
    audio = kwargs.get("audio")
    if type(audio) is types.Blob:
        values = list(kwargs.values())
        if values.count(None) == len(values) - 1:
            return _media_entry("audio", audio)  # a call's 20 ms chunk: nothing else to check
    given = {k: v for k, v in kwargs.items() if v is not None}
    unknown = sorted(set(given) - set(_REALTIME_FIELDS))
    if unknown:
        raise TypeError(f"send_realtime_input got unexpected arguments: {unknown}")
    if len(given) != 1:
        raise ValueError(
            f"send_realtime_input takes exactly one argument, got {len(given)}: {sorted(given)}"
        )
    ((name, value),) = given.items()
    # The hot path: a `types.Blob` was validated when it was built; checking it again per 20 ms
    # chunk costs more than the rest of relive's work on it.
    if not (name in ("audio", "video") and type(value) is types.Blob):
        try:
            types.LiveSendRealtimeInputParameters.model_validate(given)
        except pydantic.ValidationError as e:
            raise ValueError(f"invalid realtime input: {e}") from None
    if name == "text" and not isinstance(value, str):
        raise TypeError(f"text must be a str, got {type(value).__name__}")
    if name in ("audio", "video", "media"):
        return _media_entry(name, value)
    size = len(value) if isinstance(value, str) else _blob_size(value)
    return Entry(
        index=0,
        method="send_realtime_input",
        kwargs={name: value},
        size=size + 16,
        ends_turn=name in ("text", "activity_end"),
        text=value if name == "text" else "",
    )


def _media_entry(name: str, value: Any) -> Entry:
    """An audio, video or media chunk (checked already) as a journal entry."""
    data = getattr(value, "data", None)
    if isinstance(data, bytes):
        size = len(data)
    elif isinstance(data, str):
        size = len(base64.b64decode(data, validate=False))
    else:
        size = _blob_size(value)
    return Entry(
        index=0, method="send_realtime_input", kwargs={name: value}, size=size + 16, media=True
    )


def tool_response(
    function_responses: types.FunctionResponse
    | types.FunctionResponseDict
    | Sequence[types.FunctionResponse | types.FunctionResponseDict],
) -> Entry:
    """`send_tool_response(function_responses=...)` as a journal entry."""
    items: list[Any]
    if isinstance(function_responses, types.FunctionResponse | dict):
        items = [function_responses]
    else:
        items = list(function_responses)
    try:
        responses = [types.FunctionResponse.model_validate(r) for r in items]
    except pydantic.ValidationError as e:
        raise ValueError(f"invalid function response: {e}") from None
    if not responses:
        raise ValueError("send_tool_response needs at least one function response")
    missing = [r.name for r in responses if not r.id]
    if missing:
        raise ValueError(
            f"every function response needs the id of the tool call it answers; missing for "
            f"{missing}"
        )
    size = sum(len(r.model_dump_json(exclude_none=True)) for r in responses)
    return Entry(
        index=0,
        method="send_tool_response",
        kwargs={"function_responses": responses},
        size=size + 16,
    )


class UnsupportedBySdkError(SessionError, NotImplementedError):
    """The installed google-genai lacks what this call needs (relive supports 2.25 and later;
    some Live features came later)."""


def context_update(system_instruction: Any = None, tools: Any = None) -> Entry:
    """`send_context_update(system_instruction=..., tools=...)` as a journal entry."""
    if not hasattr(types, "LiveClientContextUpdate"):
        raise UnsupportedBySdkError(
            f"send_context_update needs a google-genai with Live context updates "
            f"(2.34 and 3.x have them); the installed {version('google-genai')} has none"
        )
    if system_instruction is None and tools is None:
        raise ValueError("send_context_update needs system_instruction or tools (or both)")
    kwargs = {"system_instruction": system_instruction, "tools": tools}
    try:
        types.LiveClientContextUpdate(
            system_instruction=system_instruction,
            tools=None if tools is None else types.LiveClientContextUpdateTools(tools=tools),
        )
    except pydantic.ValidationError as e:
        raise ValueError(f"invalid context update: {e}") from None
    given = {k: v for k, v in kwargs.items() if v is not None}
    return Entry(index=0, method="send_context_update", kwargs=given, size=len(repr(given)))
