"""Fuzzing the page protocol: random frames (well-formed around random values, broken JSON,
lone surrogates, near-miss page ids, sizes) into the parser, and a random stream over a real
socket. Every frame gets a message or a `ProtocolError`, never another exception; the socket
never dies without a close frame."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import secrets
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed

from relive.web import Limits
from relive.web import _incoming as incoming
from relive.web import _protocol as protocol
from tests.fuzzing import FUZZ, dumps, json_values, with_lone_surrogate
from tests.web.conftest import Stack
from tests.web.test_socket import TIMEOUT, hello, open_page

pytestmark = pytest.mark.fuzz

NAMES = ["type", "page", "secret", "mode", "text", "muted", "fault", "hello", "start", "mute"]
TYPES = ["hello", "start", "text", "mute", "hangup", "fault", "history", "nope", "", None, 5]
LIMITS = Limits()
CODES = {"bad_request", "too_large"}


# Strategies are built once: building one per draw costs hypothesis more than the test.
OBJECTS = st.dictionaries(st.sampled_from(NAMES), json_values(NAMES, 6))
KINDS = st.sampled_from(TYPES)
PAGE = "0123456789abcdef" * 2
PAGES = st.sampled_from([PAGE, PAGE + "\n", PAGE.upper(), PAGE[:31], " " + PAGE, PAGE * 2 + "0"])
HOW = st.integers(0, 5)
WHERE = st.integers(0, 200)
TEXT = st.text(max_size=50)
PIECE = st.text(max_size=5)
SIZE = st.integers(1990, 2010)  # around the 2000-character limit


@st.composite
def frames(draw: st.DrawFn) -> str:
    obj: dict[str, Any] = draw(OBJECTS)
    obj["type"] = draw(KINDS)
    if draw(st.booleans()):
        obj["page"] = draw(PAGES)
    frame = dumps(obj)
    how = draw(HOW)
    if how == 0:
        return with_lone_surrogate(frame, draw(WHERE))
    if how == 1:
        return draw(TEXT)
    if how == 2:
        return dumps({"type": "text", "text": draw(PIECE) * draw(SIZE)})
    return frame


def check_parser(raw: str) -> None:
    """The parser's property (also driven by tests/fuzz_atheris.py)."""
    try:
        message = incoming.parse(raw, LIMITS)
    except protocol.ProtocolError as exc:
        assert exc.code in CODES and exc.message
        json.dumps(exc.to_json())
        return
    if isinstance(message, incoming.Hello):
        assert incoming.PAGE_ID.fullmatch(message.page)
        assert message.secret is None or isinstance(message.secret.encode(), bytes)  # Unicode
    elif isinstance(message, incoming.Text):
        assert 0 < len(message.text) <= LIMITS.max_text_chars
        message.text.encode()  # proper Unicode: it can be sent on


@FUZZ
@given(raw=frames())
def test_the_parser_answers_every_frame(raw: str) -> None:
    check_parser(raw)


async def test_a_random_stream_never_kills_the_socket(stack: Stack) -> None:
    """Hundreds of random frames on one real socket: each is answered or refused, and the way
    out is a close frame the page understands (1008 after too many refusals), never a drop."""
    rng = random.Random(14)
    pieces = ['{"type": "text", "text": "hi"}', '{"type": "mute", "muted": true}', "{", "[]", "5",
              '{"type": "text", "text": "\\ud800"}', '{"type": "start", "mode": "call"}',
              '{"type": "hangup"}', '{"type": "hello", "page": "00"}', '{"type": 7}']  # fmt: skip
    ws = await open_page(stack)
    await hello(ws, secrets.token_hex(16))
    with contextlib.suppress(ConnectionClosed):
        for _ in range(300):
            if rng.random() < 0.2:
                await ws.send(bytes(rng.randrange(256) for _ in range(rng.choice([1, 2, 640]))))
            else:
                await ws.send(rng.choice(pieces))
    last: Any = None
    async with asyncio.timeout(TIMEOUT):
        with contextlib.suppress(ConnectionClosed):
            while True:
                frame = await ws.recv()
                last = json.loads(frame) if isinstance(frame, str) else last
    assert ws.close_code == 1008, ws.close_code
    assert last is not None and last["type"] == "error"  # the refusal came before the close
