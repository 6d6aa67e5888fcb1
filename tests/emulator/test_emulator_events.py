"""`Emulator(on_event=...)`: every event, as it happens, to a typed hook (no monkeypatching)."""

from __future__ import annotations

import json

import websockets

from relive.emulator import Emulator, EmulatorEvent, EventKind

DEV = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent?key=k"
SETUP = {
    "setup": {
        "model": "models/gemini-live-2.5-flash-preview",
        "generationConfig": {"responseModalities": ["TEXT"]},
    }
}


async def test_the_hook_sees_every_event_and_the_client_messages_as_received() -> None:
    seen: list[EmulatorEvent] = []
    emu = Emulator(tls=False, on_event=seen.append)
    async with emu, websockets.connect(emu.ws_url + DEV) as ws:
        await ws.send(json.dumps(SETUP))
        await ws.recv()
        await ws.send(json.dumps({"realtimeInput": {"text": "hello"}}))
        await emu.wait_event("turn_complete", timeout=10)
    kinds = [e.kind for e in seen]
    assert kinds[0] is EventKind.CONNECTION_OPENED
    assert EventKind.SESSION_STARTED in kinds and EventKind.TURN_COMPLETE in kinds
    assert EventKind.CONNECTION_CLOSED in kinds
    received = [e.data["message"] for e in seen if e.kind is EventKind.RECEIVED]
    assert [m.kind for m in received] == ["setup", "realtimeInput"]
    assert received[1].body == {"text": "hello"}
    assert len(received) == emu.stats.messages_received
    assert len([e for e in seen if e.kind is EventKind.SENT]) == emu.stats.messages_sent
    kept = [e.kind for e in emu.events]
    assert EventKind.RECEIVED not in kept and EventKind.SENT not in kept  # counted, not kept
    assert [e for e in seen if e.seq] == emu.events
