"""The HTTP control endpoint on the emulator's own port: stats and faults for other processes.

`GET /emulator/stats`, `GET /emulator/events?after=SEQ`, `GET /emulator/health`, and `POST`
(or `GET`) `/emulator/faults/NAME` with parameters in the query string (websockets' HTTP
parser accepts no request body).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from websockets.asyncio.server import ServerConnection
from websockets.http11 import Request, Response

if TYPE_CHECKING:
    from relive.emulator._emulator import Emulator

_TRUE = {"1", "true", "yes", "on"}


def _json(connection: ServerConnection, status: int, body: dict[str, Any]) -> Response:
    response = connection.respond(status, json.dumps(body) + "\n")
    del response.headers["Content-Type"]
    response.headers["Content-Type"] = "application/json"
    return response


def _fault(emu: Emulator, name: str, params: dict[str, str]) -> dict[str, Any]:
    faults = emu.faults
    if name == "drop":
        return {"dropped": faults.drop()}
    if name == "drop_mid_turn":
        faults.drop_mid_turn()
        return {"armed": "drop_mid_turn"}
    if name == "goaway_now":
        left = params.get("time_left")
        return {"sent": faults.goaway_now(float(left) if left is not None else None)}
    if name == "silent_after_goaway":
        on = params.get("on", "true").lower() in _TRUE
        faults.silent_after_goaway(on)
        return {"silent_after_goaway": on}
    if name == "close":
        code = int(params.get("code", "1011"))
        if not 1000 <= code <= 4999 or code in (1005, 1006, 1015):
            raise ValueError(f"close code {code} cannot be sent in a close frame")
        reason = params.get("reason", "Internal error encountered.")
        return {"closed": faults.close(code, reason)}
    if name == "refuse_next_resumption":
        faults.refuse_next_resumption()
        return {"armed": "refuse_next_resumption"}
    if name == "expire_all_handles":
        faults.expire_all_handles()
        return {"expired": True}
    if name in ("latency", "set_latency"):
        faults.set_latency(float(params["seconds"]))
        return {"latency": emu.plan.latency}
    if name in ("ping_delay", "set_ping_delay"):
        faults.set_ping_delay(float(params["seconds"]))
        return {"ping_delay": emu.plan.ping_delay}
    if name == "reset":
        faults.reset()
        return {"reset": True}
    raise LookupError(name)


def handle_control(emu: Emulator, connection: ServerConnection, request: Request) -> Response:
    """Answer one control request."""
    target, _, query = request.path.partition("?")
    path = "/" + target.lstrip("/")
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
        return _json(connection, 200, {"events": events, "last_seq": emu.log.last_seq})
    if path.startswith("/emulator/faults/"):
        name = path.removeprefix("/emulator/faults/")
        try:
            return _json(connection, 200, _fault(emu, name, params))
        except LookupError:
            return _json(connection, 404, {"error": f"unknown fault {name!r}"})
        except (KeyError, ValueError) as exc:
            return _json(connection, 400, {"error": f"bad parameters for {name}: {exc}"})
    return _json(connection, 404, {"error": f"unknown control path {path}"})
