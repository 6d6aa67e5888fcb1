"""The real service's WebSocket paths and ways of passing a key, checked without I/O."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs

from relive.emulator import _closes as closes
from relive.emulator._states import Auth
from relive.emulator._tokens import PREFIX as TOKEN_PREFIX

_DEVELOPER = re.compile(
    r"/ws/google\.ai\.generativelanguage\.(v1alpha|v1beta|v1)\.GenerativeService\."
    r"(BidiGenerateContent|BidiGenerateContentConstrained)"
)
_VERTEX = re.compile(
    r"/ws/google\.cloud\.aiplatform\.(v1|v1beta1|v1alpha)\.LlmBidiService/BidiGenerateContent"
)


@dataclass(frozen=True)
class Route:
    """A Live endpoint the request asked for."""

    api_version: str
    method: str
    vertex: bool


def match_route(target: str) -> Route | None:
    """The Live endpoint of a request target (path + query), or None. `//ws/...` is accepted."""
    path = "/" + target.partition("?")[0].lstrip("/")  # not urlsplit: `//ws` is no host
    if m := _DEVELOPER.fullmatch(path):
        return Route(m.group(1), m.group(2), vertex=False)
    if m := _VERTEX.fullmatch(path):
        return Route(m.group(1), "BidiGenerateContent", vertex=True)
    return None


def authenticate(
    target: str, headers: Mapping[str, str], route: Route, api_keys: frozenset[str] | None
) -> Auth:
    """Find the key (header, query, Token or Bearer) and check it against `api_keys`."""
    key = headers.get("x-goog-api-key")
    query = parse_qs(target.partition("?")[2])
    key = key or next(iter(query.get("key", [])), None)
    key = key or next(iter(query.get("access_token", [])), None)
    authorization = headers.get("authorization", "")
    scheme, _, token = authorization.partition(" ")
    if not key and scheme.lower() in ("token", "bearer") and token.strip():
        key = token.strip()
    if not key:
        return Auth(None, closes.MISSING_KEY, route.vertex, api_version=route.api_version)
    ephemeral = key.startswith(TOKEN_PREFIX)
    if route.method == "BidiGenerateContentConstrained":
        if not ephemeral:
            return Auth(key, refused=closes.TOKEN_REQUIRED, api_version=route.api_version)
        # checked at setup, where resuming is known
        return Auth(key, ephemeral=True, api_version=route.api_version)
    if ephemeral:
        return Auth(key, closes.TOKEN_NOT_A_KEY, route.vertex, api_version=route.api_version)
    if api_keys is not None and key not in api_keys:
        return Auth(key, closes.BAD_KEY, route.vertex, api_version=route.api_version)
    return Auth(key, None, route.vertex, api_version=route.api_version)
