"""The real google-genai SDK over wss:// against the emulator: each rule of issue 2."""

from __future__ import annotations

import math
import struct

import pytest
from google.genai import errors, types
from google.genai.live import AsyncSession
from websockets.exceptions import ConnectionClosed

from relive.emulator import REPLY_PATTERN, Emulator, EmulatorSettings
from tests.emulator.sdk_helpers import (
    MODEL,
    next_handle,
    next_message,
    next_tool_call,
    read_turn,
    resumable_config,
    say,
    text_config,
)


async def test_text_turn_over_wss(relive_emulator: Emulator) -> None:
    assert relive_emulator.url.startswith("https://127.0.0.1:")
    client = relive_emulator.client()
    async with client.aio.live.connect(model=MODEL, config=text_config()) as session:
        await session.send_client_content(
            turns=types.Content(role="user", parts=[types.Part(text="hello")])
        )
        reply = await read_turn(session)
    assert reply.text == "You said: hello. (turn 1, remembers 1)"
    trace = reply.trace()
    assert trace.count("server_content.model_turn") >= 2  # streamed in chunks
    assert trace[-2:] == [
        "server_content.generation_complete",
        "server_content.turn_complete,usage_metadata",
    ] or (trace.index("server_content.generation_complete") < len(trace) - 1)
    last = reply.messages[-1]
    assert last.usage_metadata is not None and last.usage_metadata.total_token_count


async def test_generation_complete_comes_before_turn_complete(relive_emulator: Emulator) -> None:
    async with relive_emulator.client().aio.live.connect(model=MODEL, config=text_config()) as s:
        reply = await say(s, "order")
    flags = [
        ("gen" if m.server_content.generation_complete else "turn")
        for m in reply.messages
        if m.server_content
        and (m.server_content.generation_complete or m.server_content.turn_complete)
    ]
    assert flags == ["gen", "turn"]


def _pcm16(seconds: float, amplitude: int, rate: int = 16_000) -> bytes:
    n = int(seconds * rate)
    return struct.pack(f"<{n}h", *(int(amplitude * math.sin(i / 5)) for i in range(n)))


async def test_audio_turn_with_transcriptions(relive_emulator: Emulator) -> None:
    config = types.LiveConnectConfig(
        response_modalities=[types.Modality.AUDIO],
        input_audio_transcription=types.AudioTranscriptionConfig(),
        output_audio_transcription=types.AudioTranscriptionConfig(),
    )
    async with relive_emulator.client().aio.live.connect(model=MODEL, config=config) as session:
        blob = types.Blob(data=_pcm16(0.8, 6000), mime_type="audio/pcm;rate=16000")
        await session.send_realtime_input(audio=blob)
        await session.send_realtime_input(audio_stream_end=True)
        reply = await read_turn(session)
    heard = [
        m.server_content.input_transcription.text
        for m in reply.messages
        if m.server_content and m.server_content.input_transcription
    ]
    assert heard == ["[audio", " 0.80 s]"]  # incremental: a piece at speech start
    said = "".join(
        m.server_content.output_transcription.text or ""
        for m in reply.messages
        if m.server_content and m.server_content.output_transcription
    )
    assert said == "You said: [audio 0.80 s]. (turn 1, remembers 1)"
    audio = [
        p.inline_data
        for m in reply.messages
        if m.server_content and m.server_content.model_turn
        for p in m.server_content.model_turn.parts or []
        if p.inline_data
    ]
    assert audio and all(b.mime_type == "audio/pcm;rate=24000" for b in audio)
    assert sum(len(b.data or b"") for b in audio) > 24_000  # about a second and more of speech


async def test_resumption_continues_the_conversation(relive_emulator: Emulator) -> None:
    client = relive_emulator.client()
    async with client.aio.live.connect(model=MODEL, config=resumable_config()) as session:
        assert REPLY_PATTERN.fullmatch((await say(session, "first")).text)
        handle = await next_handle(session)  # the first handle comes after the first turn
    await relive_emulator.wait_for(lambda s: s.open_connections == 0)
    async with client.aio.live.connect(model=MODEL, config=resumable_config(handle)) as session:
        reply = await say(session, "second")
    assert reply.text == "You said: second. (turn 2, remembers 2)"
    assert relive_emulator.stats.resumptions == 1


