"""An app that stops reading events does not grow the process: the queue's stated policy."""

from __future__ import annotations

import asyncio

import pytest
from google.genai import types

import relive as rs
from relive import Connected, ServerMessage, TurnComplete
from relive.emulator import Emulator
from relive.session._queue import EventQueue
from tests.session.helpers import MODEL


async def _answered(session: rs.LiveSession, loop: asyncio.AbstractEventLoop) -> None:
    answered: asyncio.Future[None] = loop.create_future()
    session.after_generation_complete(lambda: answered.set_result(None))
    await answered


async def test_an_app_that_does_not_read_keeps_a_bounded_queue(relive_emulator: Emulator) -> None:
    policy = rs.Policy(max_queued_events=40)
    config = types.LiveConnectConfig(response_modalities=[types.Modality.TEXT])
    session = rs.connect(
        relive_emulator.client(), model=MODEL, config=config, mode="text", policy=policy
    )
    async with session:
        loop = asyncio.get_running_loop()
        for i in range(30):  # each turn: several text chunks, generationComplete, turnComplete
            await session.send_client_content(
                turns=types.Content(role="user", parts=[types.Part(text=f"turn number {i}")])
            )
            await _answered(session, loop)
        assert session.transcript.turns[-1].text.startswith("You said: turn number 29")
    events = [event async for event in session.events()]
    assert len(events) <= 40 + 1
    assert session.metrics.events_dropped > 0
    assert session.metrics.to_dict()["events_dropped"] == session.metrics.events_dropped
    assert isinstance(events[0], Connected)  # lifecycle events are never dropped
    assert not any(isinstance(e, ServerMessage) for e in events[:-5])  # raw messages go first
    assert isinstance(events[-1], TurnComplete | ServerMessage)


def test_drop_order_raw_messages_then_turn_markers_never_lifecycle() -> None:
    queue = EventQueue(limit=3)
    message = ServerMessage(message=types.LiveServerMessage())
    for event in (Connected(resumed=False), TurnComplete(), message):
        queue.put(event)
    queue.put(rs.GenerationComplete())  # full: the raw message goes
    assert queue.dropped == 1 and len(queue) == 3
    queue.put(rs.Reconnecting(reason="goAway", cause="goaway"))  # then the oldest marker
    queue.put(rs.Resumed(downtime_s=0.1))
    assert queue.dropped == 3 and len(queue) == 3
    kinds = [type(queue._items[i]).__name__ for i in range(3)]
    assert kinds == ["Connected", "Reconnecting", "Resumed"]
    queue.put(rs.Resumed(downtime_s=0.2))  # only lifecycle events left: kept, over the limit
    assert len(queue) == 4 and queue.dropped == 3


@pytest.mark.parametrize(
    "bad",
    [
        {"max_queued_events": 0},
        {"audio_batch_ms": -1},
        {"drop_jitter_step": -0.1},
        {"drop_jitter_max": -1.0},
    ],
)
def test_policy_refuses_bad_bounds(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=next(iter(bad))):
        rs.Policy(**bad)  # type: ignore[arg-type]
