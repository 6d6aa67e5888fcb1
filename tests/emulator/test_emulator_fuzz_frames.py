"""Fuzzing the emulator's input side: random frames (both casings, nesting, Unicode, sizes) into
the codec and, decoded or not, into the connection state machine. Whatever arrives, the answer
is a message, or a close with 1007/1008 and a reason that fits a close frame: never an
exception, never 1011 (which only a deadline or a resumption race may give)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from relive.emulator._closes import DEADLINE, HANDLE_IN_USE, MAX_REASON_BYTES
from relive.emulator._codec import (
    _FIELDS,
    _SETUP_FIELDS,
    _TYPES,
    MESSAGE_TYPES,
    ClientMessage,
    ProtocolError,
    decode,
)
from tests.emulator.emulator_harness import FAST, Harness, Service
from tests.fuzzing import FUZZ, dumps, json_values, nested, with_lone_surrogate

pytestmark = pytest.mark.fuzz

NAMES = sorted(
    {
        *MESSAGE_TYPES,
        *_SETUP_FIELDS,
        *(f for fields in _FIELDS.values() for f in fields),
        *(part.removesuffix("[]") for path in _TYPES for part in path.split(".")),
        "role",
        "parts",
        "text",
        "data",
        "mimeType",
        "id",
        "name",
        "response",
        "scheduling",
        "behavior",
    }
)
VALUES = json_values(NAMES, 12)
PCM = base64.b64encode(b"\x00\x40" * 800).decode()
LIMIT = 1 << 20


# Strategies are built once: building one per draw costs hypothesis more than the test.
KINDS = st.sampled_from([*MESSAGE_TYPES, "client_content", "realtime_input", "nope"])
BODIES = st.one_of(VALUES, st.dictionaries(st.sampled_from(NAMES), VALUES, max_size=4))
HOW = st.integers(0, 9)
WHERE = st.integers(0, 400)
DEPTHS = st.sampled_from([50, 99, 100, 101, 500, 999, 5000, 100_000])
TEXT = st.text(max_size=60)
RATES = st.one_of(st.integers(-5, 400_000).map(str), st.text(max_size=8))
SIZES = st.integers(0, 300_000)


@st.composite
def messages(draw: st.DrawFn) -> str:
    """One client frame: mostly well-formed around a random body, sometimes broken outright."""
    frame = dumps({draw(KINDS): draw(BODIES)})
    how = draw(HOW)
    if how == 0:
        return with_lone_surrogate(frame, draw(WHERE))
    if how == 1:
        return '{"realtimeInput": {"text": "x", "audio": ' + nested(draw(DEPTHS)) + "}}"
    if how == 2:
        return draw(TEXT)
    if how == 3:
        mime = f"audio/pcm;rate={draw(RATES)}"
        return dumps({"realtimeInput": {"audio": {"data": PCM, "mimeType": mime}}})
    if how == 4:
        return dumps({"realtimeInput": {"text": " " * draw(SIZES)}})
    return frame


FRAMES = st.one_of(messages(), st.binary(max_size=80).map(lambda b: b"{" + b))


def _check_close(conn: Harness) -> None:
    if conn.closed is None:
        return
    reason = conn.closed.reason
    assert len(reason.encode()) <= MAX_REASON_BYTES
    assert conn.closed.code in (1007, 1008) or reason in (DEADLINE.reason, HANDLE_IN_USE.reason), (
        conn.closed
    )


def check_codec(frame: str | bytes) -> None:
    """The codec's property (also driven by tests/fuzz_atheris.py)."""
    try:
        message = decode(frame, LIMIT)
    except ProtocolError as exc:
        assert exc.close.code == 1007
        assert 0 < len(exc.close.reason.encode()) <= MAX_REASON_BYTES
        return
    assert isinstance(message, ClientMessage) and message.kind in MESSAGE_TYPES
    json.dumps(message.body)  # what was accepted can be written back out


@FUZZ
@given(frame=FRAMES)
def test_the_codec_answers_every_frame(frame: str | bytes) -> None:
    check_codec(frame)


SETUPS = st.fixed_dictionaries(
    {"model": st.just("m")},
    optional={
        "generationConfig": st.sampled_from(
            [{"responseModalities": ["TEXT"]}, {"response_modalities": ["AUDIO"]}]
        ),
        "sessionResumption": st.just({}),
        "contextWindowCompression": st.just({"triggerTokens": 200, "slidingWindow": {}}),
        "outputAudioTranscription": st.just({}),
        "tools": st.just([{"functionDeclarations": [{"name": "get_weather"}, {"name": "f"}]}]),
        "realtimeInputConfig": st.sampled_from(
            [
                {"automaticActivityDetection": {"disabled": True}},
                {"activityHandling": "NO_INTERRUPTION"},
            ]
        ),
    },
)
GOOD = [
    {"realtimeInput": {"text": "hello"}},
    {"realtimeInput": {"text": 'call f with {"a": [1, {"b": 2}]}'}},
    {"realtimeInput": {"text": 'call f with {"a": ' + nested(900) + "}"}},
    {"realtimeInput": {"text": 'call f with {"a": ' + nested(100_000) + "}"}},
    {"realtimeInput": {"text": "weather in Rome"}},
    {"realtimeInput": {"audio": {"data": PCM, "mimeType": "audio/pcm;rate=16000"}}},
    {"realtimeInput": {"activityStart": {}}},
    {"realtimeInput": {"activityEnd": {}}},
    {"realtimeInput": {"audioStreamEnd": True}},
    {"clientContent": {"turns": [{"parts": [{"text": "hi"}]}], "turnComplete": True}},
    {"clientContent": {"turns": [{"role": "model", "parts": [{"text": "x"}]}]}},
    {"toolResponse": {"functionResponses": [{"id": "call-1-1", "response": {"ok": 1}}]}},
    {"contextUpdate": {}},
]
STEPS = st.one_of(
    st.sampled_from(GOOD).map(json.dumps),
    FRAMES,
    st.sampled_from(["advance", "advance-long", "goaway"]),
)


def check_machine(setup: dict[str, Any], steps: list[Any]) -> None:
    """The machine's property (also driven by tests/fuzz_atheris.py)."""
    # Long chunks: a reply is a few steps, so the fuzzer spends its time on input, not pacing.
    service = Service(FAST.replace(connection_lifetime=5.0, goaway_lead=1.0, chunk_words=40))
    conn = service.connect()
    conn.apply(conn.machine.start())
    conn.send({"setup": setup})
    for step in steps:
        if conn.closed is not None or conn.aborted:
            break
        conn.step(step)
        _check_close(conn)
    conn.advance(10.0)
    assert conn.closed is not None  # every connection ends, at its deadline at the latest
    _check_close(conn)


@FUZZ
@given(setup=SETUPS, steps=st.lists(STEPS, max_size=8))
def test_the_machine_survives_every_sequence(setup: dict[str, Any], steps: list[Any]) -> None:
    check_machine(setup, steps)
