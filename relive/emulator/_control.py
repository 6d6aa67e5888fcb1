"""The HTTP control endpoints on the emulator's own port: stats and faults for other processes.

`GET /emulator/stats`, `GET /emulator/events?after=SEQ`, `GET /emulator/health`, and `POST`
`/emulator/faults/NAME` with parameters in the query string (websockets' HTTP parser accepts no
request body).

They can freeze or drop every session, so they are off the public surface: without a control
token only loopback clients naming a loopback `Host` reach them; with one, every request must
carry it (`Authorization: Bearer TOKEN`); a request from a web page (`Origin`, or a cross-site
`Sec-Fetch-Site`) is refused either way, so a page the user visits cannot drop their sessions.
"""

from __future__ import annotations

import hmac
import json
import math
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from websockets.asyncio.server import ServerConnection
from websockets.http11 import Request, Response

from relive._net import is_loopback, parse_host
from relive.emulator._faults import FAULT_ALIASES, FaultName

if TYPE_CHECKING:
    from relive.emulator._emulator import Emulator, Faults

_TRUE = {"1", "true", "yes", "on"}
MIN_TOKEN_CHARS = 24  # 24 URL-safe characters: 144 bits, far past guessing
_TOKEN = re.compile(r"[A-Za-z0-9._~+/=-]+")


def check_token(token: str | None) -> str | None:
    """A control token must be long and random-looking; `ValueError` says what to use."""
    if token is None:
        return None
    if len(token) < MIN_TOKEN_CHARS or not _TOKEN.fullmatch(token):
        raise ValueError(
            f"the control token must be at least {MIN_TOKEN_CHARS} URL-safe characters, e.g. "
            "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )
    return token


def refusal(
    method: str,
    path: str,
    headers: Mapping[str, str],
    peer: str | None,
    token: str | None,
) -> tuple[int, str] | None:
    """Why a control request is refused (status, message), or None: plain logic, no I/O."""
    if headers.get("origin") is not None or headers.get("sec-fetch-site") in (
        "cross-site",
        "same-site",
    ):
        return 403, "control requests from web pages are refused"
    if token is not None:
        scheme, _, given = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode("utf-8", "replace"), token.encode()
        ):
            return 401, "control needs Authorization: Bearer <control token>"
    else:
        if not is_loopback(peer):
            return 403, "control answers loopback clients only (or start with a control token)"
        host = parse_host(headers.get("host"))
        if host is None or not is_loopback(host[0]):
            return 403, "control needs a loopback Host (127.0.0.1, [::1], localhost)"
    if path.startswith("/emulator/faults/") and method != "POST":
        return 405, "faults change state: use POST"
    if method not in ("GET", "POST"):
        return 405, "control takes GET and POST only"
    return None


def _json(connection: ServerConnection, status: int, body: dict[str, Any]) -> Response:
    response = connection.respond(status, json.dumps(body) + "\n")
    del response.headers["Content-Type"]
    response.headers["Content-Type"] = "application/json"
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _seconds(params: dict[str, str], name: str) -> float:
    value = float(params[name])
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite")
    return value


Params = dict[str, str]


def _close(emu: Emulator, params: Params) -> dict[str, Any]:
    code = params.get("code", "1011")
    if not re.fullmatch(r"[0-9]{4}", code) or not 1000 <= int(code) <= 4999:
        raise ValueError(f"close code {code[:8]!r} is not a code from 1000 to 4999")
    if int(code) in (1005, 1006, 1015):
        raise ValueError(f"close code {code} cannot be sent in a close frame")
    reason = params.get("reason", "Internal error encountered.")
    return {"closed": emu.faults.close(int(code), reason)}


def _goaway_now(emu: Emulator, params: Params) -> dict[str, Any]:
    left = _seconds(params, "time_left") if "time_left" in params else None
    return {"sent": emu.faults.goaway_now(left)}


def _silent_after_goaway(emu: Emulator, params: Params) -> dict[str, Any]:
    on = params.get("on", "true").lower() in _TRUE
    emu.faults.silent_after_goaway(on)
    return {"silent_after_goaway": on}


def _withhold_handles(emu: Emulator, params: Params) -> dict[str, Any]:
    on = params.get("on", "true").lower() in _TRUE
    emu.faults.withhold_handles(on)
    return {"withhold_handles": on}


