"""Hostile input: every malformed frame gets 1007 and one log line, and no frame costs the server
more than its size (replies bounded, planned lazily; absurd audio rates refused)."""

from __future__ import annotations

import base64
import json
import logging
import tracemalloc
from typing import Any

import pytest
import websockets

from relive.emulator import REPLY_PATTERN, Emulator
from relive.emulator._codec import MAX_DEPTH, ProtocolError, decode
from relive.emulator._config import parse_setup
from relive.emulator._model import MAX_QUOTED_CHARS
from relive.emulator._states import Auth
from relive.emulator._turns import plan_reply
from tests.emulator.emulator_harness import FAST, Harness, Service
from tests.emulator.test_emulator_wire import _close_of

DEV = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent?key=k"
SETUP: dict[str, Any] = {
    "setup": {
        "model": "models/gemini-live-2.5-flash-preview",
        "generationConfig": {"responseModalities": ["TEXT"]},
    }
}
PCM = base64.b64encode(bytes(3200)).decode()


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def _audio(mime: str) -> dict[str, Any]:
    return {"realtimeInput": {"audio": {"data": PCM, "mimeType": mime}}}


# (name, frame sent after a good setup)
MALFORMED: list[tuple[str, str]] = [
    ("parts not a list", json.dumps({"clientContent": {"turns": [{"parts": "hi"}]}})),
    ("parts of numbers", json.dumps({"clientContent": {"turns": [{"parts": [5, 6]}]}})),
    ("turns of strings", json.dumps({"clientContent": {"turns": ["hi"], "turnComplete": True}})),
    ("part text a number", json.dumps({"clientContent": {"turns": [{"parts": [{"text": 5}]}]}})),
    ("rate 0", json.dumps(_audio("audio/pcm;rate=0"))),
    ("rate 100", json.dumps(_audio("audio/pcm;rate=100"))),
    ("rate of 4400 digits", json.dumps(_audio("audio/pcm;rate=" + "9" * 4400))),
    ("rate not a number", json.dumps(_audio("audio/pcm;rate=fast"))),
    ("media chunk a number", json.dumps({"realtimeInput": {"mediaChunks": [5]}})),
    ("mime type a number", json.dumps({"realtimeInput": {"audio": {"data": PCM, "mimeType": 7}}})),
    ("response not objects", json.dumps({"toolResponse": {"functionResponses": [1]}})),
    ("lone surrogate in a field name", '{"realtimeInput": {"\\ud800x": 1}}'),
    ("lone surrogate in text", '{"realtimeInput": {"text": "a\\udc00b"}}'),
    ("nested 900 deep", '{"realtimeInput": {"text": "x", "y": ' + _nested(900) + "}}"),
    ("nested 100000 deep", _nested(100_000)),
    (
        "free-form nested 900 deep",
        json.dumps(
            {
                "toolResponse": {
                    "functionResponses": [{"id": "a", "response": json.loads(_nested(900))}]
                }
            }
        ),
    ),
]
MALFORMED_SETUP: list[tuple[str, dict[str, Any]]] = [
    ("functionDeclarations a number", {"tools": [{"functionDeclarations": 5}]}),
    ("functionDeclarations of numbers", {"tools": [{"functionDeclarations": [5]}]}),
    ("tools of strings", {"tools": ["get_weather"]}),
    ("function name a number", {"tools": [{"functionDeclarations": [{"name": 1}]}]}),
    ("modality a number", {"generationConfig": {"responseModalities": [1]}}),
]


def _open(service: Service) -> Harness:
    conn = service.connect()
    conn.apply(conn.machine.start())
    return conn


