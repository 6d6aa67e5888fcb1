"""relive's LiveKit realtime model in a real LiveKit AgentSession, through the five scenarios.

Runs in `.venv-livekit` (make test-livekit): the current LiveKit Agents and Google plugin
beside relive. With `RELIVE_BASELINE=1` the same scenarios also run on the plugin's own,
unmodified `RealtimeModel` and are recorded, not asserted (make integrations-table).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from typing import Any

import pytest

pytest.importorskip("livekit.agents", reason="runs in .venv-livekit: make test-livekit")

from livekit import rtc
from livekit.agents import Agent, AgentSession, llm
from livekit.agents.voice import io
from livekit.agents.voice.events import ConversationItemAddedEvent, ErrorEvent
from livekit.plugins.google import realtime as google_realtime

from relive.emulator import Emulator
from relive.integrations.livekit import RealtimeModel
from tests.integrations import report
from tests.integrations.scenarios import MODEL, SCENARIOS, run

RATE = 16000
SAMPLES = RATE // 50  # 20 ms frames


class Microphone(io.AudioInput):
    """The agent's audio input: frames the test puts in, then silence while idle."""

    def __init__(self) -> None:
        super().__init__(label="test-mic")
        self.frames: asyncio.Queue[rtc.AudioFrame] = asyncio.Queue()

    async def __anext__(self) -> rtc.AudioFrame:
        return await self.frames.get()


class LiveKitAgent:
    """A LiveKit `AgentSession` on a Gemini realtime model; text in by `generate_reply`."""

    def __init__(self, model: Any) -> None:
        self.answers: list[str] = []
        self.notices: list[str] = []
        self.ended = False
        self.interrupted = 0
        self._changed = asyncio.Event()
        self.mic = Microphone()
        self.session = AgentSession(llm=model)
        self.session.input.audio = self.mic
        self.session.on("conversation_item_added", self._on_item)
        self.session.on("error", self._on_error)
        self.session.on("close", self._on_close)

    def _on_item(self, event: ConversationItemAddedEvent) -> None:
        item = event.item
        if isinstance(item, llm.ChatMessage) and item.role == "assistant":
            if item.interrupted:
                self.interrupted += 1  # void: what was played of it was cut off
            elif item.text_content:
                self.answers.append(item.text_content)
        self._changed.set()

    def _on_error(self, event: ErrorEvent) -> None:
        self.notices.append(str(getattr(event.error, "error", event.error)))
        self._changed.set()

    def _on_close(self, event: Any) -> None:
        self.ended = True
        self._changed.set()

    async def changed(self) -> None:
        self._changed.clear()
        await self._changed.wait()

    async def say(self, text: str) -> None:
        if self.ended:
            return  # the framework closed the session: what the user says goes nowhere
        self.session.generate_reply(user_input=text)

    async def speak(self, pcm16k: bytes) -> None:
        step = SAMPLES * 2
        for i in range(0, len(pcm16k), step):
            chunk = pcm16k[i : i + step].ljust(step, b"\0")
            frame = rtc.AudioFrame(
                chunk, sample_rate=RATE, num_channels=1, samples_per_channel=SAMPLES
            )
            self.mic.frames.put_nowait(frame)


def model_kwargs(emu: Emulator) -> dict[str, Any]:
    """The plugin's own constructor arguments, pointed at the emulator."""
    from google.genai import types

    return {
        "api_key": "test-key",
        "model": MODEL.removeprefix("models/"),
        "http_options": emu.http_options(),
        "modalities": [types.Modality.AUDIO],
    }


@contextlib.asynccontextmanager
async def agent_session(model: Any, emu: Emulator) -> AsyncIterator[LiveKitAgent]:
    agent = LiveKitAgent(model)
    await agent.session.start(Agent(instructions="Answer briefly."))
    await emu.wait_for(lambda s: s.sessions >= 1, timeout=10)
    try:
        yield agent
    finally:
        await agent.session.aclose()


@pytest.mark.parametrize("scenario", SCENARIOS)
async def test_relive_model_answers_every_turn_once(
    relive_emulator: Emulator, scenario: str
) -> None:
    model = RealtimeModel(**model_kwargs(relive_emulator))
    async with agent_session(model, relive_emulator) as agent:
        outcome = await run(scenario, agent, relive_emulator)
        report.record("livekit", "relive", outcome)
        assert outcome.perfect, (outcome, agent.notices)
        if scenario == "drop mid-reply":
            assert agent.interrupted == 1  # the cut partial was retracted, once


@pytest.mark.skipif(not os.environ.get("RELIVE_BASELINE"), reason="make integrations-table")
@pytest.mark.timeout(180)
@pytest.mark.parametrize("scenario", SCENARIOS)
async def test_livekit_own_model_recorded(relive_emulator: Emulator, scenario: str) -> None:
    model = google_realtime.RealtimeModel(**model_kwargs(relive_emulator))
    async with agent_session(model, relive_emulator) as agent:
        outcome = await run(scenario, agent, relive_emulator, wait_s=12.0)
        report.record("livekit", "own", outcome)
