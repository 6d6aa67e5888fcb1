"""The per-connection state machine, driven by hand with a ManualClock (no sockets, no sleeps)."""

from __future__ import annotations

import base64
import math
import struct

import pytest

from relive.emulator._states import State, TurnState
from tests.emulator.emulator_harness import FAST, Service


def test_setup_complete_then_first_handle() -> None:
    conn = Service().connect().setup(sessionResumption={})
    assert conn.kinds() == ["setupComplete", "sessionResumptionUpdate"]
    assert conn.updates()[0]["resumable"] is True
    assert len(conn.updates()[0]["newHandle"]) >= 16
    assert conn.machine.state is State.OPEN


def test_text_turn_streams_chunks_then_generation_then_turn_complete() -> None:
    conn = Service().connect().setup(sessionResumption={})
    conn.clear()
    conn.send(
        {
            "client_content": {
                "turns": [{"role": "user", "parts": [{"text": "hi"}]}],
                "turn_complete": True,
            }
        }
    )
    # Pacing: only the non-resumable update and the first chunk so far.
    assert conn.kinds() == ["sessionResumptionUpdate"]
    assert conn.updates() == [{"newHandle": "", "resumable": False}]
    assert conn.machine.turn is TurnState.GENERATING
    conn.run_turn()
    kinds = conn.kinds()
    assert kinds[-3:] == [
        "serverContent.generationComplete",
        "serverContent.turnComplete",
        "sessionResumptionUpdate",
    ]
    assert kinds.count("serverContent.modelTurn") >= 2
    assert conn.text() == "You said: hi. (turn 1, remembers 1)"
    assert conn.updates()[-1]["resumable"] is True
    usage = conn.sent[-2]["usageMetadata"]
    assert usage["totalTokenCount"] == usage["promptTokenCount"] + usage["responseTokenCount"]


def test_turn_counter_and_memory_grow() -> None:
    conn = Service().connect().setup()
    for word in ("one", "two", "three"):
        conn.clear()
        conn.send({"realtimeInput": {"text": word}})
        conn.run_turn()
    assert conn.text() == "You said: three. (turn 3, remembers 3)"


def test_resumption_restores_snapshot_and_counter() -> None:
    service = Service()
    first = service.connect().setup(sessionResumption={})
    first.send({"realtimeInput": {"text": "a"}})
    first.run_turn()
    old_handle = first.last_handle()
    first.send({"realtimeInput": {"text": "b"}})
    first.run_turn()
    handle = first.last_handle()
    first.lose()
    second = service.connect().setup(sessionResumption={"handle": handle})
    assert second.closed is None
    second.clear()
    second.send({"realtimeInput": {"text": "c"}})
    second.run_turn()
    assert second.text() == "You said: c. (turn 3, remembers 3)"
    second.lose()
    # An older handle is an older snapshot.
    third = service.connect().setup(sessionResumption={"handle": old_handle})
    third.clear()
    third.send({"realtimeInput": {"text": "x"}})
    third.run_turn()
    assert third.text() == "You said: x. (turn 2, remembers 2)"


def test_invalid_handle_and_wrong_key_are_not_found() -> None:
    service = Service()
    conn = service.connect().setup(sessionResumption={"handle": "nope-nope-nope-nope"})
    assert conn.closed is not None and conn.closed.code == 1008
    assert "session not found" in conn.closed.reason.lower()
    first = service.connect().setup(sessionResumption={})
    handle = first.last_handle()
    first.lose()
    other = service.connect(api_key="key-2").setup(sessionResumption={"handle": handle})
    assert other.closed is not None and other.closed.code == 1008


def test_handle_expires_ttl_after_last_connection_ends() -> None:
    service = Service(FAST.replace(handle_ttl=100.0))
    first = service.connect().setup(sessionResumption={})
    handle = first.last_handle()
    service.clock.advance(500)  # still connected: the ttl has not started
    first.lose()
    service.clock.advance(99)
    ok = service.connect().setup(sessionResumption={"handle": handle})
    assert ok.closed is None
    ok.lose()
    service.clock.advance(100.5)
    late = service.connect().setup(sessionResumption={"handle": handle})
    assert late.closed is not None and late.closed.code == 1008
    assert late.closed.reason == "BidiGenerateContent session not found"
    assert service.registry is not None and late.events[-1].data.get("reason") == "expired"


