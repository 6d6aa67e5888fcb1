"""The audio chunk's fast path against the full path: the same answer for every frame.

`decode` takes `{"realtimeInput": {"audio": {...}}}` the short way and marks it schema-checked;
`decode_full` applies every rule. Fed the same frames (well-formed chunks in both casings and
every way of spoiling one), both must accept with the same message or refuse with the same close,
and two connections fed one way and the other must say and do the same. The shortcuts inside the
chunk's handling (base64 decoded once by the strict decoder, the mime type's rate parsed once, a
quiet chunk's VAD levels skipped, media time added without `dataclasses.replace`) are held to
what they replace here too.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import copy
import dataclasses
import json
import struct
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from relive.emulator import _vad
from relive.emulator._codec import ClientMessage, ProtocolError, decode, decode_full
from relive.emulator._media import audio_rate, decode_bytes
from relive.emulator._model import Conversation, Turn
from relive.emulator._schema import check_message
from relive.emulator._vad import VoiceDetector
from tests.emulator.emulator_harness import FAST, MODEL, Harness, Service
from tests.fuzzing import FUZZ, with_lone_surrogate

LIMIT = 4096  # small, so the size rule is reachable
PCM_QUIET = bytes(640)
PCM_LOUD = struct.pack("<320h", *([3000, -3000] * 160))

DATA: st.SearchStrategy[Any] = st.one_of(
    st.sampled_from([PCM_QUIET, PCM_LOUD, b"", b"\x01", b"\x00\x7f\xff"]).flatmap(
        lambda pcm: st.sampled_from(
            [
                base64.b64encode(pcm).decode(),
                base64.urlsafe_b64encode(pcm).decode(),
                base64.b64encode(pcm).decode().rstrip("="),
                base64.b64encode(pcm).decode() + "=",
                " " + base64.b64encode(pcm).decode(),
            ]
        )
    ),
    st.text(alphabet="AB+/-_=\n é", max_size=12),
    st.sampled_from([None, 7, True, [], {}, ["AAAA"]]),
)
MIME: st.SearchStrategy[Any] = st.one_of(
    st.sampled_from(
        [
            "audio/pcm;rate=16000",
            "audio/pcm; rate=24000",
            "audio/pcm",
            "audio/pcm;rate=1",
            "audio/pcm;rate=16k",
            "AUDIO/PCM;RATE=8000",
            "audio/pcm;rate=" + "9" * 20,
            "video/jpeg",
            "image/png",
            "",
        ]
    ),
    st.text(max_size=12),
    st.sampled_from([None, 16000, False, {}]),
)
AUDIO_KEYS = st.sampled_from(
    [("data", "mimeType"), ("data", "mime_type"), ("mimeType", "data"), ("data",), ("mimeType",)]
)
EXTRA: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.tuples(
        st.sampled_from(["top", "body", "audio"]),
        st.sampled_from(
            ["text", "activityStart", "audioStreamEnd", "mediaChunks", "nope", "mime_type"]
        ),
        st.sampled_from(["x", {}, True, None, [{"data": "AAAA", "mimeType": "audio/pcm"}]]),
    ),
)


@st.composite
def chunk_frames(draw: st.DrawFn) -> str | bytes:
    """An audio chunk frame, well-formed or spoiled in one of many ways."""
    audio: dict[str, Any] = {}
    data, mime = draw(DATA), draw(MIME)
    for key in draw(AUDIO_KEYS):
        audio[key] = data if key == "data" else mime
    body: dict[str, Any] = {"audio": audio}
    kind = draw(st.sampled_from(["realtimeInput", "realtime_input", "realtimeinput"]))
    frame: dict[str, Any] = {kind: body}
    extra = draw(EXTRA)
    if extra is not None:
        where, key, value = extra
        target = {"top": frame, "body": body, "audio": audio}[where]
        target[key] = value
    text = json.dumps(
        frame, ensure_ascii=draw(st.booleans()), indent=draw(st.sampled_from([None, 1]))
    )
    how = draw(st.integers(0, 9))
    if how == 0:  # an escape where none is needed, or a lone surrogate
        text = text.replace("a", "\\u0061", 1)
    elif how == 1:
        text = with_lone_surrogate(text, draw(st.integers(0, len(text))))
    elif how == 2:  # the same key twice: the last one counts
        text = text[:-1] + ', "' + kind + '": {"text": "x"}}'
    elif how == 3:  # padded past the size limit
        text = text[:-1] + ', "' + kind + '": ' + json.dumps(body) + " " * LIMIT + "}"
    elif how == 4:
        text = text + draw(st.sampled_from(["", " ", "x", "}", "\x00"]))
    elif how == 5:
        return text.encode() + draw(st.sampled_from([b"", b"\xff", b"\xc3"]))
    elif how == 6:
        return text.encode()
    return text


def outcome(decoder: Callable[[str | bytes, int], ClientMessage], frame: str | bytes) -> Any:
    try:
        message = decoder(frame, LIMIT)
    except ProtocolError as exc:
        return ("refused", exc.close.code, exc.close.reason)
    return ("accepted", message.kind, message.body, message.size)


def _chunk(
    audio: Any = None, body: Any = None, top: Any = None, kind: str = "realtimeInput"
) -> str:
    audio = {"data": "AAAA", "mimeType": "audio/pcm;rate=16000"} if audio is None else audio
    return json.dumps({kind: {"audio": audio, **(body or {})}, **(top or {})})


# Every way the fast path's checks can be wrong, one frame each (the property adds random ones).
EDGES: list[str | bytes] = [
    _chunk(),
    _chunk(kind="realtime_input"),
    _chunk({"data": "AAAA", "mime_type": "audio/pcm"}),
    _chunk({"data": "AAAA", "mimeType": "audio/pcm", "mime_type": "audio/pcm"}),
    _chunk({"data": "AAAA", "mimeType": "audio/pcm", "displayName": "x"}),
    _chunk({"data": "AAAA", "nope": "audio/pcm"}),
    _chunk({"data": "AAAA"}),
    _chunk({"data": None, "mimeType": "audio/pcm"}),
    _chunk({"data": "AAAA", "mimeType": None}),
    _chunk({"data": 5, "mimeType": "audio/pcm"}),
    _chunk({"data": "AAAA", "mimeType": ["audio/pcm"]}),
    _chunk({"data": "AAAA", "mimeType": ""}),
    _chunk({"data": "", "mimeType": "audio/pcm"}),
    _chunk({"data": "A!AA", "mimeType": "audio/pcm"}),
    _chunk({"data": "AAAA", "mimeType": "audio/pcm;rate=1"}),
    _chunk(body={"text": "x"}),
    _chunk(body={"activityStart": {}}),
    _chunk(body={"nope": 1}),
    _chunk(body={"text": None}),
    _chunk(top={"setup": {}}),
    _chunk(top={"nope": None}),
    _chunk(kind="realtimeinput"),
    _chunk(kind="clientContent"),
    _chunk().replace("data", "d\\u0061ta"),
    _chunk().replace("pcm", "pcm\\ud800"),
    _chunk()[:-1] + ', "realtimeInput": {"text": "x"}}',
    _chunk()[:-1] + ', "realtimeInput": ' + json.dumps({"audio": {"data": "AAAA" * 1100}}) + "}",
    _chunk() + " x",
    _chunk() + "\x00",
    _chunk().encode(),
    _chunk().encode() + b"\xff",
    _chunk().encode().replace(b"pcm", b"pc\xc3"),
    '["realtimeInput"]',
    "",
]


@pytest.mark.parametrize("frame", EDGES)
def test_the_fast_path_answers_as_the_full_path_at_every_edge(frame: str | bytes) -> None:
    assert outcome(decode, frame) == outcome(decode_full, frame)


@FUZZ
@given(frame=chunk_frames())
def test_the_fast_path_answers_as_the_full_path(frame: str | bytes) -> None:
    assert outcome(decode, frame) == outcome(decode_full, frame)


@FUZZ
@given(frame=chunk_frames())
def test_what_the_fast_path_marks_checked_passes_the_schema(frame: str | bytes) -> None:
    try:
        message = decode(frame, LIMIT)
    except ProtocolError:
        return
    if not message.checked:
        return
    for version, vertex in (("v1beta", False), ("v1alpha", False), ("v1beta1", True)):
        body = copy.deepcopy(message.body)
        check_message(message.kind, body, version, vertex)  # raises if the API would refuse
        assert body == message.body


def test_the_fast_path_takes_the_chunks_the_sdks_send() -> None:
    """The Python SDK sends URL-safe base64 with `mimeType`; raw clients often snake_case."""
    for frame in (
        json.dumps(
            {
                "realtimeInput": {
                    "audio": {
                        "data": base64.urlsafe_b64encode(PCM_LOUD).decode(),
                        "mimeType": "audio/pcm;rate=16000",
                    }
                }
            }
        ),
        json.dumps({"realtime_input": {"audio": {"data": "AAAA", "mime_type": "audio/pcm"}}}),
    ):
        assert decode(frame, LIMIT).checked
        assert not decode_full(frame, LIMIT).checked


def _feed(conn: Harness, frame: str | bytes, decoder: Callable[..., ClientMessage]) -> None:
    try:
        message: ClientMessage | ProtocolError = decoder(frame, LIMIT)
    except ProtocolError as exc:
        message = exc
    conn.apply(conn.machine.receive(message))


SETUPS = st.sampled_from(
    [
        {},
        {"realtimeInputConfig": {"automaticActivityDetection": {"disabled": True}}},
        {"realtimeInputConfig": {"automaticActivityDetection": {"silenceDurationMs": 20}}},
        {"inputAudioTranscription": {}, "explicitVadSignal": True},
    ]
)
STEPS = st.one_of(
    chunk_frames(),
    st.sampled_from(
        [
            json.dumps({"realtimeInput": {"activityStart": {}}}),
            json.dumps({"realtimeInput": {"activityEnd": {}}}),
            json.dumps({"realtimeInput": {"text": "hello"}}),
        ]
    ),
)


@FUZZ
@given(setup=SETUPS, steps=st.lists(STEPS, max_size=12))
def test_connections_fed_either_way_do_the_same(setup: dict[str, Any], steps: list[Any]) -> None:
    settings = dataclasses.replace(FAST, max_frame_bytes=LIMIT)
    conns = [Service(settings).connect(), Service(settings).connect()]
    for conn, decoder in zip(conns, (decode, decode_full), strict=True):
        conn.apply(conn.machine.start())
        conn.setup(model=MODEL, **setup)
        for step in steps:
            if conn.closed is None:
                _feed(conn, step, decoder)
    fast, full = conns
    assert fast.sent == full.sent
    assert fast.closed == full.closed
    assert [(e.kind, e.data) for e in fast.events] == [(e.kind, e.data) for e in full.events]
    assert fast.machine.conversation == full.machine.conversation
    assert fast.machine.consumed == full.machine.consumed


@given(text=st.text(alphabet="AZaz09+/-_= \n\té", max_size=16) | st.sampled_from(["", "AAAA"]))
def test_base64_is_decoded_as_the_validating_decoder_does(text: str) -> None:
    def reference() -> bytes | None:
        padded = text.replace("-", "+").replace("_", "/")
        try:
            return base64.b64decode(padded + "=" * (-len(padded) % 4), validate=True)
        except (binascii.Error, ValueError):
            return None

    try:
        got: bytes | None = decode_bytes(text, "audio")
    except ProtocolError as exc:
        assert exc.close.reason == "Invalid value at 'realtime_input.audio.data' (TYPE_BYTES)."
        got = None
    assert got == reference()


def test_a_rate_is_the_same_the_second_time() -> None:
    for mime in ("audio/pcm;rate=24000", "audio/pcm", "audio/pcm;rate=1", "x;rate=" + "1" * 200):
        answers: list[int | str] = []
        for _ in range(2):
            try:
                answers.append(audio_rate(mime, "audio"))
            except ProtocolError as exc:
                answers.append(exc.close.reason)
        assert answers[0] == answers[1]
    assert audio_rate("audio/pcm;rate=24000", "audio") == 24000
    with pytest.raises(ProtocolError, match=r"realtime_input.media_chunks.mime_type.*got 1\)"):
        audio_rate("audio/pcm;rate=1", "media_chunks")


def test_media_time_is_set_as_replace_sets_it() -> None:
    conv = Conversation((Turn("user", "hi", 3),), 4, 1.5, 2.0, 5, 6, 7)
    assert conv.with_media(9.25, 3.0) == dataclasses.replace(
        conv, audio_seconds=9.25, video_seconds=3.0
    )
    assert {f.name for f in dataclasses.fields(Conversation)} == {
        "turns",
        "user_turns",
        "audio_seconds",
        "video_seconds",
        "dropped_turns",
        "tokens",
        "remembered",
    }  # a new field must be carried by with_media too


@contextlib.contextmanager
def _never_quiet() -> Iterator[None]:
    """No chunk counts as quiet: every frame's level is made, as before the shortcut."""
    original = _vad.quiet
    _vad.quiet = lambda data, threshold: False
    try:
        yield
    finally:
        _vad.quiet = original


