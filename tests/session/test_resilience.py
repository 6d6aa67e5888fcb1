"""The session manager against the emulator, with the real SDK over real sockets (TLS)."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

import pytest
from google import genai
from google.genai import types

import relive as rs
from relive import (
    Connected,
    GaveUp,
    GenerationComplete,
    Interrupted,
    NewSession,
    Reconnecting,
    ReplyCut,
    Resumed,
    ServerMessage,
    TurnComplete,
)
from relive.emulator import Emulator, EmulatorEvent, EmulatorSettings, EventKind
from tests.sdk_support import needs_context_update
from tests.session.helpers import MODEL, WEATHER_TOOLS, Chat

FAST = {"chunk_interval": 0.005, "turn_complete_lag_factor": 0.0}


def text_config() -> types.LiveConnectConfig:
    return types.LiveConnectConfig(response_modalities=[types.Modality.TEXT])


async def open_chat(emu: Emulator, handles: rs.HandleStore | None = None, **kw: object) -> Chat:
    session = rs.connect(
        emu.client(),
        model=MODEL,
        config=kw.pop("config", text_config()),  # type: ignore[arg-type]
        mode=kw.pop("mode", "text"),  # type: ignore[arg-type]
        handles=handles if handles is not None else rs.HandleStore(),
        owner="test",
        **kw,  # type: ignore[arg-type]
    )
    await session.start()
    return Chat(session)


async def test_plain_conversation_counts_turns(relive_emulator: Emulator) -> None:
    chat = await open_chat(relive_emulator)
    assert await chat.ask("hello") == (1, 1)
    assert await chat.ask("again") == (2, 2)
    assert isinstance(chat.events[0], Connected) and not chat.events[0].resumed
    assert chat.session.metrics.connections == 1
    await chat.close()
    assert chat.ended


LONG = "tell me a long story about " + " ".join(f"word{i}" for i in range(30))
LONGER = LONG + " " + " ".join(f"more{i}" for i in range(60))
SLOW = {"chunk_interval": 0.04}


def streaming(chat: Chat) -> bool:
    """The model has started (but not finished) its current reply."""
    turns = chat.session.transcript.turns
    return bool(turns) and turns[-1].role == "model" and not turns[-1].final


@pytest.mark.relive_emulator(**SLOW)
async def test_goaway_mid_turn_waits_for_the_turn_then_resumes(relive_emulator: Emulator) -> None:
    emu = relive_emulator
    chat = await open_chat(emu)
    assert await chat.ask("one") == (1, 1)
    await chat.say(LONG)
    await chat.wait(lambda: streaming(chat))
    emu.faults.goaway_now(time_left=5.0)
    await chat.wait(lambda: bool(chat.of(Resumed)))
    assert chat.answers(LONG) == [(2, 2)]  # finished before the reconnect, not cut
    assert await chat.ask("three") == (3, 3)
    kinds = [type(e) for e in chat.events if not isinstance(e, ServerMessage)]
    i = kinds.index(Reconnecting)
    assert kinds[i:].index(TurnComplete) < kinds[i:].index(Resumed)
    (rec,) = chat.of(Reconnecting)
    assert rec.cause == "goaway" and rec.deadline is not None
    assert chat.session.metrics.reconnects == {"goaway": 1}
    assert not any(t.interrupted for t in chat.session.transcript.turns)
    assert not chat.of(ReplyCut)  # nothing was cut
    assert emu.stats.closes.get(1011, 0) == 0  # the manager left before the deadline
    assert not emu.stats.rejected_handles  # the old connection was closed before resuming
    await chat.close()


@pytest.mark.relive_emulator(**SLOW)
async def test_abrupt_drop_mid_turn_answers_the_turn_exactly_once(
    relive_emulator: Emulator,
) -> None:
    emu = relive_emulator
    chat = await open_chat(emu)
    assert await chat.ask("one") == (1, 1)
    emu.faults.drop_mid_turn()
    assert await chat.ask(LONG) == (2, 2)
    assert chat.answers(LONG) == [(2, 2)]
    assert await chat.ask("three") == (3, 3)
    (rec,) = chat.of(Reconnecting)
    assert rec.cause == "drop" and "1006" in rec.reason
    (resumed,) = chat.of(Resumed)
    assert resumed.replayed == 1
    roles = [(t.role, t.interrupted) for t in chat.session.transcript.turns]
    assert roles == [
        ("user", False),
        ("model", False),
        ("user", False),
        ("model", True),  # what streamed before the drop, marked cut
        ("model", False),
        ("user", False),
        ("model", False),
    ]
    assert chat.session.metrics.replayed == 1
    # One ReplyCut, after the resume and before any text of the new reply.
    kinds = [type(e) for e in chat.events]
    assert kinds.count(ReplyCut) == 1
    cut = kinds.index(ReplyCut)
    assert kinds.index(Resumed) < cut
    reply_cut = chat.events[cut]
    assert isinstance(reply_cut, ReplyCut) and reply_cut.turn == 3  # the partial, marked cut
    texts_after = [
        e.message.text for e in chat.events[cut:] if isinstance(e, ServerMessage) and e.message.text
    ]
    assert texts_after and texts_after[0].startswith("You said: ")  # the new reply, from its start
    await chat.close()


async def test_drop_during_a_tool_call(relive_emulator: Emulator) -> None:
    emu = relive_emulator
    config = text_config()
    config.tools = WEATHER_TOOLS
    chat = await open_chat(emu, config=config)
    assert await chat.ask("one") == (1, 1)

    def tool_calls() -> list[types.FunctionCall]:
        return [
            fc
            for e in chat.of(ServerMessage)
            if e.message.tool_call
            for fc in e.message.tool_call.function_calls or []
        ]

    await chat.say("weather in Paris")
    await chat.wait(lambda: len(tool_calls()) == 1)
    emu.faults.drop()  # the call is lost with its connection
    first = tool_calls()[0]
    await chat.session.send_tool_response(
        function_responses=[types.FunctionResponse(id=first.id, name=first.name, response={"t": 1})]
    )
    await chat.wait(lambda: len(tool_calls()) == 2)  # the resumed model asks again
    second = tool_calls()[1]
    assert second.id != first.id
    await chat.session.send_tool_response(
        function_responses=[
            types.FunctionResponse(id=second.id, name=second.name, response={"t": 2})
        ]
    )
    await chat.wait(lambda: bool(chat.answers("weather in Paris")))
    assert chat.answers("weather in Paris") == [(2, 2)]
    finals = [t.text for t in chat.session.transcript.turns if t.role == "model"]
    assert finals[-1].endswith('get_weather returned: {"t": 2}')
    assert await chat.ask("three") == (3, 3)
    assert len(chat.of(Resumed)) == 1
    await chat.close()


async def test_expired_handle_starts_a_new_session(relive_emulator: Emulator) -> None:
    emu = relive_emulator
    chat = await open_chat(emu, mode="call")
    assert await chat.ask("one") == (1, 1)
    emu.faults.expire_all_handles()
    emu.faults.drop()
    await chat.wait(lambda: bool(chat.of(NewSession)))
    (new,) = chat.of(NewSession)
    assert new.notice == "The call could not be resumed, so a new one was started."
    assert "session not found" in new.reason  # the real service words expired as unknown
    assert await chat.ask("two") == (1, 1)  # the count restarts: a new conversation
    assert [t.role for t in chat.session.transcript.turns] == ["user", "model"]
    assert chat.session.metrics.new_sessions == 1
    assert emu.stats.rejected_handles["expired"] == 1
    await chat.close()


async def test_invalid_handle_starts_a_new_session(relive_emulator: Emulator) -> None:
    handles = rs.HandleStore()
    handles.put("test", "text", "not-a-real-handle-0123456789")
    chat = await open_chat(relive_emulator, handles=handles)
    await chat.wait(lambda: bool(chat.of(Connected)))
    (new,) = chat.of(NewSession)
    assert new.notice == "The conversation could not be resumed, so a new one was started."
    assert chat.of(Connected) == [Connected(resumed=False)]
    assert await chat.ask("hello") == (1, 1)
    assert handles.get("test", "text") not in (None, "not-a-real-handle-0123456789")
    await chat.close()


async def test_refused_resumption_starts_a_new_session(relive_emulator: Emulator) -> None:
    emu = relive_emulator
    chat = await open_chat(emu)
    assert await chat.ask("one") == (1, 1)
    assert await chat.ask("two") == (2, 2)
    emu.faults.refuse_next_resumption()
    emu.faults.drop()
    await chat.wait(lambda: bool(chat.of(NewSession)))
    assert await chat.ask("three") == (1, 1)
    assert not chat.of(Resumed)
    await chat.close()


async def test_a_second_connect_with_the_same_store_resumes(relive_emulator: Emulator) -> None:
    handles = rs.HandleStore()
    chat = await open_chat(relive_emulator, handles=handles)
    assert await chat.ask("one") == (1, 1)
    await chat.close()
    again = await open_chat(relive_emulator, handles=handles)
    await again.wait(lambda: bool(again.of(Connected)))
    first = again.of(Connected)[0]
    assert first.resumed and first.history is not None
    assert "user: one" in first.history.render()  # the call opens with its history
    assert await again.ask("two") == (2, 2)
    assert again.session.transcript.turns[0].text == "one"
    await again.close()


@pytest.mark.relive_emulator(**SLOW)
async def test_goaway_with_too_little_time_reconnects_before_the_deadline(
    relive_emulator: Emulator,
) -> None:
    emu = relive_emulator
    chat = await open_chat(emu, policy=rs.Policy(goaway_margin=0.25))
    assert await chat.ask("one") == (1, 1)
    await chat.say(LONGER)
    await chat.wait(lambda: streaming(chat))
    emu.faults.goaway_now(time_left=0.6)  # the reply needs ~1.2 s more
    await chat.wait(lambda: bool(chat.answers(LONGER)))
    assert await chat.ask("three") == (3, 3)
    assert chat.answers(LONGER) == [(2, 2)]  # cut, replayed, answered once
    assert chat.session.metrics.reconnects == {"deadline": 1}
    assert emu.stats.closes.get(1011, 0) == 0  # never missed the deadline
    await chat.close()


@pytest.mark.relive_emulator(**SLOW)
async def test_silent_server_after_goaway_the_deadline_still_rules(
    relive_emulator: Emulator,
) -> None:
    emu = relive_emulator
    chat = await open_chat(emu)
    assert await chat.ask("one") == (1, 1)
    emu.faults.silent_after_goaway()
    await chat.say(LONG)
    await chat.wait(lambda: streaming(chat))
    emu.faults.goaway_now(time_left=0.6)
    await chat.wait(lambda: bool(chat.of(Resumed)))
    emu.faults.silent_after_goaway(False)
    await chat.wait(lambda: bool(chat.answers(LONG)))
    assert await chat.ask("three") == (3, 3)
    assert chat.answers(LONG) == [(2, 2)]
    await chat.close()


async def test_input_sent_while_reconnecting_is_delivered_in_order(
    relive_emulator: Emulator,
) -> None:
    emu = relive_emulator
    chat = await open_chat(emu)
    assert await chat.ask("one") == (1, 1)
    emu.faults.drop()
    await chat.wait(lambda: bool(chat.of(Reconnecting)))
    for word in ["a", "b", "c"]:
        await chat.session.send_client_content(
            turns={"role": "user", "parts": [{"text": word}]}, turn_complete=word == "c"
        )
    await chat.wait(lambda: bool(chat.answers("a b c")))
    assert chat.answers("a b c") == [(2, 2)]
    assert chat.session.metrics.buffered == 3
    await chat.close()


async def test_after_generation_complete_runs_once(relive_emulator: Emulator) -> None:
    chat = await open_chat(relive_emulator)
    ran: list[str] = []

    def last_words() -> None:
        ran.append(chat.session.transcript.turns[-1].text)
        chat.poke()

    await chat.say("hello")
    chat.session.after_generation_complete(last_words)
    await chat.wait(lambda: bool(ran))
    assert ran == ["You said: hello. (turn 1, remembers 1)"]  # the whole reply was in
    await chat.ask("again")
    assert len(ran) == 1
    chat.session.after_generation_complete(last_words)  # idle: runs at once
    await chat.wait(lambda: len(ran) == 2)
    await chat.close()


async def test_bad_api_key_fails_fast_with_a_reason() -> None:
    async with Emulator(api_keys={"good"}) as emu:
        session = rs.connect(emu.client(api_key="bad"), model=MODEL, mode="text")
        with pytest.raises(rs.SessionFailedError, match="API key"):
            await session.start()
        await session.close()


@pytest.mark.relive_emulator(**SLOW)
async def test_vertex_transparent_resumption_uses_the_consumed_index(
    relive_emulator: Emulator,
) -> None:
    emu = relive_emulator
    config = text_config()
    config.session_resumption = types.SessionResumptionConfig(transparent=True)
    session = rs.connect(
        emu.client(vertexai=True, api_version="v1beta1"),
        model=MODEL,
        config=config,
        mode="text",
        owner="v",
    )
    await session.start()
    chat = Chat(session)
    assert await chat.ask("one") == (1, 1)
    emu.faults.drop_mid_turn()
    assert await chat.ask(LONG) == (2, 2)
    assert await chat.ask("three") == (3, 3)
    assert chat.times_answered(LONG) == 1
    assert session.metrics.replayed == 1
    await chat.close()


@pytest.mark.relive_emulator(connection_lifetime=0.4, goaway_lead=0.2)
async def test_a_conversation_outlives_many_connection_lifetimes(relive_emulator: Emulator) -> None:
    emu = relive_emulator
    chat = await open_chat(emu, policy=rs.Policy(goaway_margin=0.05))
    n = 0
    while chat.session.metrics.connections < 4:
        n += 1
        assert await chat.ask(f"turn {n}") == (n, n)
    assert chat.session.metrics.reconnects.get("goaway", 0) >= 3
    assert emu.stats.closes.get(1011, 0) == 0  # every connection left before its deadline
    assert len(chat.of(Resumed)) == chat.session.metrics.connections - 1
    await chat.close()


@pytest.mark.relive_emulator(**SLOW)
async def test_barge_in_interrupts_and_the_new_turn_is_answered(relive_emulator: Emulator) -> None:
    chat = await open_chat(relive_emulator)
    await chat.say(LONG)
    await chat.wait(lambda: streaming(chat))
    assert await chat.ask("stop") == (2, 2)
    assert chat.of(Interrupted)
    assert chat.answers(LONG) == []  # cut by the user: interrupted, not answered twice later
    cut = [t for t in chat.session.transcript.turns if t.interrupted]
    assert len(cut) == 1 and cut[0].role == "model"
    await chat.close()


async def test_gives_up_after_a_bounded_outage_listing_what_was_not_answered() -> None:
    async with Emulator(EmulatorSettings(chunk_interval=0.005)) as emu:
        policy = rs.Policy(backoff_initial=0.02, backoff_max=0.1, give_up_after=0.5)
        chat = await open_chat(emu, policy=policy)
        assert await chat.ask("one") == (1, 1)
        await emu.stop()  # the service is gone for good
        await chat.say("anyone there?")
        await chat.wait(lambda: chat.ended, timeout=5)
    (gave_up,) = chat.of(GaveUp)
    assert "could not reconnect within 0.5s" in gave_up.reason
    assert [u.text for u in gave_up.undelivered] == ["anyone there?"]
    assert chat.session.state is rs.State.FAILED
    assert chat.session.metrics.connect_attempts > 2
    with pytest.raises(rs.SessionClosedError):
        await chat.say("still?")
    await chat.close()


async def test_close_does_not_wait_out_a_hanging_connect() -> None:
    # A TCP server that accepts and never answers the TLS/WebSocket handshake.
    accepted = asyncio.Event()
    held: list[asyncio.StreamWriter] = []

    def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)  # keep the socket open, silent
        accepted.set()

    server = await asyncio.start_server(on_client, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    options = types.HttpOptions(base_url=f"https://127.0.0.1:{port}", api_version="v1beta")
    client = genai.Client(api_key="k", http_options=options)
    session = rs.connect(client, model=MODEL, mode="text", policy=rs.Policy(connect_timeout=30))
    starting = asyncio.create_task(session.start())
    await asyncio.wait_for(accepted.wait(), 5)  # the connect is under way, and hangs
    async with asyncio.timeout(2):
        await session.close()
    with pytest.raises(rs.SessionFailedError):
        await starting
    for writer in held:
        writer.close()
    server.close()


async def test_a_client_keepalive_timeout_is_a_drop_and_the_call_resumes(
    relive_emulator: Emulator,
) -> None:
    emu = relive_emulator
    # The SDK forwards websockets.connect() options found in async_client_args; short ping
    # settings make the real 20 s keepalive timeout happen in a fraction of a second.
    options = types.HttpOptions(
        base_url=emu.url,
        api_version="v1beta",
        async_client_args={"ssl": emu.ssl_context(), "ping_interval": 0.1, "ping_timeout": 0.1},
    )
    client = genai.Client(api_key="test-key", http_options=options)
    session = rs.connect(client, model=MODEL, config=text_config(), mode="text", owner="p")
    await session.start()
    chat = Chat(session)
    assert await chat.ask("one") == (1, 1)
    emu.faults.set_ping_delay(1.0)  # pongs come too late: the client closes (1011)
    await chat.wait(lambda: bool(chat.of(Reconnecting)))
    emu.faults.set_ping_delay(0.0)
    await chat.wait(lambda: bool(chat.of(Resumed)))
    assert chat.of(Reconnecting)[0].cause == "drop"
    assert await chat.ask("two") == (2, 2)
    await chat.close()


@needs_context_update
async def test_context_updates_are_delivered_and_survive_a_new_session(
    relive_emulator: Emulator,
) -> None:
    emu = relive_emulator
    client = emu.client()
    setups: list[dict[str, Any]] = []  # what each connection's setup carried, on the wire

    def spy(event: EmulatorEvent) -> None:
        message = event.data.get("message")
        if event.kind is EventKind.RECEIVED and getattr(message, "kind", None) == "setup":
            setups.append(message.body)  # type: ignore[union-attr]

    emu.on_event.append(spy)
    session = rs.connect(client, model=MODEL, config=text_config(), mode="text", owner="ctx")
    await session.start()
    chat = Chat(session)
    await session.send_context_update(system_instruction="Answer like a pirate.")
    await emu.wait_event("context_update")
    assert await chat.ask("one") == (1, 1)
    emu.faults.expire_all_handles()
    emu.faults.drop()
    await chat.wait(lambda: bool(chat.of(Connected)) and len(chat.of(Connected)) == 2)
    assert "systemInstruction" not in setups[0]
    fresh = setups[-1]
    assert "handle" not in fresh.get("sessionResumption", {})
    assert "Answer like a pirate." in repr(fresh["systemInstruction"])
    assert await chat.ask("two") == (1, 1)
    with pytest.raises(ValueError, match="system_instruction or tools"):
        await session.send_context_update()
    await chat.close()


@pytest.mark.relive_emulator(
    chunk_interval=0.005, speech_seconds_per_char=0.01, turn_complete_lag_factor=3.0
)
async def test_drop_between_generation_complete_and_turn_complete(
    relive_emulator: Emulator,
) -> None:
    """The answer was whole: the app gets its turnComplete, the model keeps the exchange."""
    config = types.LiveConnectConfig(
        response_modalities=[types.Modality.AUDIO],
        output_audio_transcription=types.AudioTranscriptionConfig(),
    )
    chat = await open_chat(relive_emulator, config=config, mode="call")
    assert await chat.ask("one") == (1, 1)
    await chat.say("two")
    await chat.wait(lambda: len(chat.of(GenerationComplete)) == 2)
    relive_emulator.faults.drop()  # turnComplete trails by the playback time: it never comes
    await chat.wait(lambda: bool(chat.of(Resumed)))
    assert chat.of(TurnComplete)[-1] == TurnComplete(after_cut=True)
    assert chat.answers("two") == [(2, 2)]
    # The resumed handle predates "two": the manager restored it as history, not as a question.
    assert await chat.ask("three") == (3, 3)
    assert chat.session.metrics.restored_exchanges == 1
    await chat.close()


@pytest.mark.relive_emulator(
    chunk_interval=0.005, speech_seconds_per_char=0.01, turn_complete_lag_factor=3.0
)
async def test_after_generation_complete_waits_for_the_turn_sent_since(
    relive_emulator: Emulator,
) -> None:
    """A turn sent after the last generationComplete ends the one still playing (interrupted,
    turnComplete): that end is not the new turn's answer, so the callback waits for its own."""
    config = types.LiveConnectConfig(
        response_modalities=[types.Modality.AUDIO],
        output_audio_transcription=types.AudioTranscriptionConfig(),
    )
    chat = await open_chat(relive_emulator, config=config, mode="call")
    await chat.say("one")
    await chat.wait(lambda: len(chat.of(GenerationComplete)) == 1)  # turnComplete trails
    ran: list[str] = []

    def answered() -> None:
        ran.append(chat.session.transcript.turns[-1].text)
        chat.poke()

    await chat.say("two")
    chat.session.after_generation_complete(answered)
    await chat.wait(lambda: bool(ran))
    assert chat.of(Interrupted)  # "two" cut "one"'s playback short
    assert ran == ["You said: two. (turn 2, remembers 2)"]  # the whole reply was in
    await chat.close()