def test_resume_while_previous_connection_open_is_refused_with_1011() -> None:
    service = Service()
    first = service.connect().setup(sessionResumption={})
    second = service.connect().setup(sessionResumption={"handle": first.last_handle()})
    assert second.closed is not None and second.closed.code == 1011
    assert second.closed.reason == "Internal error encountered."


def test_goaway_before_deadline_close() -> None:
    service = Service(FAST.replace(connection_lifetime=600.0, goaway_lead=60.0))
    conn = service.connect().setup()
    conn.clear()
    conn.advance(539.9)
    assert conn.sent == []
    conn.advance(0.2)
    assert conn.sent == [{"goAway": {"timeLeft": "60s"}}]
    assert conn.machine.state is State.GOING_AWAY
    conn.advance(59.7)
    assert conn.closed is None
    conn.advance(0.3)
    assert conn.closed is not None
    assert conn.closed.code == 1008  # the close for an ignored goAway (late 2026)
    assert conn.closed.reason.startswith("Connection aborted because the client failed")


def test_goaway_now_moves_the_deadline_and_silence_fault() -> None:
    service = Service()
    conn = service.connect().setup()
    service.faults.silent_after_goaway = True
    conn.clear()
    conn.apply(conn.machine.go_away_now(9.5))
    assert conn.sent == [{"goAway": {"timeLeft": "9.5s"}}]
    conn.send({"realtimeInput": {"text": "anyone?"}})
    conn.run_turn()
    assert conn.kinds() == ["goAway"]  # silent until the close
    conn.advance(9.5)
    assert conn.closed is not None and conn.closed.code == 1008


@pytest.mark.parametrize(
    ("frame", "code", "needle"),
    [
        ("{not json", 1007, "Invalid JSON"),
        ('{"bogus": {}}', 1007, 'Unknown name "bogus"'),
        ('{"setup": {"model": "m", "surprise": 1}}', 1007, 'Unknown name "surprise"'),
        ('{"setup": {"model": 5}}', 1007, "setup.model"),
        ('{"realtimeInput": {"text": "early"}}', 1007, "first message must be setup"),
        ('{"setup": {}}', 1007, "model"),
        ("[1, 2]", 1007, "JSON object"),
    ],
)
def test_bad_messages_close_with_reason(frame: str, code: int, needle: str) -> None:
    conn = Service().connect().send(frame)
    assert conn.closed is not None
    assert conn.closed.code == code
    assert needle in conn.closed.reason


def test_second_setup_is_refused() -> None:
    conn = Service().connect().setup().setup()
    assert conn.closed is not None and conn.closed.code == 1007
    assert "only be sent once" in conn.closed.reason


def test_oversize_frame() -> None:
    conn = Service(FAST.replace(max_frame_bytes=100)).connect()
    conn.send({"setup": {"model": "m" * 200}})
    assert conn.closed is not None and conn.closed.code == 1007
    assert "size exceeds" in conn.closed.reason


def test_missing_key_is_a_policy_close() -> None:
    service = Service()
    from relive.emulator import _closes as closes
    from relive.emulator._connection import LiveConnection
    from relive.emulator._states import Auth

    machine = LiveConnection(
        9,
        Auth(None, refused=closes.MISSING_KEY),
        service.settings,
        service.registry,
        service.faults,
        service.clock,
    )
    from tests.emulator.emulator_harness import Harness

    conn = Harness(service, machine).setup()
    assert conn.closed is not None and conn.closed.code == 1008
    assert "API key" in conn.closed.reason