@pytest.mark.parametrize(("name", "frame"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_messages_close_1007(name: str, frame: str) -> None:
    conn = _open(Service())
    conn.send(SETUP)
    assert list(conn.sent[0]) == ["setupComplete"]
    conn.send(frame)
    assert conn.closed is not None, name
    assert conn.closed.code == 1007, (name, conn.closed)
    assert len(conn.closed.reason.encode()) <= 123  # encodes: valid UTF-8, fits a close frame


@pytest.mark.parametrize(("name", "body"), MALFORMED_SETUP, ids=[m[0] for m in MALFORMED_SETUP])
def test_malformed_setups_close_1007(name: str, body: dict[str, Any]) -> None:
    conn = _open(Service())
    conn.send({"setup": {**SETUP["setup"], **body}})
    assert conn.closed is not None and conn.closed.code == 1007, (name, conn.closed)
    assert conn.sent == []


def test_depth_limit_is_exact() -> None:
    inner: Any = "x"
    for _ in range(MAX_DEPTH - 4):  # + the frame, toolResponse, the list and its item: MAX_DEPTH
        inner = [inner]
    decode(json.dumps({"toolResponse": {"functionResponses": [{"response": inner}]}}), 10**9)
    with pytest.raises(ProtocolError, match="Nesting deeper"):
        decode(json.dumps({"toolResponse": {"functionResponses": [{"response": [inner]}]}}), 10**9)


@pytest.mark.parametrize("depth", [95, 96, 900, 100_000])
def test_deep_function_args_in_user_text_are_a_malformed_call(depth: int) -> None:
    """`call f with {JSON}` parses the user's text: the args' nesting is limited like a frame's
    (they sit 5 levels deep in the toolCall message)."""
    conn = _open(Service())
    conn.setup(tools=[{"functionDeclarations": [{"name": "f"}]}])
    conn.send({"realtimeInput": {"text": 'call f with {"a": ' + _nested(depth) + "}"}})
    conn.run_turn()
    assert conn.closed is None
    if depth <= 95:  # the dict holding "a" is level 5: 95 lists fit under it, to level 100
        assert any("toolCall" in m for m in conn.sent)
    else:
        done = [m for m in conn.sent if m.get("serverContent", {}).get("turnComplete")]
        assert done[-1]["serverContent"]["turnCompleteReason"] == "MALFORMED_FUNCTION_CALL"


def test_null_fields_are_unset_fields() -> None:
    """Proto3 JSON: `null` means "not set" (atheris found `mimeType: null` raising a 1011)."""
    conn = _open(Service())
    conn.setup(realtimeInputConfig={"automaticActivityDetection": {"silenceDurationMs": None}})
    conn.send({"realtimeInput": {"audio": {"data": PCM, "mimeType": None}}})
    conn.send({"realtimeInput": {"text": None, "mediaChunks": [{"data": PCM, "mimeType": None}]}})
    conn.send({"clientContent": {"turns": [{"role": None, "parts": [{"text": None}]}]}})
    assert conn.closed is None
    assert list(conn.sent[0]) == ["setupComplete"]


def test_binary_frames_must_be_utf8() -> None:
    with pytest.raises(ProtocolError) as refused:
        decode('{"setup": {"model": "m"}}'.encode("utf-16"), 10**6)
    assert refused.value.close.code == 1007


def test_accepted_audio_rates() -> None:
    for rate in ("8000", "16000", "24000", "48000", "192000"):
        conn = _open(Service())
        conn.send(SETUP).send(_audio(f"audio/pcm;rate={rate}"))
        assert conn.closed is None, rate
    conn = _open(Service())
    conn.send(SETUP).send(_audio("audio/pcm"))  # no rate: 16 kHz
    assert conn.closed is None


def test_a_huge_text_gets_a_small_reply() -> None:
    """1 MiB of words used to be planned whole: 350 000 steps, hundreds of MB, seconds of CPU."""
    conn = _open(Service(FAST.replace(first_chunk_delay=0.0)))
    conn.setup(contextWindowCompression={"slidingWindow": {}})
    conn.send({"realtimeInput": {"text": "ab " * 350_000}})
    conn.run_turn()  # bounded: at most 1000 steps
    match = REPLY_PATTERN.fullmatch(conn.text())
    assert match is not None
    assert match.group("text") == ("ab " * 350_000)[:MAX_QUOTED_CHARS] + "…"
    assert any("turnComplete" in m.get("serverContent", {}) for m in conn.sent)


def test_a_reply_is_planned_step_by_step() -> None:
    """Taking the first steps of a 4 MB reply costs almost nothing: steps are made as sent."""
    config = parse_setup(SETUP["setup"], FAST, Auth("key"))
    text = "word " * 800_000
    tracemalloc.start()
    try:
        steps = plan_reply(text, config, FAST, prompt_tokens=0)
        first = [next(steps), next(steps)]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert first[0].text == "word word word "
    assert peak < 1_000_000, f"planning the first steps took {peak} bytes"


def test_setup_must_come_in_time() -> None:
    service = Service(FAST.replace(setup_timeout=5.0))
    idle = _open(service)
    idle.advance(4.9)
    assert idle.closed is None
    idle.advance(0.2)
    assert idle.closed is not None and idle.closed.code == 1008
    assert "setup" in idle.closed.reason
    prompt = _open(service)
    prompt.send(SETUP)
    prompt.advance(6.0)
    assert prompt.closed is None  # setup came: the timer is off


# ----- over a real socket -----------------------------------------------------------------------


@pytest.mark.relive_emulator(tls=False)
async def test_malformed_frames_on_the_wire_close_1007_with_one_log_line(
    relive_emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="relive.emulator")
    frames = [f for _, f in MALFORMED] + [
        json.dumps({"setup": {**SETUP["setup"], **b}}) for _, b in MALFORMED_SETUP
    ]
    async with websockets.connect(relive_emulator.ws_url + DEV) as bystander:
        await bystander.send(json.dumps(SETUP))
        assert list(json.loads(await bystander.recv())) == ["setupComplete"]
        for frame in frames:
            caplog.clear()
            async with websockets.connect(relive_emulator.ws_url + DEV, max_size=None) as ws:
                if not frame.startswith('{"setup"'):
                    await ws.send(json.dumps(SETUP))
                    await ws.recv()
                await ws.send(frame)
                code, reason = await _close_of(ws)
            assert code == 1007, (frame[:80], code, reason)
            await relive_emulator.wait_for(lambda s: s.open_connections == 1)
            lines = [r for r in caplog.records if r.name.startswith("relive.emulator")]
            assert len(lines) == 1, [r.getMessage()[:200] for r in lines]
            assert lines[0].exc_info is None and "Traceback" not in caplog.text
            assert len(lines[0].getMessage()) < 300
        await bystander.send(json.dumps({"realtimeInput": {"text": "still here"}}))
        reply = json.loads(await bystander.recv())
        while "modelTurn" not in reply.get("serverContent", {}):
            reply = json.loads(await bystander.recv())


@pytest.mark.relive_emulator(tls=False, keepalive_interval=0.2, keepalive_timeout=0.2)
async def test_a_half_open_peer_is_dropped(relive_emulator: Emulator) -> None:
    async with websockets.connect(relive_emulator.ws_url + DEV, ping_interval=None) as ws:
        await ws.send(json.dumps(SETUP))
        await ws.recv()
        ws.transport.pause_reading()  # the peer is gone: pings go unanswered
        event = await relive_emulator.wait_event("connection_closed", timeout=10)
        assert event.data["code"] != 1000
        ws.transport.resume_reading()


@pytest.mark.relive_emulator(tls=False, setup_timeout=0.3)
async def test_a_connection_without_setup_is_closed(relive_emulator: Emulator) -> None:
    async with websockets.connect(relive_emulator.ws_url + DEV) as ws:
        code, reason = await _close_of(ws)
    assert code == 1008 and "setup" in reason
