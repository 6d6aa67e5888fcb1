"""When the emulator lets go of a session whose client closed: at the close frame, once what
came before it is taken in, or `release_delay` later (the real service was reported to refuse an
immediate resume after a clean close once).

A client that opened its next socket before closing the old one (relive's early socket) sends
the resuming setup the moment its close returns; the emulator used to let go only when its own
handler noticed the socket's end, a loop turn or more later, and refused some such resumes
(13% of 300 in a row) as "in use".
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import websockets

from relive import ManualClock
from relive.emulator import Emulator, EmulatorSettings

PATH = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent?key=k"
FAST = EmulatorSettings(chunk_interval=0.0, turn_complete_lag_factor=0.0)


def _dial(emu: Emulator) -> Any:
    """A raw websockets connect to the emulator (its TLS, if any)."""
    url = emu.ws_url + PATH
    return websockets.connect(url, ssl=emu.ssl_context() if url.startswith("wss") else None)


def _setup(handle: str | None = None) -> str:
    resumption = {} if handle is None else {"handle": handle}
    return json.dumps(
        {
            "setup": {
                "model": "models/gemini-live-2.5-flash-preview",
                "generationConfig": {"responseModalities": ["TEXT"]},
                "sessionResumption": resumption,
            }
        }
    )


async def _handle_after_turn(ws: Any, text: str) -> str:
    await ws.send(json.dumps({"realtimeInput": {"text": text}}))
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
        update = frame.get("sessionResumptionUpdate")
        if update and update.get("resumable") and update.get("newHandle"):
            return str(update["newHandle"])


async def _first_frame(ws: Any) -> dict[str, Any]:
    frame: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 10))
    return frame


async def test_a_resume_sent_as_the_close_returns_is_taken(relive_emulator: Emulator) -> None:
    old = await _dial(relive_emulator)
    await old.send(_setup())
    assert "setupComplete" in await _first_frame(old)
    handle = await _handle_after_turn(old, "hello")
    for turn in range(30):
        new = await _dial(relive_emulator)  # opened before the old one closes
        await old.close()
        await new.send(_setup(handle))  # at once: no handshake in between
        assert "setupComplete" in await _first_frame(new), f"refused at reconnect {turn}"
        handle = await _handle_after_turn(new, f"turn {turn}")
        old = new
    await old.close()
    assert sum(relive_emulator.stats.rejected_handles.values()) == 0


async def test_what_came_before_the_close_is_in_the_state_the_resume_gets(
    relive_emulator: Emulator,
) -> None:
    async with _dial(relive_emulator) as old:
        await old.send(_setup())
        await _first_frame(old)
        handle = await _handle_after_turn(old, "one")
        await old.send(json.dumps({"realtimeInput": {"text": "two"}}))  # just before the close
    async with _dial(relive_emulator) as new:
        await new.send(_setup(handle))
        assert "setupComplete" in await _first_frame(new)
    assert relive_emulator.user_turns_held() == ["one"]  # the handle's snapshot: "two" after it
    assert sum(relive_emulator.stats.rejected_handles.values()) == 0


async def test_release_delay_refuses_an_immediate_resume_then_takes_it() -> None:
    clock = ManualClock()
    async with Emulator(FAST.replace(release_delay=1.0), clock=clock) as emu:
        async with _dial(emu) as old:
            await old.send(_setup())
            await _first_frame(old)
            handle = await _handle_after_turn(old, "one")
        async with _dial(emu) as new:
            await new.send(_setup(handle))
            with pytest.raises(websockets.ConnectionClosed) as refused:
                await _first_frame(new)
        assert refused.value.rcvd is not None and refused.value.rcvd.code == 1011
        assert emu.stats.rejected_handles["in_use"] == 1
        emu.advance(1.0)
        async with _dial(emu) as again:
            await again.send(_setup(handle))
            assert "setupComplete" in await _first_frame(again)