def test_barge_in_interrupts_and_keeps_partial_reply() -> None:
    conn = Service().connect().setup()
    conn.send({"realtimeInput": {"text": "tell me a long story please"}})
    conn.advance(0.0)  # first chunk
    conn.clear()
    conn.send({"realtimeInput": {"text": "stop"}})
    kinds = conn.kinds()
    assert kinds[:2] == ["serverContent.interrupted", "serverContent.turnComplete"]
    assert "serverContent.generationComplete" not in kinds
    conn.run_turn()
    assert conn.text().endswith("You said: stop. (turn 2, remembers 2)")


def test_tool_call_round_trip_and_cancellation() -> None:
    tools = [{"functionDeclarations": [{"name": "get_weather"}]}]
    conn = Service().connect().setup(tools=tools, sessionResumption={})
    conn.clear()
    conn.send({"realtimeInput": {"text": "what is the weather in Paris?"}})
    call = conn.sent[-1]["toolCall"]["functionCalls"][0]
    assert call["name"] == "get_weather" and call["args"] == {"city": "Paris"}
    assert conn.updates() == [{"newHandle": "", "resumable": False}]
    assert conn.machine.turn is TurnState.TOOL_CALL
    conn.send(
        {
            "tool_response": {
                "function_responses": [
                    {"id": call["id"], "name": "get_weather", "response": {"temp_c": 21}}
                ]
            }
        }
    )
    conn.run_turn()
    assert conn.text().endswith('(turn 1, remembers 1) get_weather returned: {"temp_c": 21}')
    # Interrupting a tool call cancels it.
    conn.clear()
    conn.send({"realtimeInput": {"text": "weather in Oslo"}})
    call_id = conn.sent[-1]["toolCall"]["functionCalls"][0]["id"]
    conn.send({"realtimeInput": {"text": "never mind"}})
    assert {"toolCallCancellation": {"ids": [call_id]}} in conn.sent


def test_compression_drops_oldest_turns() -> None:
    conn = (
        Service()
        .connect()
        .setup(
            contextWindowCompression={"triggerTokens": 40, "slidingWindow": {"targetTokens": 20}}
        )
    )
    for i in range(6):
        conn.clear()
        conn.send({"realtimeInput": {"text": f"message {i}"}})
        conn.run_turn()
    reply = conn.text()
    assert reply.startswith("You said: message 5. (turn 6, remembers ")
    remembered = int(reply.split("remembers ")[1].rstrip(")"))
    assert 1 <= remembered < 6
    assert any(e.kind == "compressed" for e in conn.events)


def test_context_overflow_without_compression_closes_1007() -> None:
    conn = Service(FAST.replace(context_window_tokens=30)).connect().setup()
    for i in range(5):
        if conn.closed:
            break
        conn.send({"realtimeInput": {"text": f"message number {i}"}})
        conn.run_turn()
    assert conn.closed is not None and conn.closed.code == 1007
    assert "Context window" in conn.closed.reason


def _pcm(seconds: float, amplitude: int, rate: int = 16_000) -> str:
    n = int(seconds * rate)
    samples = [int(amplitude * math.sin(2 * math.pi * 440 * i / rate)) for i in range(n)]
    return base64.b64encode(struct.pack(f"<{n}h", *samples)).decode()


def _audio(seconds: float, amplitude: int) -> dict[str, object]:
    return {
        "realtimeInput": {
            "audio": {"data": _pcm(seconds, amplitude), "mimeType": "audio/pcm;rate=16000"}
        }
    }


