"""relive's Pipecat service in a real Pipecat pipeline, through the five fault scenarios.

Runs in `.venv-pipecat` (make test-pipecat): the current Pipecat beside relive. With
`RELIVE_BASELINE=1` the same scenarios also run on Pipecat's own, unmodified service and
are recorded, not asserted (make integrations-table).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from typing import Any

import pytest

pytest.importorskip("pipecat", reason="runs in .venv-pipecat: make test-pipecat")

from pipecat.frames.frames import (
    EndFrame,
    ErrorFrame,
    Frame,
    InputAudioRawFrame,
    InputTextRawFrame,
    InterruptionFrame,
    LLMContextFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    TTSAudioRawFrame,
    TTSTextFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.services.google.gemini_live import llm as pipecat_llm
from pipecat.workers.runner import WorkerRunner

from relive.emulator import Emulator
from relive.integrations.pipecat import GeminiLiveLLMService
from tests.integrations import report
from tests.integrations.scenarios import MODEL, SCENARIOS, run

CHUNK = 640  # 20 ms of 16 kHz 16-bit mono


class Recorder(FrameProcessor):
    """The app's end of the pipeline: replies as the user would get them, errors shown."""

    def __init__(self, agent: PipecatAgent) -> None:
        super().__init__()
        self.agent = agent

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        self.agent.on_frame(frame, direction)
        await self.push_frame(frame, direction)


class PipecatAgent:
    """A Pipecat pipeline [recorder, Gemini Live service, recorder] in AUDIO mode."""

    def __init__(self, service: Any) -> None:
        self.answers: list[str] = []
        self.notices: list[str] = []
        self.ended = False  # the service never ends the pipeline on its own here
        self.audio_bytes = 0
        self.retracted = 0
        self._current: list[str] | None = None
        self._changed = asyncio.Event()
        self.service = service
        self.worker = PipelineWorker(
            Pipeline([Recorder(self), service, Recorder(self)]),
            cancel_on_idle_timeout=False,
            params=PipelineParams(audio_in_sample_rate=16000, audio_out_sample_rate=24000),
        )

    def on_frame(self, frame: Frame, direction: FrameDirection) -> None:
        if direction is FrameDirection.UPSTREAM:
            if isinstance(frame, ErrorFrame):
                self.notices.append(frame.error)
        elif isinstance(frame, LLMFullResponseStartFrame):
            self._current = []
        elif isinstance(frame, TTSTextFrame) and self._current is not None:
            self._current.append(frame.text)
        elif isinstance(frame, TTSAudioRawFrame):
            self.audio_bytes += len(frame.audio)
        elif isinstance(frame, InterruptionFrame) and self._current is not None:
            self._current = None  # void: what was pushed of this reply is retracted
            self.retracted += 1
        elif isinstance(frame, LLMFullResponseEndFrame) and self._current is not None:
            self.answers.append("".join(self._current))
            self._current = None
        self._changed.set()

    async def changed(self) -> None:
        self._changed.clear()
        await self._changed.wait()

    async def say(self, text: str) -> None:
        await self.worker.queue_frame(InputTextRawFrame(text=text))

    async def speak(self, pcm16k: bytes) -> None:
        for i in range(0, len(pcm16k), CHUNK):
            frame = InputAudioRawFrame(
                audio=pcm16k[i : i + CHUNK], sample_rate=16000, num_channels=1
            )
            await self.worker.queue_frame(frame)


def service_kwargs(emu: Emulator) -> dict[str, Any]:
    """Pipecat's own constructor arguments, pointed at the emulator."""
    return {
        "api_key": "test-key",
        "settings": GeminiLiveLLMService.Settings(model=MODEL),
        "http_options": emu.http_options(),
    }


@contextlib.asynccontextmanager
async def pipeline(service: Any) -> AsyncIterator[PipecatAgent]:
    agent = PipecatAgent(service)
    started = asyncio.Event()

    async def _started(worker: Any, frame: Any) -> None:
        started.set()

    agent.worker.add_event_handler("on_pipeline_started", _started)

    runner = WorkerRunner()
    await runner.add_workers(agent.worker)
    running = asyncio.create_task(runner.run())
    async with asyncio.timeout(10):
        await started.wait()
    # An empty context: once connected, the service takes realtime input (text and audio);
    # before that Pipecat drops it, so the scenarios start when it is ready.
    await agent.worker.queue_frame(LLMContextFrame(context=LLMContext()))
    async with asyncio.timeout(10):
        while not service._ready_for_realtime_input:  # noqa: ASYNC110 (Pipecat has no signal)
            await asyncio.sleep(0.01)  # a condition polled, not a delay assumed
    try:
        yield agent
    finally:
        await agent.worker.queue_frame(EndFrame())
        try:
            async with asyncio.timeout(10):
                await running
        except TimeoutError:
            running.cancel()


@pytest.mark.parametrize("scenario", SCENARIOS)
async def test_relive_service_answers_every_turn_once(
    relive_emulator: Emulator, scenario: str
) -> None:
    service = GeminiLiveLLMService(**service_kwargs(relive_emulator))
    async with pipeline(service) as agent:
        outcome = await run(scenario, agent, relive_emulator)
        report.record("pipecat", "relive", outcome)
        assert outcome.perfect, outcome
        if scenario == "drop mid-reply":
            assert agent.retracted == 1  # the cut partial was retracted, once
        if scenario == "text turns":
            assert agent.audio_bytes > 0  # replies came as audio frames too


@pytest.mark.skipif(not os.environ.get("RELIVE_BASELINE"), reason="make integrations-table")
@pytest.mark.timeout(180)
@pytest.mark.parametrize("scenario", SCENARIOS)
async def test_pipecat_own_service_recorded(relive_emulator: Emulator, scenario: str) -> None:
    service = pipecat_llm.GeminiLiveLLMService(**service_kwargs(relive_emulator))
    async with pipeline(service) as agent:
        outcome = await run(scenario, agent, relive_emulator, wait_s=12.0)
        report.record("pipecat", "own", outcome)