def _latency(emu: Emulator, params: Params) -> dict[str, Any]:
    emu.faults.set_latency(_seconds(params, "seconds"))
    return {"latency": emu.faults.latency}


def _ping_delay(emu: Emulator, params: Params) -> dict[str, Any]:
    emu.faults.set_ping_delay(_seconds(params, "seconds"))
    return {"ping_delay": emu.faults.ping_delay}


def _armed(name: FaultName, arm: Callable[[Faults], None]) -> Callable[[Emulator, Params], Any]:
    def fault(emu: Emulator, params: Params) -> dict[str, Any]:
        arm(emu.faults)
        return {"armed": name.value}

    return fault


def _drop(emu: Emulator, params: Params) -> dict[str, Any]:
    return {"dropped": emu.faults.drop()}


def _silent_drop(emu: Emulator, params: Params) -> dict[str, Any]:
    hold = _seconds(params, "hold") if "hold" in params else None
    return {"dropped": emu.faults.silent_drop(hold)}


def _expire_all_handles(emu: Emulator, params: Params) -> dict[str, Any]:
    emu.faults.expire_all_handles()
    return {"expired": True}


def _reset(emu: Emulator, params: Params) -> dict[str, Any]:
    emu.faults.reset()
    return {"reset": True}


# One handler per fault name: a name not here is 404, a handler's KeyError/ValueError is 400.
FAULTS: dict[FaultName, Callable[[Emulator, Params], dict[str, Any]]] = {
    FaultName.DROP: _drop,
    FaultName.SILENT_DROP: _silent_drop,
    FaultName.DROP_MID_TURN: _armed(FaultName.DROP_MID_TURN, lambda f: f.drop_mid_turn()),
    FaultName.GOAWAY_NOW: _goaway_now,
    FaultName.SILENT_AFTER_GOAWAY: _silent_after_goaway,
    FaultName.WITHHOLD_HANDLES: _withhold_handles,
    FaultName.CLOSE: _close,
    FaultName.REFUSE_NEXT_RESUMPTION: _armed(
        FaultName.REFUSE_NEXT_RESUMPTION, lambda f: f.refuse_next_resumption()
    ),
    FaultName.EXPIRE_ALL_HANDLES: _expire_all_handles,
    FaultName.LATENCY: _latency,
    FaultName.PING_DELAY: _ping_delay,
    FaultName.RESET: _reset,
}


def _fault_name(name: str) -> FaultName | None:
    if name in FAULT_ALIASES:
        return FAULT_ALIASES[name]
    try:
        return FaultName(name)
    except ValueError:
        return None


def handle_control(emu: Emulator, connection: ServerConnection, request: Request) -> Response:
    """Answer one control request."""
    target, _, query = request.path.partition("?")
    path = "/" + target.lstrip("/")
    peer = connection.remote_address[0] if connection.remote_address else None
    refused = refusal(request.method, path, request.headers, peer, emu.control_token)
    if refused is not None:
        response = _json(connection, refused[0], {"error": refused[1]})
        if refused[0] == 405:
            response.headers["Allow"] = "POST" if path.startswith("/emulator/faults/") else "GET"
        return response
    params = {k: v[-1] for k, v in parse_qs(query).items()}
    if path == "/emulator/health":
        return _json(connection, 200, {"ok": True, "url": emu.url})
    if path == "/emulator/stats":
        return _json(connection, 200, emu.stats.to_json())
    if path == "/emulator/events":
        try:
            after = int(params.get("after", "0"))
        except ValueError:
            return _json(connection, 400, {"error": "after must be an integer (an event seq)"})
        events = [
            {"seq": e.seq, "kind": e.kind, **{k: v for k, v in e.data.items() if k != "kind"}}
            for e in emu.events
            if e.seq > after
        ]
        return _json(connection, 200, {"events": events, "last_seq": emu._log.last_seq})
    if path.startswith("/emulator/faults/"):
        name = path.removeprefix("/emulator/faults/")
        fault = _fault_name(name)
        if fault is None:
            return _json(connection, 404, {"error": f"unknown fault {name[:40]!r}"})
        try:
            return _json(connection, 200, FAULTS[fault](emu, params))
        except KeyError as exc:
            return _json(connection, 400, {"error": f"bad parameters for {name}: {exc} missing"})
        except ValueError as exc:
            return _json(connection, 400, {"error": f"bad parameters for {name}: {exc}"})
    return _json(connection, 404, {"error": f"unknown control path {path[:80]}"})
