"""Function calling as the real service does it: any declared function, blocking or not.

The scripted model asks for a call when a user turn says ``call NAME`` or ``call NAME with
{JSON args}`` (several in one turn give parallel calls), NAME being a declared function; the
short form ``weather in CITY`` asks a declared ``get_weather`` for ``{"city": CITY}``. A
``NON_BLOCKING`` declaration lets the conversation go on while the call runs; its responses are
scheduled by ``FunctionResponse.scheduling`` (``WHEN_IDLE`` by default, as the SDK documents),
and ``willContinue`` keeps the call open for more. Pure functions and one small ledger; the
connection machine decides what to send.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from relive.emulator._codec import ProtocolError, check_depth
from relive.emulator._model import quoted

WEATHER_TOOL = "get_weather"
_WEATHER = re.compile(r"weather in ([A-Za-z][A-Za-z .'\-]*)", re.IGNORECASE)
_CALL = re.compile(r"\bcall\s+([A-Za-z_][A-Za-z0-9_.\-]*)", re.IGNORECASE)
_WITH = re.compile(r"\s+with\s+", re.IGNORECASE)
SCHEDULINGS = ("WHEN_IDLE", "INTERRUPT", "SILENT")


class MalformedCall(ValueError):
    """A trigger whose JSON args do not parse (the real service ends the turn with
    `turnCompleteReason: MALFORMED_FUNCTION_CALL`)."""


def declared_functions(
    tools: Any, non_blocking_default: bool = False, async_calls: bool = True
) -> dict[str, bool]:
    """Declared function names from `setup.tools` (or a context update), each mapped to
    whether calls to it are `NON_BLOCKING`: its `behavior`, else the model's default; never on
    a model without async calls."""
    names: dict[str, bool] = {}
    if isinstance(tools, dict):  # a single Tool where a list is expected
        tools = [tools]
    if isinstance(tools, list):
        for tool in tools:
            if not isinstance(tool, dict):
                continue
            decls = tool.get("functionDeclarations") or []
            for decl in decls if isinstance(decls, list) else [decls]:
                if isinstance(decl, dict) and isinstance(decl.get("name"), str):
                    behavior = decl.get("behavior")
                    chosen = behavior in ("BLOCKING", "NON_BLOCKING")
                    non_blocking = behavior == "NON_BLOCKING" if chosen else non_blocking_default
                    names[decl["name"]] = non_blocking and async_calls
    return names


def requested_calls(text: str, declared: Mapping[str, bool]) -> list[tuple[str, dict[str, Any]]]:
    """The calls a user turn asks for, in order, as (name, args); `MalformedCall` when the
    JSON after `with` does not parse into an object."""
    calls: list[tuple[str, dict[str, Any]]] = []
    by_lower = {name.lower(): name for name in declared}
    for match in _CALL.finditer(text):
        raw = match.group(1).rstrip(".-")
        name = raw if raw in declared else by_lower.get(raw.lower())
        if not name:
            continue
        args: dict[str, Any] = {}
        rest = _WITH.match(text, match.end())
        if rest is not None and text[rest.end() : rest.end() + 1] == "{":
            try:  # user text: as deep as the client likes, so the depth limit applies here too
                value, _ = json.JSONDecoder().raw_decode(text, rest.end())
                check_depth(value, depth=5)  # the depth of toolCall.functionCalls[].args
            except (ValueError, RecursionError, ProtocolError):
                raise MalformedCall(name) from None
            if not isinstance(value, dict):
                raise MalformedCall(name)
            args = value
        calls.append((name, args))
    if not calls and WEATHER_TOOL in declared:
        weather = _WEATHER.search(text)
        city = weather.group(1).strip(" .'-") if weather else ""
        if city:
            calls.append((WEATHER_TOOL, {"city": city}))
    return calls


def result_text(name: str, response: Any) -> str:
    """How the scripted model reports a function's result: `NAME returned: {sorted JSON}`."""
    return f"{name} returned: {quoted(json.dumps(response, sort_keys=True))}"


def scheduling_of(response: Mapping[str, Any]) -> str:
    """A response's scheduling; unset (or UNSPECIFIED) means WHEN_IDLE (SDK docs)."""
    value = response.get("scheduling")
    return value if value in SCHEDULINGS else "WHEN_IDLE"


@dataclass
class Call:
    """A function call the model asked for and has not seen finished."""

    id: str
    name: str
    non_blocking: bool


@dataclass
class BlockingTurn:
    """The user turn waiting on its blocking calls (the reply follows their results)."""

    user_text: str
    n: int
    k: int
    waiting: list[str]
    results: list[str] = field(default_factory=list)


@dataclass
class ToolLedger:
    """Open calls of one connection: the blocking turn (at most one) and running async calls."""

    calls: dict[str, Call] = field(default_factory=dict)
    blocking: BlockingTurn | None = None

    def open(self, call: Call) -> None:
        self.calls[call.id] = call

    def take_blocking_ids(self) -> list[str]:
        """Forget the blocking turn (barge-in): the ids to cancel."""
        if self.blocking is None:
            return []
        ids = [i for i in self.blocking.waiting if i in self.calls]
        for call_id in ids:
            del self.calls[call_id]
        self.blocking = None
        return ids
