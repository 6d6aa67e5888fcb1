"""Wire-level rules with a raw websockets client: paths, auth, casing, bad frames."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from relive.emulator import Emulator

DEV = "/ws/google.ai.generativelanguage.{v}.GenerativeService.BidiGenerateContent"
CONSTRAINED = (
    "/ws/google.ai.generativelanguage.v1alpha.GenerativeService.BidiGenerateContentConstrained"
)
VERTEX = "/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent"
SETUP = {
    "setup": {
        "model": "models/gemini-live-2.5-flash-preview",
        "generation_config": {"response_modalities": ["TEXT"]},
    }
}

pytestmark = pytest.mark.relive_emulator(tls=False)


async def _close_of(ws: websockets.ClientConnection) -> tuple[int, str]:
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            await ws.recv()
    assert closed.value.rcvd is not None, "closed without a close frame"
    return closed.value.rcvd.code, closed.value.rcvd.reason


async def _setup_complete(ws: websockets.ClientConnection, setup: dict[str, Any] = SETUP) -> None:
    await ws.send(json.dumps(setup))
    frame = await ws.recv()
    assert isinstance(frame, bytes), "server frames are binary, like the real service"
    assert list(json.loads(frame)) == ["setupComplete"]


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        (DEV.format(v="v1beta") + "?key=k", {}),
        ("/" + DEV.format(v="v1alpha") + "?key=k", {}),  # JS SDK: //ws/...
        (DEV.format(v="v1"), {"x-goog-api-key": "k"}),
        (CONSTRAINED, {"Authorization": "Token TOKEN"}),  # TOKEN: a minted ephemeral token
        (CONSTRAINED + "?access_token=TOKEN", {}),
        (VERTEX, {"Authorization": "Bearer ya29.token"}),
    ],
)
async def test_paths_and_auth(
    relive_emulator: Emulator, path: str, headers: dict[str, str]
) -> None:
    token = relive_emulator._tokens.mint({}, "k")["name"]
    path = path.replace("TOKEN", token)
    headers = {k: v.replace("TOKEN", token) for k, v in headers.items()}
    async with websockets.connect(relive_emulator.ws_url + path, additional_headers=headers) as ws:
        await _setup_complete(ws)


async def test_unknown_path_is_404(relive_emulator: Emulator) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with websockets.connect(relive_emulator.ws_url + "/ws/nothing?key=secret-key"):
            pass
    assert refused.value.response.status_code == 404
    assert b"/ws/nothing" in refused.value.response.body
    assert b"secret-key" not in refused.value.response.body


async def test_missing_key_closes_1008(relive_emulator: Emulator) -> None:
    async with websockets.connect(relive_emulator.ws_url + DEV.format(v="v1beta")) as ws:
        await ws.send(json.dumps(SETUP))
        code, reason = await _close_of(ws)
    assert code == 1008 and "Missing API key" in reason


@pytest.mark.relive_emulator(tls=False, api_keys={"good"})
async def test_refused_key_closes_1007(relive_emulator: Emulator) -> None:
    url = relive_emulator.ws_url + DEV.format(v="v1beta")
    async with websockets.connect(url + "?key=bad") as ws:
        await ws.send(json.dumps(SETUP))
        assert await _close_of(ws) == (1007, "API key not valid. Please pass a valid API key.")
    async with websockets.connect(url + "?key=good") as ws:
        await _setup_complete(ws)


async def test_snake_case_at_every_depth(relive_emulator: Emulator) -> None:
    setup = {
        "setup": {
            "model": "models/gemini-live-2.5-flash-preview",
            "generation_config": {"response_modalities": ["TEXT"]},
            "session_resumption": {},
            "context_window_compression": {
                "trigger_tokens": "60",  # int64 as a JSON string, as proto JSON allows
                "sliding_window": {"target_tokens": 30},
            },
            "realtime_input_config": {"automatic_activity_detection": {"silence_duration_ms": 200}},
        }
    }
    async with websockets.connect(relive_emulator.ws_url + DEV.format(v="v1beta") + "?key=k") as ws:
        await _setup_complete(ws, setup)
        await ws.send(
            json.dumps(
                {
                    "client_content": {
                        "turns": [{"role": "user", "parts": [{"text": "hi"}]}],
                        "turn_complete": True,
                    }
                }
            )
        )
        text = ""
        while True:
            message = json.loads(await ws.recv())
            for part in message.get("serverContent", {}).get("modelTurn", {}).get("parts", []):
                text += part["text"]
            if message.get("serverContent", {}).get("turnComplete"):
                break
        update = json.loads(await ws.recv())  # the first handle follows the first turn
        assert update["sessionResumptionUpdate"]["resumable"] is True
    assert text == "You said: hi. (turn 1, remembers 1)"


@pytest.mark.parametrize(
    ("frame", "needle"),
    [
        ("not json", "Invalid JSON payload"),
        ('{"unknownMessage": {}}', 'Unknown name "unknownMessage"'),
        ('{"clientContent": {"turns": "nope"}}', "client_content.turns"),
        ('{"realtimeInput": {"text": 5}}', "realtime_input.text"),
        (json.dumps(SETUP), "only be sent once"),
    ],
)
async def test_bad_frames_close_1007_and_others_keep_working(
    relive_emulator: Emulator, frame: str, needle: str
) -> None:
    url = relive_emulator.ws_url + DEV.format(v="v1beta") + "?key=k"
    async with websockets.connect(url) as bystander, websockets.connect(url) as ws:
        await _setup_complete(bystander)
        await _setup_complete(ws)
        await ws.send(frame)
        code, reason = await _close_of(ws)
        assert code == 1007 and needle in reason
        await bystander.send(json.dumps({"realtimeInput": {"text": "still there?"}}))
        assert json.loads(await bystander.recv())  # the server keeps serving everyone else


@pytest.mark.relive_emulator(tls=False, max_frame_bytes=1000)
async def test_oversize_frame_closes_1007(relive_emulator: Emulator) -> None:
    async with websockets.connect(relive_emulator.ws_url + DEV.format(v="v1beta") + "?key=k") as ws:
        await _setup_complete(ws)
        await ws.send(json.dumps({"realtimeInput": {"text": "x" * 2000}}))
        code, reason = await _close_of(ws)
    assert code == 1007 and "size exceeds the limit: 1000 bytes" in reason


def test_python_client_needs_tls() -> None:
    with pytest.raises(RuntimeError, match="wss"):
        Emulator(tls=False).client()


async def test_an_internal_error_closes_1011_and_spares_the_rest(
    relive_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from relive.emulator._connection import LiveConnection

    original = LiveConnection._on_context_update

    def broken(self: LiveConnection, body: dict[str, Any]) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(LiveConnection, "_on_context_update", broken)
    url = relive_emulator.ws_url + DEV.format(v="v1beta") + "?key=k"
    async with websockets.connect(url) as bystander, websockets.connect(url) as ws:
        await _setup_complete(bystander)
        await _setup_complete(ws)
        await ws.send(json.dumps({"contextUpdate": {}}))
        assert await _close_of(ws) == (1011, "Internal error encountered.")
        monkeypatch.setattr(LiveConnection, "_on_context_update", original)
        await bystander.send(json.dumps({"realtimeInput": {"text": "fine?"}}))
        assert json.loads(await bystander.recv())


async def test_a_ping_is_answered_after_the_frames_before_it_are_taken_in(
    relive_emulator: Emulator,
) -> None:
    """The pong comes behind what the server sent for the frames before the ping: here 3.1's
    handle for the first audio chunk (websockets alone would answer while parsing the ping)."""
    setup = {
        "setup": {
            "model": "models/gemini-3.1-flash-live-preview",
            "generation_config": {"response_modalities": ["AUDIO"]},
        }
    }
    chunk = {"realtimeInput": {"audio": {"data": "AAAA", "mimeType": "audio/pcm;rate=16000"}}}
    order: list[str] = []
    async with websockets.connect(relive_emulator.ws_url + DEV.format(v="v1beta") + "?key=k") as ws:
        await _setup_complete(ws, setup)
        await ws.send(json.dumps(chunk))
        pong = asyncio.ensure_future(await ws.ping())  # the future websockets made
        pong.add_done_callback(lambda _: order.append("pong"))  # in the order frames arrived
        order.append(next(iter(json.loads(await ws.recv()))))
        await pong
    assert order == ["sessionResumptionUpdate", "pong"]