def test_audio_turn_by_vad_with_transcriptions() -> None:
    conn = (
        Service()
        .connect()
        .setup(
            generationConfig={"responseModalities": ["AUDIO"]},
            inputAudioTranscription={},
            outputAudioTranscription={},
            realtimeInputConfig={"automaticActivityDetection": {"silenceDurationMs": 300}},
        )
    )
    conn.clear()
    conn.send(_audio(1.2, 8000))
    # Incremental input transcription: its first piece while the user still speaks.
    assert conn.sent == [{"serverContent": {"inputTranscription": {"text": "[audio"}}}]
    conn.send(_audio(0.4, 0))
    assert conn.sent[1] == {
        "serverContent": {"inputTranscription": {"text": " 1.20 s]", "finished": True}}
    }
    conn.run_turn()
    parts = [
        p
        for m in conn.sent
        for p in m.get("serverContent", {}).get("modelTurn", {}).get("parts", [])
    ]
    assert parts and all(p["inlineData"]["mimeType"] == "audio/pcm;rate=24000" for p in parts)
    said = "".join(
        m["serverContent"]["outputTranscription"]["text"]
        for m in conn.sent
        if "outputTranscription" in m.get("serverContent", {})
    )
    assert said == "You said: [audio 1.20 s]. (turn 1, remembers 1)"
    pcm_bytes = sum(len(base64.b64decode(p["inlineData"]["data"])) for p in parts)
    assert pcm_bytes == pytest.approx(
        len(said) * FAST.speech_seconds_per_char * 24_000 * 2, rel=0.01
    )


def test_audio_costs_the_same_tokens_in_20_ms_chunks_as_in_one_frame() -> None:
    def user_turn_tokens(chunks: int) -> int:
        conn = Service().connect().setup(generationConfig={"responseModalities": ["AUDIO"]})
        for _ in range(chunks):
            conn.send(_audio(1.0 / chunks, 8000))
        conn.send(_audio(0.6, 0))
        conn.run_turn()
        turn = next(t for t in conn.machine.conversation.turns if t.role == "user")
        return turn.tokens

    # 32 tokens a second: fifty 20 ms chunks are 32 tokens, not fifty rounded to 1 each.
    assert user_turn_tokens(50) == user_turn_tokens(1)


def test_audio_turn_complete_lags_generation_complete() -> None:
    service = Service(FAST.replace(turn_complete_lag_factor=1.0))
    conn = service.connect().setup(generationConfig={"responseModalities": ["AUDIO"]})
    conn.send({"realtimeInput": {"text": "hello"}})
    for _ in range(50):
        if "serverContent.generationComplete" in conn.kinds():
            break
        conn.advance(FAST.chunk_interval)
    generated_at = service.clock.now()
    assert "serverContent.turnComplete" not in conn.kinds()
    conn.run_turn()
    playback = len("You said: hello. (turn 1, remembers 1)") * FAST.speech_seconds_per_char
    assert service.clock.now() - generated_at == pytest.approx(playback, abs=0.03)


def test_manual_activity_and_barge_in_by_voice() -> None:
    conn = (
        Service()
        .connect()
        .setup(realtimeInputConfig={"automaticActivityDetection": {"disabled": True}})
    )
    conn.send({"realtimeInput": {"activityStart": {}}})
    conn.send(_audio(0.5, 0))
    conn.send({"realtimeInput": {"activityEnd": {}}})
    conn.advance(0.0)
    assert conn.machine.turn is TurnState.GENERATING
    conn.send({"realtimeInput": {"activityStart": {}}})
    assert "serverContent.interrupted" in conn.kinds()
    conn.send(_audio(0.25, 0))
    conn.send({"realtimeInput": {"activityEnd": {}}})
    conn.run_turn()
    assert conn.text().endswith("You said: [audio 0.25 s]. (turn 2, remembers 2)")


def test_audio_session_limit_without_compression() -> None:
    conn = Service(FAST.replace(audio_session_limit=2.0)).connect().setup()
    conn.send(_audio(1.5, 0))
    assert conn.closed is None
    conn.send(_audio(1.0, 0))
    assert conn.closed is not None and conn.closed.code == 1007
    assert "Session limit" in conn.closed.reason


def test_transparent_mode_reports_consumed_index_on_vertex_only() -> None:
    service = Service()
    vertex = service.connect(vertex=True).setup(sessionResumption={"transparent": True})
    assert vertex.updates()[0]["lastConsumedClientMessageIndex"] == "0"
    vertex.send({"realtimeInput": {"text": "one"}})
    vertex.run_turn()
    assert vertex.updates()[-1]["lastConsumedClientMessageIndex"] == "1"
    developer = service.connect().setup(sessionResumption={"transparent": True})
    assert "lastConsumedClientMessageIndex" not in developer.updates()[0]


