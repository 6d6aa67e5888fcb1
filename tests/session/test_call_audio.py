"""A voice call: speech streamed through a goAway or a drop is heard whole, answered once."""

from __future__ import annotations

import math
import struct

import pytest
from google.genai import types

import relive.session as rs
from relive.emulator import Emulator
from relive.session import events as ev
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
    for blob in words[:half]:
        await chat.session.send_realtime_input(audio=blob)
    if emu is not None:
        received = emu.stats.messages_received
        await emu.wait_for(lambda s: s.messages_received >= received + half, timeout=5)
        if fault_midway == "goaway":
            emu.faults.goaway_now(time_left=2.0)
        else:
            emu.faults.drop()
        await chat.wait(lambda: bool(chat.of(ev.Reconnecting)))
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
    assert chat.of(ev.Resumed) and session.metrics.reconnects == {fault: 1}
    assert session.metrics.replayed > 0
    await chat.close()
