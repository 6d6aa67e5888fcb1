"""Numbered inputs (a crash loses no input): the page numbers chat messages and call audio, the
backend acks what a stored handle covers, says what it has in the welcome, and drops an input it
already has, so a page that sends again after a reconnect doubles nothing."""

from __future__ import annotations

import json
import math
import re
import secrets
import struct
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection

from relive.web._incoming import AudioSeq, Mute, Text, parse
from relive.web._limits import Limits
from relive.web._protocol import ProtocolError
from tests.web.conftest import Stack
from tests.web.test_socket import hello, next_json, open_page

APP_JS = Path(__file__).parents[2] / "relive" / "web" / "static" / "app.js"


def test_inputs_carry_their_numbers() -> None:
    limits = Limits()
    assert parse('{"type": "text", "text": " hi ", "seq": 7}', limits) == Text("hi", 7)
    assert parse('{"type": "text", "text": "hi"}', limits) == Text("hi", None)
    again = parse('{"type": "text", "text": "hi", "seq": 7, "again": true}', limits)
    assert again == Text("hi", 7, again=True)
    with pytest.raises(ProtocolError, match="again must be true or false"):
        parse('{"type": "text", "text": "hi", "seq": 7, "again": 1}', limits)
    assert parse('{"type": "audio", "seq": 1}', limits) == AudioSeq(1)
    for bad in ('"7"', "0", "-1", "1.5", "true", str(2**53), "null"):
        with pytest.raises(ProtocolError, match="seq must be an integer") as info:
            parse(f'{{"type": "audio", "seq": {bad}}}', limits)
        assert info.value.code == "bad_request"
    with pytest.raises(ProtocolError, match="seq must be"):
        parse('{"type": "text", "text": "hi", "seq": "1"}', limits)


async def answered(ws: ClientConnection, turn: int) -> list[str]:
    """The model turns once the model answered turn `turn`, and the `covered` acks meanwhile."""
    covered: list[str] = []
    while True:
        frame = await next_any(ws)
        if frame["type"] == "covered":
            covered.append(f"{frame['mode']}:{frame['seq']}")
        said = [t["text"] for t in frame.get("recent", []) if t["role"] == "model" and t["final"]]
        if frame["type"] == "transcript" and said and f"(turn {turn}," in said[-1]:
            return covered


async def next_any(ws: ClientConnection) -> dict[str, Any]:
    while True:
        frame = await ws.recv()
        if isinstance(frame, str):
            msg: dict[str, Any] = json.loads(frame)
            return msg


async def test_a_chat_message_sent_again_is_taken_once(stack: Stack) -> None:
    page = secrets.token_hex(16)
    ws = await open_page(stack)
    welcome = await hello(ws, page)
    assert welcome["received"] == {"call": 0, "text": 0}
    await ws.send(json.dumps({"type": "text", "text": "alpha", "seq": 1}))
    acks = await answered(ws, 1)
    # Answered (and the handle after it holds it): the backend says so (memory: at once).
    if not acks:
        acks.append(f"text:{(await next_json(ws, 'covered'))['seq']}")
    assert acks == ["text:1"]
    await ws.send(json.dumps({"type": "text", "text": "beta", "seq": 2}))
    await ws.close()
    # Back on a new socket: the backend has both; the page sends both again, nothing doubles.
    again = await open_page(stack)
    welcome = await hello(again, page, welcome["secret"])
    assert welcome["received"] == {"call": 0, "text": 2}
    for seq, text in ((1, "alpha"), (2, "beta"), (3, "gamma")):
        await again.send(json.dumps({"type": "text", "text": text, "seq": seq}))
    await answered(again, 3)  # gamma is turn 3: alpha and beta were each taken once
    await again.close()
    users = [  # the session's state as of its last turn
        m.text for m in stack.emulator._registry._sessions["s-1"].latest.turns if m.role == "user"
    ]
    assert users == ["alpha", "beta", "gamma"]


def voiced(seconds: float) -> bytes:
    """16 kHz PCM16: a tone the emulator's VAD hears as speech."""
    n = int(16000 * seconds)
    return b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * 220 * i / 16000))) for i in range(n)
    )


