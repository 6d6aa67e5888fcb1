"""The wire codec and settings: casing at every depth, int64 strings, clear errors."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from relive.emulator import CloseReason, EmulatorSettings
from relive.emulator._closes import MAX_REASON_BYTES
from relive.emulator._codec import ProtocolError, camel, decode, format_duration, normalise

_word = st.from_regex(r"[a-z][a-z0-9]{0,6}", fullmatch=True)
_names = st.lists(_word, min_size=1, max_size=3).map("_".join)
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_names, inner, max_size=3),
    max_leaves=12,
)


@given(_json)
def test_normalised_keys_are_camel_case_at_every_depth(value: object) -> None:
    def keys(v: object) -> list[str]:
        if isinstance(v, dict):
            return [k for k in v] + [x for item in v.values() for x in keys(item)]
        if isinstance(v, list):
            return [x for item in v for x in keys(item)]
        return []

    assert all("_" not in k for k in keys(normalise(value)))
    assert normalise(normalise(value)) == normalise(value)


def test_free_form_values_keep_their_keys() -> None:
    msg = normalise({"tool_response": {"function_responses": [{"response": {"snake_key": 1}}]}})
    assert msg == {"toolResponse": {"functionResponses": [{"response": {"snake_key": 1}}]}}


def test_camel() -> None:
    assert camel("turn_complete") == "turnComplete"
    assert camel("turnComplete") == "turnComplete"
    assert camel("silence_duration_ms") == "silenceDurationMs"


def test_decode_accepts_binary_and_text_frames() -> None:
    frame = json.dumps({"realtime_input": {"audio_stream_end": True}})
    for raw in (frame, frame.encode()):
        message = decode(raw, 1000)
        assert (message.kind, message.body) == ("realtimeInput", {"audioStreamEnd": True})


def test_two_messages_in_one_frame_are_refused() -> None:
    with pytest.raises(ProtocolError, match="exactly one"):
        decode('{"clientContent": {}, "realtimeInput": {}}', 1000)


@pytest.mark.parametrize(
    ("seconds", "text"), [(60, "60s"), (9.5, "9.5s"), (0.001, "0.001s"), (0, "0s")]
)
def test_duration_strings(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
    assert re.fullmatch(r"\d+(\.\d+)?s", text)


def test_close_reasons_fit_a_close_frame() -> None:
    long = CloseReason(1007, "é" * 200)
    assert len(long.reason.encode()) <= MAX_REASON_BYTES
    assert long.reason.endswith("...")


@pytest.mark.parametrize(
    "changes",
    [
        {"connection_lifetime": 0},
        {"goaway_lead": -1},
        {"chunk_words": 0},
        {"handle_ttl": "2h"},
    ],
)
def test_bad_settings_are_refused_clearly(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="EmulatorSettings"):
        EmulatorSettings().replace(**changes)


def test_every_setting_has_help_and_a_doc_line() -> None:
    import dataclasses
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "emulator.md").read_text()
    for f in dataclasses.fields(EmulatorSettings):
        assert EmulatorSettings.help(f.name), f"no help for {f.name}"
        assert f"`{f.name}`" in doc, f"docs/emulator.md does not list {f.name}"


@given(
    st.lists(
        st.tuples(st.sampled_from(["user", "model", "compress"]), st.integers(0, 40)),
        max_size=40,
    )
)
def test_conversation_counters_match_its_turns(ops: list[tuple[str, int]]) -> None:
    from relive.emulator._model import Conversation

    conv = Conversation()
    users = 0
    for op, n in ops:
        if op == "compress":
            before = conv
            conv = conv.compress(trigger=60, target=n)
            if before.tokens <= 60:
                assert conv == before  # under the trigger nothing is dropped
            else:
                assert conv.tokens <= n  # over it: down to the target ...
                kept = len(conv.turns)
                assert conv.turns == before.turns[len(before.turns) - kept :]  # ... oldest first
                if kept < len(before.turns):  # ... and not one turn more than needed
                    assert conv.tokens + before.turns[-kept - 1].tokens > n
                assert conv.dropped_turns == before.dropped_turns + len(before.turns) - kept
        else:
            conv = conv.add(op, "x", n)
            users += op == "user"
        assert conv.tokens == sum(t.tokens for t in conv.turns)
        assert conv.remembered == sum(t.role == "user" for t in conv.turns)
        assert conv.user_turns == users
