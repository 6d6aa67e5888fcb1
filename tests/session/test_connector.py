"""The lean connect sends exactly what the SDK's connect sends, and falls back where it cannot.

A recording `wss://` server on 127.0.0.1 keeps each connection's request path, headers and
first frame, byte for byte, and answers `setupComplete`; the SDK's own
`client.aio.live.connect()` and `_connector`'s connect are held to the same bytes for every
case the lean path takes (an API key or an ephemeral token, a fresh setup or a resuming one,
a config with instructions, tools and speech). The suite runs on the oldest supported SDK too
(`make test-sdk-oldest`). Then against the emulator: sessions reconnect through it, and a
missing SDK internal sends them through the SDK's connect instead.
"""

from __future__ import annotations

import contextlib
import json
import ssl
import warnings
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import trustme
from google import genai
from google.genai import types
from websockets.asyncio.server import ServerConnection, serve

import relive as rs
from relive.emulator import Emulator
from relive.session import _config as session_config
from relive.session import _connector as connector
from tests.session.helpers import MODEL, WEATHER_TOOLS, Chat

TEXT = types.LiveConnectConfig(response_modalities=[types.Modality.TEXT])
SETUP_COMPLETE = b'{"setupComplete": {"sessionId": "s-1"}}'


@dataclass
class Seen:
    path: str
    headers: list[tuple[str, str]]
    setup: bytes | str