async def test_a_later_session_restores_an_exchange_its_handle_lacks(
    relive_emulator: Emulator,
) -> None:
    """Another process resumes from a handle older than the last answer (its writer died before
    the next handle was stored): the exchange kept with the handle comes back as history."""
    first = rs.HandleStore()
    chat = await open_chat(relive_emulator, first)
    assert await chat.ask("one") == (1, 1)
    await chat.wait(lambda: first.get("test", "text") is not None)
    older = first.get("test", "text")
    assert older is not None
    assert chat.session.input_index == 1 and chat.session.settled_index == 1
    assert await chat.ask("two") == (2, 2)
    answer = chat.session.transcript.turns[-1].text
    await chat.close()
    # What the store held when the process died: the handle from before "two", the transcript
    # with its answer, and the exchange the handle lacks.
    carried = rs.HandleStore()
    carried.put("test", "text", older)
    transcript = rs.Transcript()
    transcript.restore(chat.session.transcript.turns)
    carried.keep_transcript("test", "text", transcript)
    carried.keep_exchanges("test", "text", deque([("two", answer)]))
    later = await open_chat(relive_emulator, carried)
    await later.wait(lambda: bool(later.of(Connected)))
    assert later.of(Connected)[0].resumed
    assert await later.ask("three") == (3, 3)  # not (2, 2): "two" is in the model's context
    assert later.session.metrics.restored_exchanges == 1
    assert len(carried.exchanges("test", "text") or []) == 0  # the next handle holds it
    await later.close()
