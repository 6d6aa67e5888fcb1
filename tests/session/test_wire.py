"""The lean hot path gives exactly what the SDK gives: same client frames, same server messages.

Server frames are recorded from the emulator over a real socket (text, audio with
transcriptions, tool calls and cancellations, goAway, handles, usage), then fed, as recorded and
with every key in snake_case, to both `_wire.parse` and the SDK's own receive path.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import struct
from typing import Any

import pytest
import websockets
from google import genai
from google.genai import errors, types
from google.genai.live import AsyncSession

from relive.emulator import Emulator, EmulatorSettings
from relive.session import _wire as wire

PATH = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent?key=k"
INSTANT = EmulatorSettings(chunk_interval=0.0, turn_complete_lag_factor=0.0)


def _setup(modality: str, **extra: Any) -> str:
    return json.dumps(
        {
            "setup": {
                "model": "models/gemini-live-2.5-flash-preview",
                "generationConfig": {"responseModalities": [modality]},
                "sessionResumption": {},
                **extra,
            }
        }
    )


async def _read_until(ws: Any, frames: list[bytes], key: str) -> None:
    while True:
        frame = await asyncio.wait_for(ws.recv(decode=False), 10)
        frames.append(frame)
        if key.encode() in frame:
            return


def _loud(ms: int) -> str:
    samples = [8000 if i % 2 else -8000 for i in range(16 * ms)]
    return base64.b64encode(struct.pack(f"<{len(samples)}h", *samples)).decode()


async def _record(emu: Emulator) -> list[bytes]:
    frames: list[bytes] = []
    url = emu.ws_url + PATH
    tools = [
        {"functionDeclarations": [{"name": "search"}, {"name": "slow", "behavior": "NON_BLOCKING"}]}
    ]
    async with websockets.connect(url) as ws:
        await ws.send(_setup("TEXT", tools=tools))
        await _read_until(ws, frames, "setupComplete")
        await ws.send(json.dumps({"realtimeInput": {"text": "hello there"}}))
        await _read_until(ws, frames, "turnComplete")
        await ws.send(json.dumps({"realtimeInput": {"text": 'call search with {"q": "otters"}'}}))
        await _read_until(ws, frames, "toolCall")
        call = json.loads(frames[-1])["toolCall"]["functionCalls"][0]
        response = {"id": call["id"], "name": "search", "response": {"hits": 2}}
        await ws.send(json.dumps({"toolResponse": {"functionResponses": [response]}}))
        await _read_until(ws, frames, "turnComplete")
        await ws.send(json.dumps({"realtimeInput": {"text": "call search again"}}))
        await _read_until(ws, frames, "toolCall")
        await ws.send(json.dumps({"realtimeInput": {"text": "never mind"}}))
        await _read_until(ws, frames, "turnComplete")
        emu.faults.goaway_now(5.0)
        await _read_until(ws, frames, "goAway")
    audio_setup: dict[str, Any] = {"inputAudioTranscription": {}, "outputAudioTranscription": {}}
    async with websockets.connect(url) as ws:
        await ws.send(_setup("AUDIO", **audio_setup))
        await _read_until(ws, frames, "setupComplete")
        mime = "audio/pcm;rate=16000"
        await ws.send(
            json.dumps({"realtimeInput": {"audio": {"data": _loud(300), "mimeType": mime}}})
        )
        await ws.send(json.dumps({"realtimeInput": {"audioStreamEnd": True}}))
        await _read_until(ws, frames, "turnComplete")
    return frames


def _snake(value: Any) -> Any:
    if isinstance(value, dict):
        return {re.sub(r"(?<!^)([A-Z])", r"_\1", k).lower(): _snake(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_snake(v) for v in value]
    return value


def _outcome(parse: Any, raw: bytes | str) -> Any:
    try:
        return parse(raw)
    except Exception as exc:
        return (type(exc), str(exc))


HAND_MADE: list[bytes] = [
    b"",
    b"{}",
    b'{"voiceActivity": {"type": "ACTIVITY_START"}}',
    b'{"voiceActivity": {"voiceActivityType": "ACTIVITY_END", "audioOffset": "1s"}}',
    b'{"voiceActivityDetectionSignal": {"vadSignalType": "VAD_SIGNAL_TYPE_SOS"}}',
    b'{"serverContent": {"turnComplete": true, "someNewField": 1}}',
    b'{"serverContent": {"modelTurn": {"parts": [{"text": "a", "thought": true}]}}}',
    b'{"serverContent": {"modelTurn": {"parts": [{"text": "hi"}]}}, "extraTop": {}}',
    b'{"serverContent": {"interrupted": true}}',
    b'{"serverContent": null}',
    b'{"error": {"code": 400, "message": "bad"}}',
    b'{"usageMetadata": {"promptTokenCount": "12", "totalTokenCount": 20}}',
    b'{"sessionResumptionUpdate": {"newHandle": "h", "resumable": true, '
    b'"lastConsumedClientMessageIndex": "7"}}',
    b'{"goAway": {"timeLeft": "50s"}}',
    b"[1, 2]",
    b"not json",
]


async def test_server_frames_parse_exactly_as_the_sdk_parses_them() -> None:
    async with Emulator(INSTANT, tls=False) as emu:
        recorded = await _record(emu)
    kinds = {key for f in recorded for key in json.loads(f)}
    assert kinds >= {
        "setupComplete",
        "serverContent",
        "toolCall",
        "toolCallCancellation",
        "goAway",
        "sessionResumptionUpdate",
        "usageMetadata",
    }, kinds
    assert any(b"inlineData" in f for f in recorded) and any(
        b"Transcription" in f for f in recorded
    )
    snake = [json.dumps(_snake(json.loads(f))).encode() for f in recorded]
    assert snake != recorded
    frames: list[bytes | str] = [*recorded, *snake, *HAND_MADE, *(f.decode() for f in recorded[:3])]
    for raw in frames:
        assert _outcome(wire.parse, raw) == _outcome(wire.parse_like_sdk, raw), raw


async def test_parse_like_sdk_is_the_sdks_own_receive() -> None:
    """Pins the SDK internals `parse_like_sdk` repeats: `AsyncSession._receive` on a socket."""

    class Socket:
        def __init__(self, frames: list[bytes]) -> None:
            self.frames = frames

        async def recv(self, decode: bool | None = None) -> bytes:
            return self.frames.pop(0)

    frames = [*HAND_MADE[1:], *HAND_MADE[1:]]
    client = genai.Client(api_key="k")
    sdk = AsyncSession(api_client=client._api_client, websocket=Socket(list(frames)))  # type: ignore[arg-type]
    for raw in HAND_MADE[1:]:
        assert _outcome(wire.parse_like_sdk, raw) == await _aoutcome(sdk._receive())


async def _aoutcome(awaitable: Any) -> Any:
    try:
        return await awaitable
    except Exception as exc:
        return (type(exc), str(exc))


class _Recorder:
    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(self, message: str) -> None:
        self.sent.append(message)


def _sdk_frame(method: str, kwargs: dict[str, Any]) -> Any:
    recorder = _Recorder()
    client = genai.Client(api_key="k")
    session = AsyncSession(api_client=client._api_client, websocket=recorder)  # type: ignore[arg-type]
    asyncio.run(getattr(session, method)(**kwargs))
    (frame,) = recorder.sent
    return json.loads(frame)


PCM = bytes(range(256)) * 3  # every byte value: both base64 alphabets differ on it
CLIENT_MESSAGES: list[tuple[str, dict[str, Any]]] = [
    ("send_realtime_input", {"audio": types.Blob(data=PCM, mime_type="audio/pcm;rate=16000")}),
    ("send_realtime_input", {"video": types.Blob(data=PCM, mime_type="image/jpeg")}),
    ("send_realtime_input", {"text": 'hello ünïcode \u2028 "quoted"'}),
    ("send_realtime_input", {"audio_stream_end": True}),
    ("send_realtime_input", {"activity_start": types.ActivityStart()}),
    ("send_realtime_input", {"activity_end": {}}),
    (
        "send_client_content",
        {
            "turns": [
                types.Content(role="user", parts=[types.Part(text="hi")]),
                types.Content(role="model", parts=[types.Part(text="hello"), types.Part(text="!")]),
                types.Content(parts=[types.Part(text="no role")]),
            ],
            "turn_complete": True,
        },
    ),
    (
        "send_client_content",
        {
            "turns": [types.Content(role="user", parts=[types.Part(text="part")])],
            "turn_complete": False,
        },
    ),
    (
        "send_tool_response",
        {
            "function_responses": [
                types.FunctionResponse(id="c1", name="search", response={"hits_total": 2}),
                types.FunctionResponse(
                    id="c2",
                    name="slow",
                    response={"x": [1, 2.5, None]},
                    will_continue=True,
                    scheduling=types.FunctionResponseScheduling.SILENT,
                ),
            ]
        },
    ),
]


@pytest.mark.parametrize(("method", "kwargs"), CLIENT_MESSAGES)
def test_client_frames_are_what_the_sdk_sends(method: str, kwargs: dict[str, Any]) -> None:
    built = wire.frame(method, kwargs)
    assert built is not None, "this message should take the lean path"
    assert json.loads(built) == _sdk_frame(method, kwargs)


@pytest.mark.parametrize(
    ("method", "kwargs"),
    [
        ("send_realtime_input", {"audio": types.Blob(data=PCM, mime_type="image/png")}),
        (
            "send_realtime_input",
            {"audio": types.Blob(data=PCM, mime_type="audio/pcm", display_name="x")},
        ),
        ("send_realtime_input", {"media": types.Blob(data=PCM, mime_type="audio/pcm")}),
        (
            "send_client_content",
            {
                "turns": [
                    types.Content(
                        role="user",
                        parts=[types.Part(inline_data=types.Blob(data=PCM, mime_type="image/png"))],
                    )
                ],
                "turn_complete": True,
            },
        ),
        ("send_client_content", {"turns": [], "turn_complete": True}),
    ],
)
def test_other_messages_are_left_to_the_sdk(method: str, kwargs: dict[str, Any]) -> None:
    assert wire.frame(method, kwargs) is None


async def test_the_sdk_session_has_the_socket_the_lean_path_uses() -> None:
    async with Emulator(INSTANT) as emu:
        client = emu.client()
        async with client.aio.live.connect(model="gemini-live-2.5-flash-preview") as session:
            assert wire.supported(session, vertexai=False)
            assert not wire.supported(session, vertexai=True)
            await wire.socket(session).send(wire.realtime_input("text", "hi") or "")
            message = wire.parse(await wire.socket(session).recv(decode=False))
            assert message.server_content is not None


@pytest.mark.parametrize(
    "close",
    [websockets.frames.Close(1011, "Internal error"), websockets.frames.Close(1000, ""), None],
)
async def test_a_closed_socket_is_the_sdks_error(close: websockets.frames.Close | None) -> None:
    class Closed:
        async def recv(self, decode: bool | None = None) -> bytes:
            raise websockets.ConnectionClosed(close, None)

    client = genai.Client(api_key="k")
    sdk = AsyncSession(api_client=client._api_client, websocket=Closed())  # type: ignore[arg-type]
    with pytest.raises(errors.APIError) as raised:
        await sdk._receive()
    ours = wire.closed_error(websockets.ConnectionClosed(close, None))
    assert (type(ours), ours.code, str(ours)) == (
        type(raised.value),
        raised.value.code,
        str(raised.value),
    )
    assert ours.code == (close.code if close else 1006)