def test_drop_mid_turn_fault_aborts_after_first_chunk() -> None:
    service = Service()
    conn = service.connect().setup()
    service.faults.drop_mid_turn = True
    conn.send({"realtimeInput": {"text": "hello there"}})
    conn.advance(0.0)
    assert conn.aborted
    assert conn.kinds().count("serverContent.modelTurn") == 1


def test_refuse_next_resumption_fault() -> None:
    service = Service()
    first = service.connect().setup(sessionResumption={})
    first.lose()
    service.faults.refuse_next_resumption = True
    refused = service.connect().setup(sessionResumption={"handle": first.last_handle()})
    assert refused.closed is not None and refused.closed.code == 1008
    again = service.connect().setup(sessionResumption={"handle": first.last_handle()})
    assert again.closed is None


def test_expire_all_handles() -> None:
    service = Service()
    first = service.connect().setup(sessionResumption={})
    first.lose()
    service.registry.expire_all()
    late = service.connect().setup(sessionResumption={"handle": first.last_handle()})
    assert late.closed is not None and late.closed.code == 1008


def test_goaway_lead_longer_than_lifetime_sends_goaway_at_setup() -> None:
    service = Service(FAST.replace(connection_lifetime=1.0, goaway_lead=60.0))
    conn = service.connect().setup()
    conn.advance(0.0)
    assert {"goAway": {"timeLeft": "1s"}} in conn.sent
    conn.advance(0.99)
    assert conn.closed is None
    conn.advance(0.02)
    assert conn.closed is not None and conn.closed.code == 1008


def test_video_switches_to_the_audio_video_session_limit() -> None:
    conn = Service(FAST.replace(audio_video_session_limit=3.0)).connect().setup()
    frame = {
        "realtimeInput": {
            "video": {"data": base64.b64encode(b"jpeg").decode(), "mimeType": "image/jpeg"}
        }
    }
    for _ in range(3):
        conn.send(frame)
    assert conn.closed is None
    conn.send(frame)
    assert conn.closed is not None and conn.closed.code == 1007
    assert "audio+video" in conn.closed.reason


def test_legacy_media_chunks_count_as_audio() -> None:
    conn = Service().connect().setup(inputAudioTranscription={})
    chunk = {"data": _pcm(0.6, 8000), "mimeType": "audio/pcm;rate=16000"}
    conn.send({"realtimeInput": {"mediaChunks": [chunk]}})
    conn.send({"realtimeInput": {"audioStreamEnd": True}})
    heard = [
        m["serverContent"]["inputTranscription"]["text"]
        for m in conn.sent
        if "inputTranscription" in m.get("serverContent", {})
    ]
    assert "".join(heard) == "[audio 0.60 s]"
    assert conn.machine.conversation.audio_seconds == pytest.approx(0.6)


def test_compression_lifts_the_session_limit() -> None:
    conn = (
        Service(FAST.replace(audio_session_limit=1.0))
        .connect()
        .setup(contextWindowCompression={"slidingWindow": {}})
    )
    for _ in range(4):
        conn.send(_audio(0.5, 0))
    assert conn.closed is None


def test_compression_without_sliding_window_is_no_compression() -> None:
    conn = (
        Service(FAST.replace(audio_session_limit=1.0))
        .connect()
        .setup(contextWindowCompression={"triggerTokens": 1000})
    )
    for _ in range(3):
        conn.send(_audio(0.5, 0))
    assert conn.closed is not None and conn.closed.code == 1007


def test_a_connection_without_setup_still_ends_at_its_deadline() -> None:
    conn = Service(FAST.replace(connection_lifetime=10.0, goaway_lead=2.0)).connect()
    conn.apply(conn.machine.start())
    conn.advance(9.0)
    assert conn.sent == [] and conn.closed is None
    conn.advance(1.0)
    assert conn.closed is not None and conn.closed.code == 1011