async def test_invalid_and_expired_handles_are_rejected_distinctly(
    relive_emulator: Emulator,
) -> None:
    client = relive_emulator.client()
    with pytest.raises(errors.APIError) as invalid:
        async with client.aio.live.connect(model=MODEL, config=resumable_config("x" * 32)):
            pass
    assert invalid.value.code == 1008 and "session not found" in str(invalid.value).lower()
    async with client.aio.live.connect(model=MODEL, config=resumable_config()) as session:
        await say(session, "hi")
        handle = await next_handle(session)
    await relive_emulator.wait_for(lambda s: s.open_connections == 0)
    relive_emulator.faults.expire_all_handles()
    with pytest.raises(errors.APIError) as expired:
        async with client.aio.live.connect(model=MODEL, config=resumable_config(handle)):
            pass
    # The real service words both alike (the stats still tell them apart).
    assert expired.value.code == 1008 and "session not found" in str(expired.value)
    assert dict(relive_emulator.stats.rejected_handles) == {"invalid": 1, "expired": 1}


async def test_handle_bound_to_its_key(relive_emulator: Emulator) -> None:
    async with relive_emulator.client("key-a").aio.live.connect(
        model=MODEL, config=resumable_config()
    ) as session:
        await say(session, "hi")
        handle = await next_handle(session)
    await relive_emulator.wait_for(lambda s: s.open_connections == 0)
    with pytest.raises(errors.APIError) as other:
        async with relive_emulator.client("key-b").aio.live.connect(
            model=MODEL, config=resumable_config(handle)
        ):
            pass
    assert other.value.code == 1008


async def test_resume_while_old_connection_open_is_refused(relive_emulator: Emulator) -> None:
    client = relive_emulator.client()
    async with client.aio.live.connect(model=MODEL, config=resumable_config()) as session:
        await say(session, "hi")
        handle = await next_handle(session)
        with pytest.raises(errors.APIError) as refused:
            async with client.aio.live.connect(model=MODEL, config=resumable_config(handle)):
                pass
        assert refused.value.code == 1011 and "Internal error encountered." in str(refused.value)
        assert (await say(session, "still here")).text.startswith("You said: still here.")


@pytest.mark.relive_emulator(connection_lifetime=1.0, goaway_lead=0.4)
async def test_goaway_then_deadline_close(relive_emulator: Emulator) -> None:
    async with relive_emulator.client().aio.live.connect(model=MODEL, config=text_config()) as s:
        message = await next_message(s)
        assert message.go_away is not None and message.go_away.time_left is not None
        assert message.go_away.time_left == "0.4s"  # a Duration string on the wire
        with pytest.raises(errors.APIError) as closed:
            await next_message(s)
    assert closed.value.code == 1008  # the real service's close for an ignored goAway
    assert "after receiving a GoAway signal" in str(closed.value)


async def test_compression_drops_old_turns(relive_emulator: Emulator) -> None:
    config = text_config(
        context_window_compression=types.ContextWindowCompressionConfig(
            trigger_tokens=60, sliding_window=types.SlidingWindow(target_tokens=30)
        )
    )
    async with relive_emulator.client().aio.live.connect(model=MODEL, config=config) as s:
        replies = [(await say(s, f"turn number {i}")).text for i in range(1, 7)]
    counts = [REPLY_PATTERN.fullmatch(r) for r in replies]
    assert all(counts)
    assert [int(m["n"]) for m in counts if m] == [1, 2, 3, 4, 5, 6]
    remembered = [int(m["k"]) for m in counts if m]
    assert remembered[-1] < 6 and max(remembered) < 6
    assert relive_emulator.stats.compressions >= 1


@pytest.mark.relive_emulator(context_window_tokens=40)
async def test_context_overflow_without_compression_closes_1007(relive_emulator: Emulator) -> None:
    reasons: list[str] = []
    with pytest.raises((errors.APIError, ConnectionClosed)):
        async with relive_emulator.client().aio.live.connect(
            model=MODEL, config=text_config()
        ) as s:
            try:
                for i in range(10):
                    await say(s, f"a fairly long message number {i}")
            except (errors.APIError, ConnectionClosed) as exc:
                reasons.append(str(exc))
                raise
    assert reasons and "1007" in reasons[0] and "Context window" in reasons[0]
    assert relive_emulator.stats.closes[1007] == 1


@pytest.mark.relive_emulator(chunk_interval=0.05)
async def test_barge_in_interrupts(relive_emulator: Emulator) -> None:
    async with relive_emulator.client().aio.live.connect(model=MODEL, config=text_config()) as s:
        await s.send_realtime_input(text="tell me something long please")
        first = await next_message(s)
        while not (first.server_content and first.server_content.model_turn):
            first = await next_message(s)
        await s.send_realtime_input(text="stop")
        reply = await read_turn(s)
        assert any(m.server_content and m.server_content.interrupted for m in reply.messages)
        assert not any(
            m.server_content and m.server_content.generation_complete for m in reply.messages
        )
        after = await read_turn(s)
    assert after.text == "You said: stop. (turn 2, remembers 2)"


