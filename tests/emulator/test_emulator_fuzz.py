"""Random client behaviour against the state machine: never a crash, a hang or a broken rule."""

from __future__ import annotations

import base64
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from relive.emulator._states import State, TurnState
from tests.emulator.emulator_harness import FAST, Service

LOUD = base64.b64encode(b"\x00\x40" * 1600).decode()  # 0.1 s of a loud square-ish wave
QUIET = base64.b64encode(bytes(3200)).decode()  # 0.1 s of silence

STEPS: list[Any] = [
    {"realtimeInput": {"text": "hello"}},
    {"realtimeInput": {"text": "weather in Rome"}},
    {
        "clientContent": {
            "turns": [{"role": "user", "parts": [{"text": "hi"}]}],
            "turnComplete": True,
        }
    },
    {"clientContent": {"turns": [{"parts": [{"text": "part"}]}]}},
    {"clientContent": {"turnComplete": True}},
    {"realtimeInput": {"audio": {"data": LOUD, "mimeType": "audio/pcm;rate=16000"}}},
    {"realtimeInput": {"audio": {"data": QUIET, "mimeType": "audio/pcm;rate=16000"}}},
    {"realtimeInput": {"audioStreamEnd": True}},
    {"toolResponse": {"functionResponses": [{"id": "call-1-1", "response": {"ok": 1}}]}},
    {"contextUpdate": {}},
    "advance",
    "advance-long",
    "goaway",
    "garbage",
]


def _setup(resumption: bool, compression: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": "m",
        "generationConfig": {"responseModalities": ["TEXT"]},
        "tools": [{"functionDeclarations": [{"name": "get_weather"}]}],
        "realtimeInputConfig": {"automaticActivityDetection": {"silenceDurationMs": 100}},
    }
    if resumption:
        body["sessionResumption"] = {}
    if compression:
        body["contextWindowCompression"] = {"triggerTokens": 50, "slidingWindow": {}}
    return {"setup": body}


@settings(max_examples=150, deadline=None)
@given(
    steps=st.lists(st.sampled_from(range(len(STEPS))), max_size=40),
    resumption=st.booleans(),
    compression=st.booleans(),
)
def test_random_sessions_keep_the_rules(
    steps: list[int], resumption: bool, compression: bool
) -> None:
    service = Service(FAST.replace(connection_lifetime=5.0, goaway_lead=1.0))
    conn = service.connect()
    conn.apply(conn.machine.start())
    conn.send(_setup(resumption, compression))
    for index in steps:
        step = STEPS[index]
        if conn.closed is not None or conn.aborted:
            break
        if step == "garbage":
            conn.send("{not json")
        else:
            conn.step(step if isinstance(step, str) else json.dumps(step))
    conn.advance(10.0)  # every connection ends: at its deadline at the latest
    assert conn.closed is not None
    assert conn.machine.state is State.CLOSED
    assert_trace_keeps_the_rules(conn.sent, resumption)
    if conn.closed.reason == "Deadline expired before operation could complete.":
        assert any("goAway" in m for m in conn.sent), "deadline close without a goAway"
    assert conn.machine.turn in (TurnState.IDLE, TurnState.GENERATING, TurnState.TOOL_CALL)


def assert_trace_keeps_the_rules(sent: list[dict[str, Any]], resumption: bool) -> None:
    """A resumable handle only between turns; a reply or tool call starts with a non-resumable
    update and ends with turnComplete."""
    busy = False
    for message in sent:
        assert len(message) in (1, 2)
        update = message.get("sessionResumptionUpdate")
        content = message.get("serverContent", {})
        if update is not None:
            assert resumption
            assert bool(update["newHandle"]) == update["resumable"]
            if update["resumable"]:
                assert not busy, "resumable handle mid-turn"
            else:
                busy = True
        elif ("modelTurn" in content or "toolCall" in message) and resumption:
            assert busy, "reply without a non-resumable update first"
        if content.get("turnComplete"):
            busy = False
