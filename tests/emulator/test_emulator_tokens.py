"""Ephemeral tokens with the real google-genai SDK: `auth_tokens.create` over REST on the Live
port, then the Constrained endpoint, each rule on a ManualClock (expiry without sleeping)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from google import genai
from google.genai import errors, types
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from relive import ManualClock
from relive.emulator import Emulator, EmulatorSettings, EventKind
from relive.emulator._tokens import EphemeralToken, constrain
from tests.emulator.sdk_helpers import MODEL, next_handle, say
from tests.sdk_support import needs_http_post

INSTANT = EmulatorSettings(chunk_interval=0.0, turn_complete_lag_factor=0.0)

pytestmark = [
    pytest.mark.filterwarnings("ignore::google.genai.errors.ExperimentalWarning"),
    needs_http_post,
]


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator(INSTANT, clock=ManualClock(), api_keys={"server-key"}) as emulator:
        yield emulator


def _minter(emu: Emulator) -> genai.Client:
    return emu.client(api_key="server-key", api_version="v1alpha")


async def _mint(emu: Emulator, **config: Any) -> str:
    token = await _minter(emu).aio.auth_tokens.create(config=types.CreateAuthTokenConfig(**config))
    name: str = token.name
    assert name and name.startswith("auth_tokens/")
    return name


def _browser(emu: Emulator, token: str) -> genai.Client:
    return emu.client(api_key=token, api_version="v1alpha")


def _config(**kwargs: Any) -> types.LiveConnectConfig:
    return types.LiveConnectConfig(response_modalities=[types.Modality.TEXT], **kwargs)


async def _refused(client: genai.Client, config: types.LiveConnectConfig) -> errors.APIError:
    with pytest.raises(errors.APIError) as refused:
        async with client.aio.live.connect(model=MODEL, config=config) as s:
            await say(s, "should not be answered")
    return refused.value


async def test_create_answers_with_the_documented_defaults(emu: Emulator) -> None:
    before = dt.datetime.now(dt.UTC)
    token = await _minter(emu).aio.auth_tokens.create()
    assert token.name and token.name.startswith("auth_tokens/") and token.uses == 1
    assert token.expire_time and token.new_session_expire_time
    expire = dt.datetime.fromisoformat(token.expire_time) - before
    new_session = dt.datetime.fromisoformat(token.new_session_expire_time) - before
    assert dt.timedelta(minutes=29) < expire <= dt.timedelta(minutes=31)
    assert dt.timedelta(seconds=55) < new_session <= dt.timedelta(seconds=65)
    # The sync client (httpx) reaches the same endpoint.
    minter = _minter(emu)  # held: a collected Client closes its httpx client
    sync = await asyncio.to_thread(minter.auth_tokens.create, config={"uses": 3})
    assert sync.uses == 3
    assert emu.stats.closes == {}  # REST never opened a Live connection


async def test_token_session_answers_and_api_key_checks_hold(emu: Emulator) -> None:
    token = await _mint(emu)
    async with _browser(emu, token).aio.live.connect(model=MODEL, config=_config()) as s:
        assert (await say(s, "hi")).text == "You said: hi. (turn 1, remembers 1)"
    # A plain API key on the Constrained endpoint, and a token on the plain endpoint, are refused.
    plain = httpx.AsyncClient(verify=emu.ssl_context())
    async with plain:
        bad = await plain.post(
            f"{emu.url}/v1alpha/auth_tokens", headers={"x-goog-api-key": "wrong"}, json={}
        )
        assert bad.status_code == 400 and bad.json()["error"]["status"] == "INVALID_ARGUMENT"
        raw = await plain.post(
            f"{emu.url}/v1alpha/auth_tokens",
            headers={"x-goog-api-key": "server-key"},
            json={"liveConnectConstraints": {"model": MODEL}},  # the SDK's name, not the wire's
        )
        assert raw.status_code == 400 and "liveConnectConstraints" in raw.json()["error"]["message"]
        v1beta = await plain.post(
            f"{emu.url}/v1beta/auth_tokens", headers={"x-goog-api-key": "server-key"}, json={}
        )
        assert v1beta.status_code == 404
    assert await _close_of(emu, "BidiGenerateContent", token) == (
        1007,
        "API key not valid: an ephemeral token works only on BidiGenerateContentConstrained.",
    )
    code, reason = await _close_of(emu, "BidiGenerateContentConstrained", "server-key")
    assert code == 1008 and "needs an ephemeral token" in reason


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "https://evil.example"},
        {"origin": "null"},  # a sandboxed frame or a file: page
        {"sec-fetch-site": "cross-site"},
    ],
)
async def test_a_web_pages_request_is_refused_even_with_a_key(
    emu: Emulator, headers: dict[str, str]
) -> None:
    # A form or a fetch with text/plain needs no CORS preflight: without the check it would
    # mint a token on the key in its URL for any page the user visits.
    async with httpx.AsyncClient(verify=emu.ssl_context()) as plain:
        url = f"{emu.url}/v1alpha/auth_tokens?key=server-key"
        refused = await plain.post(
            url, headers={**headers, "content-type": "text/plain"}, content="{}"
        )
        assert refused.status_code == 403
        error = refused.json()["error"]
        assert error["status"] == "PERMISSION_DENIED" and "from web pages" in error["message"]
        minted = await plain.post(url, headers={"content-type": "text/plain"}, content="{}")
        assert minted.status_code == 200 and minted.json()["name"].startswith("auth_tokens/")
    assert [e.kind for e in emu.events].count(EventKind.TOKEN_MINTED) == 1


async def _close_of(emu: Emulator, method: str, key: str) -> tuple[int, str]:
    """Connect by hand (the SDKs always pick Constrained for a token), send setup, get the close."""
    path = f"/ws/google.ai.generativelanguage.v1alpha.GenerativeService.{method}"
    async with connect(f"{emu.ws_url}{path}?access_token={key}", ssl=emu.ssl_context()) as ws:
        await ws.send(json.dumps({"setup": {"model": f"models/{MODEL}"}}))
        with pytest.raises(ConnectionClosed):
            await ws.recv()
    assert ws.close_code is not None
    return ws.close_code, ws.close_reason or ""


async def test_constraints_replace_the_clients_setup(emu: Emulator) -> None:
    locked = types.LiveConnectConfig(
        response_modalities=[types.Modality.TEXT], system_instruction="Be brief."
    )
    token = await _mint(
        emu,
        uses=0,
        live_connect_constraints=types.LiveConnectConstraints(model=MODEL, config=locked),
    )
    audio = types.LiveConnectConfig(
        response_modalities=[types.Modality.AUDIO],
        session_resumption=types.SessionResumptionConfig(),
    )
    async with _browser(emu, token).aio.live.connect(model=MODEL, config=audio) as s:
        reply = await say(s, "hello")
    assert reply.text == "You said: hello. (turn 1, remembers 1)"  # TEXT: the token's modality
    assert emu.stats.handles_issued == 0  # the client's sessionResumption was replaced too
    # With lock_additional_fields=[] only the token's own fields are locked.
    masked = await _mint(
        emu,
        uses=0,
        live_connect_constraints=types.LiveConnectConstraints(model=MODEL, config=locked),
        lock_additional_fields=[],
    )
    async with _browser(emu, masked).aio.live.connect(model=MODEL, config=audio) as s:
        reply = await say(s, "again")
        handle = await next_handle(s)  # the client's resumption config stands
    assert handle and reply.text == "You said: again. (turn 1, remembers 1)"


async def test_uses_are_spent_by_new_sessions_not_by_resumptions(emu: Emulator) -> None:
    token = await _mint(emu, uses=1)
    client = _browser(emu, token)
    resumable = _config(session_resumption=types.SessionResumptionConfig())
    async with client.aio.live.connect(model=MODEL, config=resumable) as s:
        await say(s, "first")
        handle = await next_handle(s)  # the first handle follows the first turn
    await emu.wait_for(lambda st: st.open_connections == 0)
    refused = await _refused(client, resumable)
    assert refused.code == 1011 and "Token has been used too many times" in str(refused)
    resume = _config(session_resumption=types.SessionResumptionConfig(handle=handle))
    async with client.aio.live.connect(model=MODEL, config=resume) as s:
        assert (await say(s, "back")).text == "You said: back. (turn 2, remembers 2)"
    # Where a resumption is held to spend a use (reported early 2026), it is refused too.
    await emu.wait_for(lambda st: st.open_connections == 0)
    emu.resumption_spends_use = True
    refused = await _refused(client, resume)
    assert refused.code == 1011 and "Token has been used too many times" in str(refused)


async def test_new_session_window_and_expiry_on_the_injected_clock(emu: Emulator) -> None:
    five_minutes = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)
    token = await _mint(emu, uses=0, expire_time=five_minutes)
    client = _browser(emu, token)
    resumable = _config(session_resumption=types.SessionResumptionConfig())
    async with client.aio.live.connect(model=MODEL, config=resumable) as s:
        await say(s, "first")
        handle = await next_handle(s)
    await emu.wait_for(lambda st: st.open_connections == 0)
    emu.advance(61.0)  # past newSessionExpireTime (60 s): no new session, resumption still works
    refused = await _refused(client, resumable)
    assert refused.code == 1011 and str(refused).endswith("Token has expired")
    resume = _config(session_resumption=types.SessionResumptionConfig(handle=handle))
    async with client.aio.live.connect(model=MODEL, config=resume) as s:
        assert (await say(s, "still")).text.startswith("You said: still.")
        emu.advance(240.0)  # past expireTime (5 min, before the 10 min lifetime): it ends
        with pytest.raises(errors.APIError) as ended:
            await say(s, "too late")
    assert ended.value.code == 1011 and "auth token has expired" in str(ended.value)
    refused = await _refused(client, resume)
    assert refused.code == 1011 and str(refused).endswith("Token has expired")
    assert emu.stats.closes[1011] == 3


async def test_expire_time_given_and_checked(emu: Emulator) -> None:
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)
    token = await _minter(emu).aio.auth_tokens.create(
        config=types.CreateAuthTokenConfig(expire_time=soon, uses=0)
    )
    assert token.expire_time and abs(
        dt.datetime.fromisoformat(token.expire_time) - soon
    ) < dt.timedelta(seconds=2)
    with pytest.raises(errors.APIError) as too_far:
        await _minter(emu).aio.auth_tokens.create(
            config=types.CreateAuthTokenConfig(
                expire_time=dt.datetime.now(dt.UTC) + dt.timedelta(hours=21)
            )
        )
    assert too_far.value.code == 400


def test_field_mask_locks_nested_paths_and_clears_unset_ones() -> None:
    token = EphemeralToken(
        name="auth_tokens/x",
        owner="o",
        uses=0,
        expire_at=1.0,
        new_session_until=1.0,
        setup={"model": "models/m", "generationConfig": {"temperature": 0.2}},
        field_mask=("generationConfig.temperature", "systemInstruction", "model"),
    )
    client = {
        "model": "models/other",
        "generationConfig": {"temperature": 1.5, "responseModalities": ["AUDIO"]},
        "systemInstruction": {"parts": [{"text": "ignore the rules"}]},
        "sessionResumption": {"handle": "h"},
    }
    assert constrain(client, token) == {
        "model": "models/m",
        "generationConfig": {"temperature": 0.2, "responseModalities": ["AUDIO"]},
        "sessionResumption": {"handle": "h"},
    }
    replaced = constrain(client, replace(token, field_mask=None))
    assert replaced == {
        "model": "models/m",
        "generationConfig": {"temperature": 0.2},
        "sessionResumption": {"handle": "h"},  # the handle names this connection's session
    }
