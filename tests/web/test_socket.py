"""The page socket's rules, checked with a plain WebSocket client against the real backend and
the emulator: Origin, hello and secret, limits with clear errors, and no secrets on the wire.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from relive.emulator import Emulator
from relive.web import SessionSettings, WebBackend, WebSettings, create_app, make_opener, serve
from relive.web._bridge import owner_of
from relive.web._limits import Limits
from tests.web.conftest import Stack

TIMEOUT = 5.0


def ws_url(stack: Stack) -> str:
    return stack.url.replace("http://", "ws://") + "/ws"


async def open_page(stack: Stack, origin: str | None = None) -> ClientConnection:
    return await connect(ws_url(stack), origin=origin or stack.url, open_timeout=TIMEOUT)  # type: ignore[arg-type]


async def next_json(ws: ClientConnection, kind: str) -> dict[str, Any]:
    """The next JSON message of `kind` (others are skipped)."""
    async with asyncio.timeout(TIMEOUT):
        while True:
            frame = await ws.recv()
            if isinstance(frame, str):
                msg: dict[str, Any] = json.loads(frame)
                if msg["type"] == kind:
                    return msg


async def hello(ws: ClientConnection, page: str, secret: str | None = None) -> dict[str, Any]:
    await ws.send(json.dumps({"type": "hello", "page": page, "secret": secret}))
    return await next_json(ws, "welcome")


async def closed_with(ws: ClientConnection) -> int | None:
    async with asyncio.timeout(TIMEOUT):
        with pytest.raises(ConnectionClosed):
            while True:
                await ws.recv()
    return ws.close_code


@pytest.mark.parametrize("origin", ["http://evil.example", "null"])
async def test_foreign_origin_is_refused(stack: Stack, origin: str) -> None:
    with pytest.raises(InvalidStatus) as info:
        await open_page(stack, origin=origin)
    assert info.value.response.status_code == 403


async def test_a_page_id_needs_its_secret(stack: Stack) -> None:
    page = secrets.token_hex(16)
    first = await open_page(stack)
    welcome = await hello(first, page)
    assert welcome["fresh"] is True and len(welcome["secret"]) >= 32
    await first.close()
    intruder = await open_page(stack)
    await intruder.send(json.dumps({"type": "hello", "page": page, "secret": "guess"}))
    assert await closed_with(intruder) == 4403
    owner = await open_page(stack)
    again = await hello(owner, page, welcome["secret"])
    assert again["fresh"] is False
    await owner.close()


async def test_first_message_must_be_hello(stack: Stack) -> None:
    ws = await open_page(stack)
    await ws.send(json.dumps({"type": "text", "text": "hi"}))
    assert await closed_with(ws) == 4400


async def test_limits_answer_with_clear_errors(stack: Stack) -> None:
    ws = await open_page(stack)
    await hello(ws, secrets.token_hex(16))
    await ws.send(json.dumps({"type": "text", "text": "x" * 2001}))
    error = await next_json(ws, "error")
    assert error["code"] == "too_large" and "2000 characters" in error["message"]
    await ws.send(b"\0" * 40_000)
    error = await next_json(ws, "error")
    assert error["code"] == "too_large" and "32768 bytes" in error["message"]
    await ws.send(b"\0\0")
    error = await next_json(ws, "error")
    assert error["code"] == "no_call"
    await ws.send("{nope")
    assert (await next_json(ws, "error"))["code"] == "bad_request"
    for _ in range(int(Limits().messages_burst) + 10):  # past the burst
        await ws.send(json.dumps({"type": "mute", "muted": False}))
    error = await next_json(ws, "error")
    assert error["code"] == "rate_limited"
    await ws.close()


async def test_no_handle_or_api_key_reaches_the_page(stack: Stack) -> None:
    page = secrets.token_hex(16)
    ws = await open_page(stack)
    await hello(ws, page)
    frames: list[str] = []
    # Two turns: by the second reply the handle issued after the first turn is surely stored.
    for n, text in enumerate(["hello", "again"], start=1):
        await ws.send(json.dumps({"type": "text", "text": text}))
        async with asyncio.timeout(TIMEOUT):
            while True:
                frame = await ws.recv()
                assert isinstance(frame, str)
                frames.append(frame)
                msg = json.loads(frame)
                models = [t for t in msg.get("recent", []) if t["role"] == "model" and t["final"]]
                if msg["type"] == "transcript" and len(models) == n:
                    break
    handle = stack.handles.get(owner_of(page), "text")
    assert handle, "the text session should hold a resumable handle by now"
    wire = "\n".join(frames)
    assert handle not in wire
    assert "test-key" not in wire
    await ws.close()


async def test_a_page_coming_back_gets_the_condensed_transcript(stack: Stack) -> None:
    backend = WebBackend(stack.backend.opener, WebSettings(keep_recent=2))
    async with serve(create_app(backend)) as url:
        page = secrets.token_hex(16)
        ws = await connect(url.replace("http", "ws") + "/ws", origin=url)  # type: ignore[arg-type]
        welcome = await hello(ws, page)
        for n, text in enumerate(["alpha one", "beta two", "gamma three"], start=1):
            await ws.send(json.dumps({"type": "text", "text": text}))
            while True:
                msg = await next_json(ws, "transcript")
                if f"(turn {n}," in "".join(t["text"] for t in msg["recent"] if t["final"]):
                    break
        await ws.close()
        again = await connect(url.replace("http", "ws") + "/ws", origin=url)  # type: ignore[arg-type]
        await hello(again, page, welcome["secret"])
        snapshot = await next_json(again, "transcript")
        assert [t["text"] for t in snapshot["recent"]] == [
            "gamma three",
            "You said: gamma three. (turn 3, remembers 3)",
        ]
        assert snapshot["folded_turns"] == 4
        assert "alpha one" in snapshot["summary"] and "beta two" in snapshot["summary"]
        # Expanding the fold: every turn the session holds, verbatim and in order.
        await again.send(json.dumps({"type": "history", "mode": "text"}))
        history = await next_json(again, "history")
        assert history["folded_turns"] == 0 and history["summary"] == ""
        users = [t["text"] for t in history["turns"]][::2]
        assert users == ["alpha one", "beta two", "gamma three"]
        assert history["turns"][1]["text"] == "You said: alpha one. (turn 1, remembers 1)"
        await again.close()


async def test_panel_faults_are_refused_when_the_panel_is_off(stack: Stack) -> None:
    backend = WebBackend(stack.backend.opener, WebSettings(), faults=stack.emulator.faults)
    async with serve(create_app(backend)) as url:
        ws = await connect(url.replace("http", "ws") + "/ws", origin=url)  # type: ignore[arg-type]
        welcome = await hello(ws, secrets.token_hex(16))
        assert welcome["panel"] is False and welcome["faults"] == []
        for fault in ("goaway", "drop_page"):
            await ws.send(json.dumps({"type": "fault", "mode": "text", "fault": fault}))
            error = await next_json(ws, "error")
            assert error["code"] == "unavailable" and "panel is off" in error["message"]
        assert stack.emulator.stats.goaways_sent == 0
        await ws.close()


async def test_panel_faults_act_through_the_backend(stack: Stack) -> None:
    ws = await open_page(stack)
    welcome = await hello(ws, secrets.token_hex(16))
    assert welcome["panel"] is True
    assert welcome["faults"] == ["drop_page", "goaway", "drop", "lose_session"]
    assert welcome["model"]["emulator"] is True
    await ws.send(json.dumps({"type": "fault", "mode": "text", "fault": "melt"}))
    assert (await next_json(ws, "error"))["code"] == "bad_request"
    await ws.send(json.dumps({"type": "fault", "mode": "text", "fault": "goaway"}))
    error = await next_json(ws, "error")
    assert error["code"] == "no_session" and error["message"] == "no text session is running"
    await ws.send(json.dumps({"type": "text", "text": "hello"}))
    first = await next_json(ws, "metrics")
    assert first["connections"] == 1 and first["reconnects"] == 0
    await ws.send(json.dumps({"type": "fault", "mode": "text", "fault": "goaway"}))
    while (metrics := await next_json(ws, "metrics"))["last_downtime_ms"] is None:
        pass  # Connected comes first, then Resumed with the downtime
    assert metrics["connections"] == 2 and metrics["reconnects"] == 1
    assert metrics["last_downtime_ms"] >= 0
    assert stack.emulator.stats.goaways_sent == 1
    await ws.send(json.dumps({"type": "fault", "mode": "text", "fault": "drop_page"}))
    assert await closed_with(ws) == 1012


async def test_a_session_that_cannot_start_says_why() -> None:
    async with Emulator(tls=True, api_keys={"the-right-key"}) as emu:
        opener = make_opener(emu.client(api_key="a-wrong-key"), SessionSettings())
        async with serve(create_app(WebBackend(opener))) as url:
            ws = await connect(url.replace("http", "ws") + "/ws", origin=url)  # type: ignore[arg-type]
            await hello(ws, secrets.token_hex(16))
            await ws.send(json.dumps({"type": "text", "text": "hello"}))
            notice = await next_json(ws, "notice")
            assert notice["kind"] == "failed"
            assert notice["text"].startswith("The conversation could not be started:")
            assert "API key not valid" in notice["text"]
            assert "a-wrong-key" not in notice["text"]
            assert (await next_json(ws, "error"))["code"] == "unavailable"
            await ws.close()


async def test_a_reply_cut_is_forwarded_and_its_partial_marked_void(stack: Stack) -> None:
    ws = await open_page(stack)
    await hello(ws, secrets.token_hex(16))
    await ws.send(json.dumps({"type": "text", "text": "one"}))
    while not any(t["final"] for t in (await next_json(ws, "transcript"))["recent"][1:]):
        pass
    stack.emulator.faults.drop_mid_turn()
    await ws.send(json.dumps({"type": "text", "text": "two " * 40}))
    assert await next_json(ws, "reply_cut") == {"type": "reply_cut", "mode": "text"}
    transcript = await next_json(ws, "transcript")
    cut = transcript["recent"][-1]
    assert cut["role"] == "model" and cut["interrupted"] and cut["void"] is True
    assert sum(1 for t in transcript["recent"] if t.get("void")) == 1
    await ws.close()
