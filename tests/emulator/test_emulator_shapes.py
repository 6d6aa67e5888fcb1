"""Server message shapes the real service sends: sessionId, usage that counts the preamble,
system instruction, tools and history, thoughts, finished transcriptions, waitingForInput,
voice-activity signals (state machine on a ManualClock, then once through the real SDK)."""

from __future__ import annotations

from typing import Any

from google.genai import types

from relive.emulator import Emulator
from tests.emulator.emulator_harness import FAST, Harness, Service
from tests.emulator.sdk_helpers import MODEL, read_turn
from tests.emulator.test_emulator_machine import _audio


def _usage(conn: Harness) -> dict[str, Any]:
    usage: dict[str, Any] = [m for m in conn.sent if "usageMetadata" in m][-1]["usageMetadata"]
    return usage


def _turn(conn: Harness, text: str) -> None:
    conn.send({"realtimeInput": {"text": text}})
    conn.run_turn()


def test_session_id_is_opaque_and_survives_resumption() -> None:
    service = Service()
    first = service.connect().setup(sessionResumption={})
    session_id = first.sent[0]["setupComplete"]["sessionId"]
    assert len(session_id) == 32 and "s-" not in session_id
    _turn(first, "a")
    handle = first.last_handle()
    first.lose()
    resumed = service.connect().setup(sessionResumption={"handle": handle})
    assert resumed.sent[0]["setupComplete"]["sessionId"] == session_id
    other = service.connect().setup()
    assert other.sent[0]["setupComplete"]["sessionId"] != session_id


def test_usage_counts_preamble_instruction_tools_and_history() -> None:
    bare = Service().connect().setup()
    _turn(bare, "hello")
    hello = _usage(bare)["promptTokenCount"]
    assert hello == FAST.preamble_tokens + 2  # "hello": 2 tokens after a 500-token preamble
    instruction = "You are a patient tutor who explains every step. " * 4
    tools = [{"functionDeclarations": [{"name": "lookup", "description": "Find a word."}]}]
    rich = (
        Service().connect().setup(systemInstruction={"parts": [{"text": instruction}]}, tools=tools)
    )
    _turn(rich, "hello")
    counted = _usage(rich)["promptTokenCount"]
    assert counted - hello >= len(instruction) // 4 + 10  # instruction and tools both count
    _turn(rich, "hello")
    assert _usage(rich)["promptTokenCount"] > counted  # the history counts too
    usage = _usage(rich)
    assert usage["totalTokenCount"] == usage["promptTokenCount"] + usage["responseTokenCount"]
    # A context update replaces what the instruction and tools count.
    rich.send({"contextUpdate": {"systemInstruction": {"parts": [{"text": "Be brief."}]}}})
    before = _usage(rich)["promptTokenCount"]
    _turn(rich, "x")
    assert _usage(rich)["promptTokenCount"] < before


def test_thoughts_when_thinking_is_on() -> None:
    thinking = {"responseModalities": ["TEXT"], "thinkingConfig": {"includeThoughts": True}}
    conn = Service().connect().setup(generationConfig=thinking)
    conn.clear()
    _turn(conn, "why")
    parts = [
        p
        for m in conn.sent
        for p in m.get("serverContent", {}).get("modelTurn", {}).get("parts", [])
    ]
    assert parts[0] == {"text": "Thinking: the scripted reply has 7 words.", "thought": True}
    assert not any(p.get("thought") for p in parts[1:])
    assert conn.text().endswith("You said: why. (turn 1, remembers 1)")
    usage = _usage(conn)
    assert usage["thoughtsTokenCount"] > 0
    assert usage["totalTokenCount"] == (
        usage["promptTokenCount"] + usage["responseTokenCount"] + usage["thoughtsTokenCount"]
    )
    # Thinking without includeThoughts: thoughts are counted, not sent; a 0 budget: none.
    hidden = {"responseModalities": ["TEXT"], "thinkingConfig": {"thinkingBudget": 3}}
    quiet = Service().connect().setup(generationConfig=hidden)
    _turn(quiet, "why")
    assert quiet.text() == "You said: why. (turn 1, remembers 1)"
    assert _usage(quiet)["thoughtsTokenCount"] == 3  # capped by the budget
    off = {"responseModalities": ["TEXT"], "thinkingConfig": {"thinkingBudget": 0}}
    none = Service().connect().setup(generationConfig=off)
    _turn(none, "why")
    assert "thoughtsTokenCount" not in _usage(none)


