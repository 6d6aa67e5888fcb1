"""The REST side of the Live port: `POST /v1alpha/auth_tokens`, the call behind the SDKs'
`auth_tokens.create` (python-genai `tokens.py`, js-genai `tokens.ts`).

websockets parses only a request's head (a handshake has no body) and refuses a request that
announces one. The SDKs POST JSON there, so the server's protocol first takes a bounded body off
the stream (`_socket.EmulatorProtocol`) and hands it to `process_request` with the head.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from websockets.asyncio.server import ServerConnection
from websockets.http11 import Request, Response

from relive.emulator._stats import EventKind
from relive.emulator._tokens import RestError

if TYPE_CHECKING:
    from relive.emulator._emulator import Emulator

BAD_KEY = "API key not valid. Please pass a valid API key."
_PATH = re.compile(r"/(v1alpha|v1beta|v1)/auth_tokens")  # fullmatch: `$` takes a final "\n"


def is_rest(path: str) -> bool:
    return _PATH.fullmatch("/" + path.partition("?")[0].lstrip("/")) is not None


def _json(connection: ServerConnection, status: int, body: dict[str, Any]) -> Response:
    response = connection.respond(status, json.dumps(body) + "\n")
    del response.headers["Content-Type"]
    response.headers["Content-Type"] = "application/json; charset=UTF-8"
    return response


def _api_key(request: Request) -> str | None:
    key = request.headers.get("x-goog-api-key")
    if key:
        return key
    match = re.search(r"[?&]key=([^&]+)", request.path)
    return match.group(1) if match else None


# No published rule says how Google's endpoint treats a browser; a token minted by any page
# the user visits, on a key in its URL, is what ephemeral tokens exist to prevent, so the
# emulator refuses it (our choice, docs/emulator.md). Scripts and the SDKs send no Origin.
FROM_A_PAGE = (
    "auth_tokens refuses requests from web pages (an Origin header, or Sec-Fetch-Site "
    "cross-site or same-site): mint ephemeral tokens on your server, never in a browser."
)


def from_a_web_page(request: Request) -> bool:
    """A browser sent it on a page's behalf: it carries an `Origin` (any: the emulator serves
    no page of its own), or says it crossed sites."""
    fetch_site = request.headers.get("sec-fetch-site")
    return request.headers.get("origin") is not None or fetch_site in ("cross-site", "same-site")


def handle_rest(emu: Emulator, connection: ServerConnection, request: Request) -> Response:
    """Answer `POST /v1alpha/auth_tokens` as the real API does (JSON errors included)."""
    version = _PATH.fullmatch("/" + request.path.partition("?")[0].lstrip("/"))
    try:
        if version is None or version.group(1) != "v1alpha":
            raise RestError(404, "NOT_FOUND", "auth_tokens is served on v1alpha only.")
        if request.method != "POST":
            raise RestError(405, "INVALID_ARGUMENT", "auth_tokens takes POST.")
        if from_a_web_page(request):
            raise RestError(403, "PERMISSION_DENIED", FROM_A_PAGE)
        key = _api_key(request)
        if not key:
            raise RestError(
                403,
                "PERMISSION_DENIED",
                "Method doesn't allow unregistered callers (callers without established "
                "identity). Please use API Key or other form of API consumer identity to call "
                "this API.",
            )
        if key.startswith("auth_tokens/") or (emu.api_keys is not None and key not in emu.api_keys):
            raise RestError(
                400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key."
            )
        raw = getattr(connection.protocol, "request_body", b"") or b"{}"
        try:
            body = json.loads(raw)
        except ValueError:
            raise RestError(400, "INVALID_ARGUMENT", "Invalid JSON payload received.") from None
        minted = emu._tokens.mint(body, key)
    except RestError as error:
        return _json(connection, error.status, error.body())
    emu._log.record(EventKind.TOKEN_MINTED, {"uses": minted["uses"]})
    return _json(connection, 200, minted)