async def test_call_audio_is_numbered_acked_and_deduplicated(stack: Stack) -> None:
    page = secrets.token_hex(16)
    ws = await open_page(stack)
    welcome = await hello(ws, page)
    await ws.send(json.dumps({"type": "start", "mode": "call"}))
    await next_json(ws, "status")
    speech, silence = voiced(0.6), bytes(2 * 16000)  # then 1 s of silence ends the utterance
    chunks = [c[i : i + 1280] for c in (speech, silence) for i in range(0, len(c), 1280)]
    await ws.send(json.dumps({"type": "audio", "seq": 1}))
    for chunk in chunks:
        await ws.send(chunk)
    acks = await answered(ws, 1)  # covered once the answer came (and its handle was kept)
    while not acks or int(acks[-1].split(":")[1]) < 10:
        acks.append(f"call:{(await next_json(ws, 'covered'))['seq']}")
    assert all(a.startswith("call:") for a in acks)
    await ws.close()
    again = await open_page(stack)
    welcome = await hello(again, page, welcome["secret"])
    assert welcome["received"]["call"] == len(chunks)
    await again.send(json.dumps({"type": "audio", "seq": 1}))
    for chunk in chunks:  # every chunk again: all dropped, the model hears nothing new
        await again.send(chunk)
    await again.send(json.dumps({"type": "hangup"}))
    await next_json(again, "status")
    await again.close()
    await stack.emulator.wait_for(lambda s: s.open_connections == 0)
    [session] = stack.emulator._registry._sessions.values()
    latest = session.latest
    assert latest.audio_seconds == pytest.approx(len(chunks) * 1280 / 32000)
    assert [t.role for t in latest.turns] == ["user", "model"]


def test_a_mute_carries_its_number() -> None:
    limits = Limits()
    assert parse('{"type": "mute", "muted": true, "seq": 9}', limits) == Mute(True, 9)
    assert parse('{"type": "mute", "muted": false}', limits) == Mute(False, None)
    with pytest.raises(ProtocolError, match="seq must be"):
        parse('{"type": "mute", "muted": true, "seq": 0}', limits)


async def test_a_mute_is_numbered_with_the_audio_and_taken_once(stack: Stack) -> None:
    """A mute ends the user's turn (`audioStreamEnd`): numbered in the audio's series, so the
    page keeps it until covered (a move cannot lose it) and a replica drops it sent again (nor
    double it)."""
    page = secrets.token_hex(16)
    ws = await open_page(stack)
    welcome = await hello(ws, page)
    await ws.send(json.dumps({"type": "start", "mode": "call"}))
    await next_json(ws, "status")
    speech = voiced(0.6)
    chunks = [speech[i : i + 1280] for i in range(0, len(speech), 1280)]
    await ws.send(json.dumps({"type": "audio", "seq": 1}))
    for chunk in chunks:
        await ws.send(chunk)
    mute = {"type": "mute", "muted": True, "seq": len(chunks) + 1}
    await ws.send(json.dumps(mute))
    await answered(ws, 1)  # the mute ended the utterance: the model answered it
    await ws.close()
    again = await open_page(stack)
    welcome = await hello(again, page, welcome["secret"])
    assert welcome["received"]["call"] == len(chunks) + 1  # the mute is among what it has
    entry = stack.backend._registry.get(page)
    assert entry is not None and entry.state.call() is not None
    session = entry.state.sessions["call"].session
    assert session is not None
    before = session.input_index
    await again.send(json.dumps({"type": "audio", "seq": 1}))
    for chunk in chunks:  # all of it again, the mute too: nothing reaches the session
        await again.send(chunk)
    await again.send(json.dumps(mute))
    await again.send(json.dumps({"type": "history", "mode": "call"}))
    await next_json(again, "history")  # (handled in order: everything before it was too)
    assert session.input_index == before
    await again.close()


async def test_a_page_sends_every_kept_chat_message_again_at_once(stack: Stack) -> None:
    """After a move the page sends again what it keeps, up to 50 chat messages (app.js's
    bound) at once: the socket's message rate limit lets them all through."""
    bounds = re.search(r"KEEP = \{ call: \d+, text: (\d+) \}", APP_JS.read_text())
    assert bounds is not None
    keep_text = int(bounds[1])
    page = secrets.token_hex(16)
    ws = await open_page(stack)
    await hello(ws, page)
    await ws.send(json.dumps({"type": "start", "mode": "call"}))
    for seq in range(1, keep_text + 1):
        await ws.send(json.dumps({"type": "text", "text": f"kept {seq}", "seq": seq}))
    await ws.send(json.dumps({"type": "history", "mode": "text"}))
    errors = []
    while (msg := await next_any(ws))["type"] != "history":
        if msg["type"] == "error":
            errors.append(msg["code"])
    assert errors == []
    assert sum(1 for t in msg["turns"] if t["role"] == "user") == keep_text
    await ws.close()