def test_lifetime_counts_from_the_socket_open() -> None:
    service = Service(FAST.replace(connection_lifetime=10.0, goaway_lead=2.0))
    conn = service.connect()
    conn.apply(conn.machine.start())
    conn.advance(3.0)
    conn.setup()
    conn.clear()
    conn.advance(4.9)
    assert conn.sent == []
    conn.advance(0.2)
    assert conn.sent == [{"goAway": {"timeLeft": "2s"}}]


def test_voice_during_reply_barges_in_and_becomes_the_next_turn() -> None:
    conn = (
        Service()
        .connect()
        .setup(realtimeInputConfig={"automaticActivityDetection": {"silenceDurationMs": 200}})
    )
    conn.send(_audio(0.5, 8000))
    conn.send(_audio(0.3, 0))
    conn.advance(0.0)
    assert conn.machine.turn is TurnState.GENERATING
    conn.clear()
    conn.send(_audio(0.4, 8000))  # the user speaks over the reply
    assert conn.kinds()[:2] == ["serverContent.interrupted", "serverContent.turnComplete"]
    assert conn.machine.turn.name == "IDLE"  # (mypy keeps the narrowed GENERATING)
    conn.send(_audio(0.3, 0))
    conn.run_turn()
    assert conn.text().endswith("You said: [audio 0.40 s]. (turn 2, remembers 2)")


def test_no_interruption_queues_the_new_turn() -> None:
    conn = Service().connect().setup(realtimeInputConfig={"activityHandling": "NO_INTERRUPTION"})
    conn.send({"realtimeInput": {"text": "first"}})
    conn.advance(0.0)
    conn.send({"realtimeInput": {"text": "second"}})
    assert "serverContent.interrupted" not in conn.kinds()
    conn.run_turn()
    conn.run_turn()
    text = conn.text()
    assert "You said: first. (turn 1, remembers 1)" in text
    assert text.endswith("You said: second. (turn 2, remembers 2)")


def test_a_dropped_reply_never_completes_or_issues_a_handle() -> None:
    service = Service()
    conn = service.connect().setup(sessionResumption={})
    service.faults.drop_mid_turn = True
    conn.send({"realtimeInput": {"text": "cut me"}})
    conn.advance(0.0)
    assert conn.aborted and conn.machine.state is State.CLOSED
    issued = service.registry.handle_count
    conn.advance(5.0)
    assert service.registry.handle_count == issued
    assert not any(e.kind == "turn_complete" for e in conn.events)


def test_client_content_without_turn_complete_waits_then_counts_once() -> None:
    conn = Service().connect().setup()
    conn.send({"clientContent": {"turns": [{"role": "user", "parts": [{"text": "one"}]}]}})
    assert list(conn.sent[-1]) == ["setupComplete"]  # nothing yet
    conn.send({"clientContent": {"turns": [{"parts": [{"text": "two"}]}], "turnComplete": True}})
    conn.run_turn()
    assert conn.text() == "You said: one two. (turn 1, remembers 1)"


def test_history_prefill_is_context_and_counts_without_a_reply() -> None:
    conn = Service().connect().setup()
    history = [
        {"role": "user", "parts": [{"text": "one"}]},
        {"role": "model", "parts": [{"text": "You said: one. (turn 1, remembers 1)"}]},
    ]
    conn.send({"clientContent": {"turns": history}})
    conn.send({"clientContent": {"turns": [{"role": "model", "parts": [{"text": "seeded"}]}]}})
    assert list(conn.sent[-1]) == ["setupComplete"]  # context only: no reply
    assert conn.machine.conversation.user_turns == 1
    conn.send({"clientContent": {"turns": [{"parts": [{"text": "two"}]}], "turnComplete": True}})
    conn.run_turn()
    assert conn.text() == "You said: two. (turn 2, remembers 2)"
