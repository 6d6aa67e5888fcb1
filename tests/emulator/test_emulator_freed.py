"""A finished connection's objects are freed by reference counting, with no garbage collection.

In a 1,000-connection reconnect wave every closed connection that sat in a reference cycle
(the link and its protocol's callbacks, a parser error's traceback, a recursive closure per
setup) waited for a full collection, each a 0.2-0.5 s pause of the emulator, its cost
landing in whichever phase of a bench came next. Here the collector is off while connections
end every way they can: if any of the emulator's objects of the connection are still alive
once its handler returned, they are held by a cycle.
"""

from __future__ import annotations

import asyncio
import gc
import json
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import websockets

from relive.emulator import Emulator
from relive.emulator._shapes import instruction_tokens

PATH = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent?key=k"
WEBSOCKETS = tuple(int(part) for part in websockets.version.version.split(".")[:2])
SETUP = json.dumps(
    {
        "setup": {
            "model": "models/gemini-live-2.5-flash-preview",
            "generationConfig": {"responseModalities": ["TEXT"]},
            "systemInstruction": {"parts": [{"text": "Be brief."}]},
            "sessionResumption": {},
        }
    }
)


async def _client_closes(emu: Emulator, ws: Any) -> None:
    await ws.close()


async def _client_aborts(emu: Emulator, ws: Any) -> None:
    ws.transport.abort()  # no close frame: the server reads an unexpected end of stream


async def _drop_fault(emu: Emulator, ws: Any) -> None:
    emu.faults.drop()
    await ws.wait_closed()


async def _goaway_then_close(emu: Emulator, ws: Any) -> None:
    emu.faults.goaway_now(10.0)
    assert "goAway" in json.loads(await asyncio.wait_for(ws.recv(), 10))
    await ws.close()


async def _server_closes(emu: Emulator, ws: Any) -> None:
    emu.faults.close(1011, "Internal error encountered.")
    await ws.wait_closed()


async def _bad_frame(emu: Emulator, ws: Any) -> None:
    await ws.send("not json")  # the emulator closes with 1007
    await ws.wait_closed()


ENDINGS: dict[str, Callable[[Emulator, Any], Awaitable[None]]] = {
    "client closes": _client_closes,
    "client aborts": _client_aborts,
    "drop fault": _drop_fault,
    "goAway, then the client closes": _goaway_then_close,
    "server closes": _server_closes,
    "malformed frame": _bad_frame,
}


@pytest.mark.usefixtures("no_collector")
@pytest.mark.parametrize("ending", list(ENDINGS))
async def test_a_finished_connection_is_freed_without_the_collector(
    relive_emulator: Emulator, ending: str
) -> None:
    emu = relive_emulator
    assert emu._server is not None
    ws = await websockets.connect(emu.ws_url + PATH, ssl=emu.ssl_context())
    await ws.send(SETUP)
    assert "setupComplete" in json.loads(await asyncio.wait_for(ws.recv(), 10))
    (link,) = emu._links.values()
    refs: dict[str, weakref.ref[Any]] = {
        "link": weakref.ref(link),
        "machine": weakref.ref(link.machine),
        "connection": weakref.ref(link.ws),
        "protocol": weakref.ref(link.ws.protocol),
    }
    server: Any = emu._server  # its handler tasks: websockets 15+ keeps a set, 14 a dict
    handlers = set(getattr(server, "handler_tasks", None) or server.handlers.values())
    del server
    del link
    await ENDINGS[ending](emu, ws)
    await asyncio.wait(handlers, timeout=10)
    del handlers
    for _ in range(100):  # loop turns (no timed wait): the transports let go in a few
        if all(ref() is None for ref in refs.values()):
            break
        await asyncio.sleep(0)
    alive = sorted(name for name, ref in refs.items() if ref() is not None)
    if WEBSOCKETS < (17,):  # its logger's context holds the connection in a cycle of its own
        alive = [name for name in alive if name not in ("connection", "protocol")]
    assert alive == [], f"held by a reference cycle after '{ending}': {alive}"
    assert gc.collect() >= 0  # (the collector comes back on for the next test)


@pytest.mark.usefixtures("no_collector")
def test_counting_a_system_instruction_leaves_nothing_for_the_collector() -> None:
    """Once a recursive closure per setup: a function and its cells in a cycle."""
    instruction = {"parts": [{"text": "Be brief."}, {"text": "Be kind."}]}
    assert instruction_tokens(instruction, 4.0) == instruction_tokens("Be brief. Be kind.", 4.0)
    before = len(gc.get_objects())
    for _ in range(200):
        instruction_tokens(instruction, 4.0)
    assert len(gc.get_objects()) - before < 100  # was 5 left per call
