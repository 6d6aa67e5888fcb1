"""A test-side chat over a managed session: say things, wait for answers, count them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from google.genai import types

from relive import Connected, Event, Interrupted, LiveSession, ServerMessage
from relive.emulator import REPLY_PATTERN

MODEL = "gemini-live-2.5-flash-preview"

# The emulator asks for a tool call on 'weather in CITY' when get_weather is declared.
WEATHER_TOOLS: list[types.Tool | Any] = [
    types.Tool(
        function_declarations=[
            types.FunctionDeclaration(
                name="get_weather",
                description="weather in a city",
                parameters=types.Schema(
                    type=types.Type.OBJECT,
                    properties={"city": types.Schema(type=types.Type.STRING)},
                ),
            )
        ]
    )
]


class Chat:
    """Pumps `session.events()` into a list; waits on conditions over it, never sleeps."""

    def __init__(
        self,
        session: LiveSession,
        on_tool_call: Callable[[types.FunctionCall], Awaitable[None]] | None = None,
    ) -> None:
        self.session = session
        self.on_tool_call = on_tool_call
        self.events: list[Event] = []
        self.ended = False
        self._changed = asyncio.Event()
        self._task = asyncio.create_task(self._pump())

    async def _pump(self) -> None:
        try:
            async for event in self.session.events():
                self.events.append(event)
                self._changed.set()
                if self.on_tool_call and isinstance(event, ServerMessage):
                    call = event.message.tool_call
                    for fc in (call.function_calls or []) if call else []:
                        await self.on_tool_call(fc)
        finally:
            self.ended = True
            self._changed.set()

    def poke(self) -> None:
        """Re-check waiters (something other than an event changed)."""
        self._changed.set()

    async def wait(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:  # noqa: ASYNC109
        async with asyncio.timeout(timeout):
            while not predicate():
                self._changed.clear()
                await self._changed.wait()

    async def say(self, text: str) -> None:
        await self.session.send_client_content(
            turns={"role": "user", "parts": [{"text": text}]}, turn_complete=True
        )

    def answers(self, text: str) -> list[tuple[int, int]]:
        """(turn N, remembers K) of every complete, uninterrupted answer to `text`."""
        out = []
        for turn in self.session.transcript.turns:
            if turn.role != "model" or turn.interrupted or not turn.final:
                continue
            match = REPLY_PATTERN.fullmatch(turn.text) or REPLY_PATTERN.match(turn.text)
            if match and match.group("text") == text:
                out.append((int(match.group("n")), int(match.group("k"))))
        return out

    def answer_log(self) -> list[str]:
        """Every complete reply in the event stream, across connections and new sessions.

        Text parts are joined up to each turnComplete; a reply cut by a reconnect (or an
        interruption) is left out.
        """
        replies, current = [], ""
        for event in self.events:
            if isinstance(event, Connected | Interrupted):
                current = ""
            elif isinstance(event, ServerMessage) and event.message.server_content:
                content = event.message.server_content
                for part in (content.model_turn.parts or []) if content.model_turn else []:
                    current += part.text or ""
                if content.output_transcription and content.output_transcription.text:
                    current += content.output_transcription.text
                if content.turn_complete:
                    if current:
                        replies.append(current)
                    current = ""
        return replies

    def times_answered(self, text: str) -> int:
        matches = (REPLY_PATTERN.match(r) for r in self.answer_log())
        return sum(1 for m in matches if m and m.group("text") == text)

    async def ask(self, text: str, timeout: float = 5.0) -> tuple[int, int]:  # noqa: ASYNC109
        """Say `text` and wait for its answer; returns (turn N, remembers K)."""
        await self.say(text)
        await self.wait(lambda: bool(self.answers(text)), timeout)
        return self.answers(text)[0]

    def of(self, kind: type[Any]) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]

    async def close(self) -> None:
        await self.session.close()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(self._task, 5)


def config_for(model: str, **kwargs: Any) -> types.LiveConnectConfig:
    """TEXT output where the model takes it, else AUDIO with both transcriptions (the reply's
    words then arrive as output transcription, which the transcript reads the same way)."""
    from relive.conformance import family_of

    if family_of(model).text_output:
        return types.LiveConnectConfig(response_modalities=[types.Modality.TEXT], **kwargs)
    return types.LiveConnectConfig(
        response_modalities=[types.Modality.AUDIO],
        input_audio_transcription=types.AudioTranscriptionConfig(),
        output_audio_transcription=types.AudioTranscriptionConfig(),
        **kwargs,
    )
