"""A voice call: speech streamed through a goAway or a drop is heard whole, answered once."""

from __future__ import annotations

import asyncio
import math
import os
import random
import struct

import pytest
from google.genai import types
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import relive as rs
from relive import GaveUp, NewSession, Reconnecting, Resumed
from relive.emulator import REPLY_PATTERN, Emulator, EmulatorSettings
from tests.session.helpers import MODEL, Chat

RATE = 16_000
CHUNK_S = 0.02


def pcm(seconds: float, loud: bool) -> bytes:
    n = int(RATE * seconds)
    amp = 8000 if loud else 0
    return struct.pack(f"<{n}h", *(int(amp * math.sin(i / 5)) for i in range(n)))


def chunks(seconds: float, loud: bool) -> list[types.Blob]:
    data = pcm(seconds, loud)
    step = int(RATE * CHUNK_S) * 2
    return [
        types.Blob(data=data[i : i + step], mime_type=f"audio/pcm;rate={RATE}")
        for i in range(0, len(data), step)
    ]


def call_config() -> types.LiveConnectConfig:
    return types.LiveConnectConfig(
        response_modalities=[types.Modality.AUDIO],
        input_audio_transcription=types.AudioTranscriptionConfig(),
        output_audio_transcription=types.AudioTranscriptionConfig(),
        realtime_input_config=types.RealtimeInputConfig(
            automatic_activity_detection=types.AutomaticActivityDetection(silence_duration_ms=200)
        ),
    )


def spoken_answers(chat: Chat) -> list[str]:
    return [
        t.text
        for t in chat.session.transcript.turns
        if t.role == "model" and t.final and not t.interrupted
    ]


async def speak(chat: Chat, fault_midway: str = "", emu: Emulator | None = None) -> None:
    words = chunks(0.6, loud=True)
    half = len(words) // 2
    received = emu.stats.messages_received if emu is not None else 0
    for blob in words[:half]:
        await chat.session.send_realtime_input(audio=blob)
    if emu is not None:
        await emu.wait_for(lambda s: s.messages_received >= received + half, timeout=5)
        if fault_midway == "goaway":
            emu.faults.goaway_now(time_left=2.0)
        else:
            emu.faults.drop()
        await chat.wait(lambda: bool(chat.of(Reconnecting)))
    for blob in words[half:] + chunks(0.3, loud=False):
        await chat.session.send_realtime_input(audio=blob)


@pytest.mark.parametrize("fault", ["goaway", "drop"])
async def test_speech_through_a_reconnect_is_heard_whole_and_answered_once(
    relive_emulator: Emulator, fault: str
) -> None:
    emu = relive_emulator
    session = rs.connect(emu.client(), model=MODEL, config=call_config(), mode="call", owner="c")
    await session.start()
    chat = Chat(session)
    await speak(chat)
    await chat.wait(lambda: len(spoken_answers(chat)) == 1)
    (plain,) = spoken_answers(chat)
    assert "(turn 1," in plain

    await speak(chat, fault, emu)
    await chat.wait(lambda: len(spoken_answers(chat)) == 2)
    second = spoken_answers(chat)[1]
    # The same utterance, heard whole on the new connection: same length, next turn.
    assert second == plain.replace("(turn 1, remembers 1)", "(turn 2, remembers 2)")
    assert chat.of(Resumed) and session.metrics.reconnects == {fault: 1}
    assert session.metrics.replayed > 0
    await chat.close()


CALL_FAULTS = ["none", "goaway", "goaway_short", "drop", "close_1011", "refuse", "expire"]
CALL_EMULATOR = EmulatorSettings(chunk_interval=0.005, turn_complete_lag_factor=0.0)
CALL_POLICY = rs.Policy(backoff_initial=0.02, backoff_max=0.2, give_up_after=10, goaway_margin=0.1)


def inject(emu: Emulator, fault: str, rng: random.Random) -> None:
    faults = emu.faults
    if fault == "goaway":
        faults.goaway_now(time_left=2.0)
    elif fault == "goaway_short":
        faults.goaway_now(time_left=rng.choice([0.02, 0.1]))
    elif fault == "drop":
        faults.drop()
    elif fault == "close_1011":
        faults.close(1011, "Internal error encountered.")
    elif fault in ("refuse", "expire"):
        if fault == "refuse":
            faults.refuse_next_resumption()
        else:
            faults.expire_all_handles()
        faults.drop()


async def run_call(seed: int, log: list[str]) -> None:
    rng = random.Random(seed)
    async with Emulator(CALL_EMULATOR) as emu:

        async def open_call(owner: str) -> Chat:
            session = rs.connect(
                emu.client(),
                model=MODEL,
                config=call_config(),
                mode="call",
                owner=owner,
                policy=CALL_POLICY,
                rng=random.Random(seed),
            )
            await session.start()
            return Chat(session)

        speech, silence = chunks(0.4, loud=True), chunks(0.3, loud=False)
        probe = await open_call("probe")  # what an undisturbed utterance sounds like
        for blob in speech + silence:
            await probe.session.send_realtime_input(audio=blob)
        await probe.wait(lambda: len(probe.answer_log()) == 1)
        heard = REPLY_PATTERN.match(probe.answer_log()[0])
        assert heard is not None
        await probe.close()

        chat = await open_call("caller")
        expected_n = 0
        utterances = rng.randint(3, 6)
        for i in range(utterances):
            fault, at = rng.choice(CALL_FAULTS), rng.randint(0, len(speech) + len(silence))
            log.append(f"utterance {i}: {fault} at chunk {at}")
            renewed_before = len(chat.of(NewSession))
            for j, blob in enumerate(speech + silence):
                if j == at:
                    inject(emu, fault, rng)
                await chat.session.send_realtime_input(audio=blob)
            if at == len(speech) + len(silence):
                inject(emu, fault, rng)
            await chat.wait(lambda: len(chat.answer_log()) >= i + 1, timeout=8)  # noqa: B023
            emu.faults.reset()
            renewed = len(chat.of(NewSession)) > renewed_before
            expected_n = 1 if renewed else expected_n + 1
            answer = REPLY_PATTERN.match(chat.answer_log()[-1])
            assert answer is not None
            assert answer.group("text") == heard.group("text"), "the utterance was not heard whole"
            assert int(answer.group("n")) == expected_n
        assert len(chat.answer_log()) == utterances, "an utterance was answered twice"
        assert not chat.of(GaveUp)
        await chat.close()


@settings(
    max_examples=int(os.environ.get("RELIVE_CHAOS_EXAMPLES", "8")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_voice_calls_under_random_faults_hear_every_utterance_once(seed: int) -> None:
    log: list[str] = []
    try:
        asyncio.run(asyncio.wait_for(run_call(seed, log), timeout=30))
    except BaseException as exc:
        print(f"call chaos seed={seed} schedule={log}")
        raise AssertionError(f"call chaos seed={seed} schedule={log}: {exc!r}") from exc