def test_last_output_transcription_is_finished() -> None:
    conn = (
        Service()
        .connect()
        .setup(generationConfig={"responseModalities": ["AUDIO"]}, outputAudioTranscription={})
    )
    _turn(conn, "one two three four five")
    pieces = [
        m["serverContent"]["outputTranscription"]
        for m in conn.sent
        if "outputTranscription" in m.get("serverContent", {})
    ]
    assert len(pieces) > 2
    assert pieces[-1].get("finished") is True
    assert not any(p.get("finished") for p in pieces[:-1])


def test_a_turn_that_trails_off_leaves_the_model_waiting() -> None:
    conn = Service().connect().setup()
    conn.clear()
    conn.send({"realtimeInput": {"text": "so what I wanted to say is..."}})
    assert conn.sent == [
        {
            "serverContent": {
                "turnComplete": True,
                "waitingForInput": True,
                "turnCompleteReason": "NEED_MORE_INPUT",
            }
        }
    ]
    _turn(conn, "the rest")
    assert conn.text() == "You said: the rest. (turn 2, remembers 2)"


def test_voice_activity_signals_when_asked_for() -> None:
    conn = (
        Service()
        .connect()
        .setup(
            explicitVadSignal=True,
            realtimeInputConfig={"automaticActivityDetection": {"silenceDurationMs": 300}},
        )
    )
    conn.send(_audio(0.2, 0))  # silence first: the offset counts it
    conn.clear()
    conn.send(_audio(1.0, 8000))
    assert conn.sent == [
        {"voiceActivityDetectionSignal": {"vadSignalType": "VAD_SIGNAL_TYPE_SOS"}},
        {"voiceActivity": {"voiceActivityType": "ACTIVITY_START", "audioOffset": "1.2s"}},
    ]
    conn.clear()
    conn.send(_audio(0.4, 0))
    assert conn.sent[:2] == [
        {"voiceActivityDetectionSignal": {"vadSignalType": "VAD_SIGNAL_TYPE_EOS"}},
        {"voiceActivity": {"voiceActivityType": "ACTIVITY_END", "audioOffset": "1.6s"}},
    ]
    plain = Service().connect().setup()
    plain.send(_audio(1.0, 8000))
    assert not any("voiceActivity" in m for m in plain.sent)


async def test_every_shape_parses_in_the_real_sdk(relive_emulator: Emulator) -> None:
    config = types.LiveConnectConfig(
        response_modalities=[types.Modality.TEXT],
        thinking_config=types.ThinkingConfig(include_thoughts=True),
        system_instruction="Answer in one line.",
    )  # explicit_vad_signal: the Python SDK sends it on Vertex only
    async with relive_emulator.client().aio.live.connect(model=MODEL, config=config) as s:
        assert s.session_id and len(s.session_id) == 32  # the SDK keeps setupComplete's id
        await s.send_realtime_input(text="hi")
        reply = await read_turn(s)
        await s.send_realtime_input(text="and then...")
        waiting = await read_turn(s)
    parts = [
        p
        for m in reply.messages
        if m.server_content and m.server_content.model_turn
        for p in m.server_content.model_turn.parts or []
    ]
    assert parts[0].thought is True and not parts[1].thought
    usage = reply.messages[-1].usage_metadata
    assert usage and usage.prompt_token_count and usage.prompt_token_count > 500
    assert usage.thoughts_token_count
    done = waiting.messages[-1].server_content
    assert done and done.waiting_for_input is True
    assert done.turn_complete_reason == types.TurnCompleteReason.NEED_MORE_INPUT