@dataclass
class Recorder:
    """A wss:// server that records each connection and answers its setup."""

    port: int = 0
    ca: trustme.CA = field(default_factory=trustme.CA)
    seen: list[Seen] = field(default_factory=list)

    async def handler(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        setup = await ws.recv(decode=False)
        headers = [(k.lower(), v) for k, v in ws.request.headers.raw_items()]
        self.seen.append(Seen(ws.request.path, headers, setup))
        await ws.send(SETUP_COMPLETE)
        with contextlib.suppress(Exception):
            await ws.wait_closed()

    def client(self, api_key: str = "test-key", version: str = "v1beta") -> genai.Client:
        ctx = ssl.create_default_context()
        self.ca.configure_trust(ctx)
        options = types.HttpOptions(
            base_url=f"https://127.0.0.1:{self.port}",
            api_version=version,
            async_client_args={"ssl": ctx},
        )
        return genai.Client(api_key=api_key, http_options=options)


@pytest.fixture
async def recorder() -> AsyncIterator[Recorder]:
    rec = Recorder()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    rec.ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    async with serve(rec.handler, "127.0.0.1", 0, ssl=server_ctx, compression=None) as server:
        rec.port = server.sockets[0].getsockname()[1]
        yield rec


def _config() -> types.LiveConnectConfig:
    cfg = types.LiveConnectConfig(
        response_modalities=[types.Modality.AUDIO],
        system_instruction='Be brief. Ünïcode \u2028 and "quotes".',
        tools=WEATHER_TOOLS,
        speech_config=types.SpeechConfig(
            voice_config=types.VoiceConfig(
                prebuilt_voice_config=types.PrebuiltVoiceConfig(voice_name="Puck")
            )
        ),
        input_audio_transcription=types.AudioTranscriptionConfig(),
        temperature=0.5,
    )
    return session_config.prepare(cfg, policy=rs.Policy(), mode="call")


def _spy_on_sdk_connect(client: genai.Client) -> list[Any]:
    """The arguments of every `client.aio.live.connect()` call from now on."""
    spied: list[Any] = []
    real_connect = client.aio.live.connect

    def spy(**kwargs: Any) -> Any:
        spied.append(kwargs)
        return real_connect(**kwargs)

    client.aio.live.connect = spy  # type: ignore[method-assign]
    return spied


def _without_key(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(k, v) for k, v in headers if k != "sec-websocket-key"]


CASES = [
    pytest.param("test-key", "v1beta", None, id="api-key-fresh"),
    pytest.param("test-key", "v1beta", "handle-\u00e9-1", id="api-key-resume"),
    pytest.param("auth_tokens/abc", "v1alpha", None, id="ephemeral-fresh"),
    pytest.param("auth_tokens/abc", "v1alpha", "h2", id="ephemeral-resume"),
]


@pytest.mark.parametrize(("key", "version", "handle"), CASES)
async def test_lean_connect_sends_what_the_sdk_sends(
    recorder: Recorder, key: str, version: str, handle: str | None
) -> None:
    client = recorder.client(key, version)
    cfg = _config()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the SDK's ExperimentalWarning for tokens
        async with client.aio.live.connect(
            model=MODEL, config=session_config.with_handle(cfg, handle)
        ) as sdk_session:
            pass
        plan = await connector.plan(client, MODEL, cfg)
    assert plan is not None
    cm = plan.open_socket()
    ws = await cm.__aenter__()
    lean_session = await plan.setup(ws, handle)
    await cm.__aexit__(None, None, None)

    by_sdk, lean = recorder.seen
    assert lean.setup == by_sdk.setup  # byte for byte
    assert lean.path == by_sdk.path
    assert _without_key(lean.headers) == _without_key(by_sdk.headers)
    assert lean_session.setup_complete == sdk_session.setup_complete
    assert lean_session.session_id == sdk_session.session_id == "s-1"
    assert type(lean_session) is type(sdk_session)


def test_setup_reply_parses_like_the_sdk() -> None:
    for raw in (SETUP_COMPLETE, b'{"setupComplete": {}}', b'{"setup_complete": {}}', b"{}"):
        expected = types.LiveServerMessage._from_response(response=json.loads(raw), kwargs={})
        assert connector.setup_reply(raw) == expected
    with pytest.raises(ValueError, match="Failed to parse"):
        connector.setup_reply(b"not json")


async def test_what_the_lean_connect_does_not_take(recorder: Recorder) -> None:
    cfg = _config()
    vertex = genai.Client(vertexai=True, project="p", location="us-central1")
    assert await connector.plan(vertex, MODEL, cfg) is None
    per_connection = cfg.model_copy(update={"http_options": types.HttpOptions(timeout=5)})
    assert await connector.plan(recorder.client(), MODEL, per_connection) is None

    def local_tool(city: str) -> str:  # a callable tool: the SDK's business
        return city

    callable_tools = cfg.model_copy(update={"tools": [local_tool]})
    assert await connector.plan(recorder.client(), MODEL, callable_tools) is None
    assert await connector.plan(recorder.client(), MODEL, cfg) is not None


async def test_the_proxy_is_resolved_once_as_websockets_would(
    recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not connector._TAKES_PROXY:
        pytest.skip("websockets < 15 has no proxy support")
    for name in ("no_proxy", "NO_PROXY", "all_proxy", "ALL_PROXY", "wss_proxy", "WSS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("https_proxy", "http://proxy.invalid:3128")
    plan = await connector.plan(recorder.client(), MODEL, _config())
    assert plan is not None and plan.connect_kwargs["proxy"] == "http://proxy.invalid:3128"
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    plan = await connector.plan(recorder.client(), MODEL, _config())
    assert plan is not None and plan.connect_kwargs["proxy"] is None


async def _through_a_goaway(emu: Emulator, client: genai.Client, *, then_drop: bool) -> Any:
    """A text session answers a turn, resumes after a goAway (and a drop), answers another."""
    async with rs.connect(client, model=MODEL, config=TEXT, mode="text") as session:
        chat = Chat(session)
        assert await chat.ask("one") == (1, 1)
        emu.faults.goaway_now(time_left=5.0)
        await chat.wait(lambda: len(chat.of(rs.Resumed)) == 1)
        if then_drop:
            emu.faults.drop()
            await chat.wait(lambda: len(chat.of(rs.Resumed)) == 2)
        assert await chat.ask("two") == (2, 2)
        await chat.close()
    return session


async def test_sessions_reconnect_through_the_lean_connect(relive_emulator: Emulator) -> None:
    emu = relive_emulator
    client = emu.client()
    spied = _spy_on_sdk_connect(client)
    session = await _through_a_goaway(emu, client, then_drop=True)
    assert spied == []  # every connect was lean
    assert session.metrics.connect_attempts == 3
    assert sum(emu.stats.rejected_handles.values()) == 0


async def test_a_missing_sdk_internal_falls_back_to_the_sdk_connect(
    relive_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(connector, "_to_mldev", None)
    assert not connector.available()
    emu = relive_emulator
    client = emu.client()
    assert await connector.plan(client, MODEL, _config()) is None
    spied = _spy_on_sdk_connect(client)
    await _through_a_goaway(emu, client, then_drop=False)
    assert len(spied) == 2  # the first connect and the resume, both the SDK's


async def test_a_stale_early_socket_is_replaced(
    relive_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(connector, "EARLY_MAX_AGE", -1.0)  # every early socket is too old
    session = await _through_a_goaway(relive_emulator, relive_emulator.client(), then_drop=False)
    assert session.metrics.connect_attempts == 2