async def test_tool_call_round_trip(relive_emulator: Emulator) -> None:
    tool = types.Tool(function_declarations=[types.FunctionDeclaration(name="get_weather")])
    async with relive_emulator.client().aio.live.connect(
        model=MODEL, config=text_config(tools=[tool])
    ) as s:
        await s.send_realtime_input(text="what's the weather in Lisbon")
        call = await next_tool_call(s)
        assert call.name == "get_weather" and call.args == {"city": "Lisbon"}
        await s.send_tool_response(
            function_responses=[
                types.FunctionResponse(id=call.id, name=call.name, response={"sky": "clear"})
            ]
        )
        reply = await read_turn(s)
    assert reply.text.endswith('get_weather returned: {"sky": "clear"}')


async def test_pcm_payload_helper_is_honest() -> None:
    assert len(_pcm16(1.0, 1)) == 32_000  # 16-bit mono at 16 kHz
    assert len(_pcm16(0.5, 1, rate=24_000)) == 24_000
    samples = struct.unpack("<16000h", _pcm16(1.0, 6000))
    assert 5900 <= max(abs(x) for x in samples) <= 6000  # the amplitude asked for, loud
    assert max(abs(x) for x in struct.unpack("<16000h", _pcm16(1.0, 0))) == 0  # silence


async def test_plain_settings_object_is_frozen() -> None:
    with pytest.raises(AttributeError):
        EmulatorSettings().goaway_lead = 1.0  # type: ignore[misc]


async def test_vertex_transparent_resumption_reports_consumed_index(
    relive_emulator: Emulator,
) -> None:
    client = relive_emulator.client(vertexai=True, api_version="v1beta1")
    config = text_config(session_resumption=types.SessionResumptionConfig(transparent=True))
    async with client.aio.live.connect(model=MODEL, config=config) as s:
        await say(s, "one")
        first = (await next_message(s)).session_resumption_update  # after the first turn
        assert first is not None and first.last_consumed_client_message_index == 1
        await say(s, "two")
        update = (await next_message(s)).session_resumption_update
    assert update is not None and update.resumable
    assert update.last_consumed_client_message_index == 2
    opened = [e for e in relive_emulator.events if e.kind == "connection_opened"]
    assert opened[0].data["vertex"] is True


async def test_ephemeral_token_uses_the_constrained_method(relive_emulator: Emulator) -> None:
    token = relive_emulator._tokens.mint({}, "test-key")["name"]  # minted: see test_emulator_tokens
    client = relive_emulator.client(api_key=token, api_version="v1alpha")
    with pytest.warns(Warning):  # the SDK marks ephemeral tokens experimental
        async with client.aio.live.connect(model=MODEL, config=text_config()) as s:
            assert (await say(s, "short-lived")).text.startswith("You said: short-lived.")
    opened = [e for e in relive_emulator.events if e.kind == "connection_opened"]
    assert opened[0].data["path"] == "BidiGenerateContentConstrained"


async def _speak(session: AsyncSession, seconds: float, amplitude: int) -> None:
    """Stream 20 ms chunks of 16 kHz PCM, as a microphone would."""
    pcm = _pcm16(seconds, amplitude)
    for i in range(0, len(pcm), 640):
        blob = types.Blob(data=pcm[i : i + 640], mime_type="audio/pcm;rate=16000")
        await session.send_realtime_input(audio=blob)


@pytest.mark.relive_emulator(chunk_interval=0.05)
async def test_streamed_voice_turn_and_voice_barge_in(relive_emulator: Emulator) -> None:
    config = types.LiveConnectConfig(
        response_modalities=[types.Modality.AUDIO],
        output_audio_transcription=types.AudioTranscriptionConfig(),
        realtime_input_config=types.RealtimeInputConfig(
            automatic_activity_detection=types.AutomaticActivityDetection(silence_duration_ms=200)
        ),
    )
    async with relive_emulator.client().aio.live.connect(model=MODEL, config=config) as s:
        await _speak(s, 0.6, 6000)
        await _speak(s, 0.3, 0)
        message = await next_message(s)
        while not (message.server_content and message.server_content.model_turn):
            message = await next_message(s)
        await _speak(s, 0.4, 6000)  # talk over the reply
        cut = await read_turn(s)
        assert any(m.server_content and m.server_content.interrupted for m in cut.messages)
        await _speak(s, 0.3, 0)
        reply = await read_turn(s)
    said = "".join(
        m.server_content.output_transcription.text or ""
        for m in reply.messages
        if m.server_content and m.server_content.output_transcription
    )
    assert said == "You said: [audio 0.40 s]. (turn 2, remembers 2)"