SAMPLES = st.one_of(
    st.integers(-260, 260), st.integers(-32768, 32767), st.sampled_from([-32768, 499, 500, -500])
)


@pytest.mark.parametrize("sample", [-257, -256, 255, 256, 499, -500])
@pytest.mark.parametrize("threshold", [256.0, 257.0, 500.0])
def test_a_chunk_at_the_threshold_is_heard_as_before(sample: int, threshold: float) -> None:
    data = struct.pack("<320h", *([sample] * 320))
    fast = VoiceDetector(threshold, 100, automatic=True).feed(data, 16000)
    with _never_quiet():
        slow = VoiceDetector(threshold, 100, automatic=True).feed(data, 16000)
    assert fast == slow
    assert bool(fast) == (abs(sample) >= threshold)


@given(
    chunks=st.lists(st.lists(SAMPLES, max_size=400), max_size=8),
    threshold=st.sampled_from([0.0, 100.0, 256.0, 257.0, 500.0]),
    silence_ms=st.sampled_from([10, 30, 100]),
    rate=st.sampled_from([8000, 16000]),
)
def test_a_quiet_chunk_skips_its_levels_and_nothing_else(
    chunks: list[list[int]], threshold: float, silence_ms: int, rate: int
) -> None:
    fast = VoiceDetector(threshold, silence_ms, automatic=True)
    slow = VoiceDetector(threshold, silence_ms, automatic=True)
    for samples in chunks:
        data = struct.pack(f"<{len(samples)}h", *samples)
        got = fast.feed(data, rate)
        with _never_quiet():
            want = slow.feed(data, rate)
        assert got == want
        assert (fast.media, fast.in_speech, fast._last_voice) == (
            slow.media,
            slow.in_speech,
            slow._last_voice,
        )
