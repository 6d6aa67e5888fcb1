"""Strict checking of client messages against the installed SDK's types, as the real API's parser.

The real server parses proto3 JSON: a field it does not know, at any depth, closes the socket
1007 `Invalid JSON payload received. Unknown name "x" at 'setup.generation_config': Cannot find
field.`; an enum value it does not know, or a value of the wrong type, closes 1007 `Invalid value
at 'path' (...), value`. A single value where a list is expected is taken as a one-element list
(the protobuf JSON parser allows it): this check rewrites it as a list so the emulator reads one
shape. The schema is the google-genai SDK's own pydantic types (plus the one field the SDK sends
in `setup` without typing it there, `realtimeInputConfig`), so it grows with the SDK.
"""

from __future__ import annotations

import enum
import functools
import json
import types as pytypes
import typing
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from relive.emulator import _closes as closes
from relive.emulator._closes import CloseReason
from relive.emulator._codec import JsonDict, ProtocolError

# Fields the Developer API has only in v1alpha: (path, camelCase name).
V1ALPHA_ONLY = frozenset(
    {("setup", "proactivity"), ("setup.generation_config", "enableAffectiveDialog")}
)


@dataclass(frozen=True)
class _Field:
    name: str  # snake_case, as the parser names it in paths
    kind: Any  # the annotation, unwrapped of Optional


def _sdk() -> Any:
    from google.genai import types

    return types


@functools.cache
def message_types() -> dict[str, type[BaseModel]]:
    """Client message kind (camelCase) -> the SDK type of its body."""
    t = _sdk()
    kinds: dict[str, type[BaseModel]] = {
        "setup": t.LiveClientSetup,
        "clientContent": t.LiveClientContent,
        "realtimeInput": t.LiveClientRealtimeInput,
        "toolResponse": t.LiveClientToolResponse,
    }
    update = getattr(t, "LiveClientContextUpdate", None)
    if update is not None:  # older google-genai (2.25) has no Live context updates
        kinds["contextUpdate"] = update
    return kinds


def _unwrap(annotation: Any) -> Any:
    """Optional[X] -> X; a Union of several (system_instruction) -> its first message type."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, pytypes.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return _unwrap(args[0])
        models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
        return models[0] if models else Any
    return annotation


@functools.cache
def fields_of(model: type[BaseModel]) -> dict[str, _Field]:
    """camelCase wire name -> field, for one SDK type."""
    t = _sdk()
    out: dict[str, _Field] = {}
    for name, info in model.model_fields.items():
        kind = _unwrap(info.annotation)
        if name == "tools" and (kind is list or typing.get_origin(kind) is list):
            kind = pytypes.GenericAlias(list, (t.Tool,))  # typed `list` (+ a validator) in the SDK
        out[info.alias or name] = _Field(name, kind)
    if model is t.LiveClientSetup:  # the SDK sends it in setup but types it elsewhere
        out["realtimeInputConfig"] = _Field("realtime_input_config", t.RealtimeInputConfig)
    return out


class _Checker:
    def __init__(self, api: str, version: str, developer: bool) -> None:
        self.api = api
        self.version = version
        self.developer = developer

    def fail(self, close: CloseReason) -> ProtocolError:
        return ProtocolError(close)

    def message(self, body: JsonDict, model: type[BaseModel], path: str) -> None:
        known = fields_of(model)
        for name in list(body):
            field = known.get(name)
            if field is None or (self.hidden(path, name)):
                raise self.fail(closes.unknown_field(name, path))
            at = f"{path}.{field.name}" if path else field.name
            body[name] = self.value(body[name], field.kind, at)

    def hidden(self, path: str, name: str) -> bool:
        return self.developer and self.version != "v1alpha" and (path, name) in V1ALPHA_ONLY

    def value(self, value: Any, kind: Any, path: str) -> Any:
        """Check one value; returns it (a lone value where a list goes comes back as a list)."""
        origin = typing.get_origin(kind)
        if kind is Any or kind is object or value is None:
            return value
        if origin is list:
            (item,) = typing.get_args(kind) or (Any,)
            items = value if isinstance(value, list) else [value]
            return [self.value(v, item, f"{path}[{i}]") for i, v in enumerate(items)]
        if origin is dict:
            _, item = typing.get_args(kind)
            if not isinstance(value, dict):
                raise self.wrong(path, "TYPE_MESSAGE", value)
            for key in list(value):
                value[key] = self.value(value[key], item, f"{path}[{key}]")
            return value
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            if not isinstance(value, dict):
                raise self.wrong(path, "TYPE_MESSAGE", value)
            self.message(value, kind, path)
            return value
        if isinstance(kind, type) and issubclass(kind, enum.Enum):
            return self.enum(value, kind, path)
        return self.scalar(value, kind, path)

    def enum(self, value: Any, kind: type[enum.Enum], path: str) -> Any:
        names = [m.value for m in kind]
        if isinstance(value, str) and value in names:
            return value
        shown = json.dumps(value)[:40]
        where = f"type.googleapis.com/{self.api}.{self.version}.{kind.__name__}"
        raise self.fail(closes.invalid(f"Invalid value at '{path}' ({where}), {shown}"))

    def scalar(self, value: Any, kind: Any, path: str) -> Any:
        if kind is bool:
            ok = isinstance(value, bool)
            proto = "TYPE_BOOL"
        elif kind is int:
            ok = (isinstance(value, int) and not isinstance(value, bool)) or (
                isinstance(value, str) and value.lstrip("-").isdigit()
            )
            proto = "TYPE_INT64"
        elif kind is float:
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            ok = ok or (isinstance(value, str) and _is_number(value))
            proto = "TYPE_DOUBLE"
        elif kind in (str, bytes):
            ok = isinstance(value, str)
            proto = "TYPE_STRING" if kind is str else "TYPE_BYTES"
        else:  # datetimes, literals and other shapes: strings or anything proto JSON takes
            return value
        if not ok:
            raise self.wrong(path, proto, value)
        return value

    def wrong(self, path: str, proto: str, value: Any) -> ProtocolError:
        shown = json.dumps(value)[:40]
        return self.fail(closes.invalid(f"Invalid value at '{path}' ({proto}), {shown}"))


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def check_message(kind: str, body: JsonDict, api_version: str, vertex: bool) -> None:
    """Check (and normalise lone values into lists of) one decoded client message body, in
    place; `ProtocolError` with the real parser's 1007 close when the API would refuse it."""
    model = message_types().get(kind)
    if model is None:
        return
    api = "google.cloud.aiplatform" if vertex else "google.ai.generativelanguage"
    checker = _Checker(api, api_version, developer=not vertex)
    checker.message(body, model, _snake(kind))


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name)
