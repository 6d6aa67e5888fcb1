"""A replica dies before the record covering a chat message is stored: the page, moved to
another replica, sends its kept messages again, and each of them is answered (issue 11; in
process: two backends over one store and one emulator, tests/replicas runs them as processes)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection

from relive import ManualClock, Policy
from relive.emulator import Emulator
from relive.web import SessionSettings, WebBackend, WebSettings, create_app, make_opener, serve
from relive.web._bridge import owner_of
from relive.web._notices import NOTICES
from relive.web._protocol import NoticeKind
from relive.web._resend import ResendLane
from tests.web.conftest import FAST
from tests.web.test_drain import new_page, page_socket, two_replicas
from tests.web.test_socket import TIMEOUT, hello, next_json


def answers(turn: int) -> Callable[[dict[str, Any]], bool]:
    """Whether a message is a transcript whose newest answer (in full) is to user turn `turn`."""

    def answered(msg: dict[str, Any]) -> bool:
        if msg["type"] != "transcript":
            return False
        said = [str(t["text"]) for t in msg["recent"] if t["final"] and t["role"] == "model"]
        return bool(said) and f"(turn {turn}," in said[-1]

    return answered


async def messages_until(
    ws: ClientConnection, done: Callable[[dict[str, Any]], bool]
) -> list[dict[str, Any]]:
    """Every JSON message the page gets, up to the first one `done` holds of (included)."""
    seen: list[dict[str, Any]] = []
    async with asyncio.timeout(TIMEOUT):
        while not seen or not done(seen[-1]):
            frame = await ws.recv()
            if isinstance(frame, str):
                seen.append(json.loads(frame))
    return seen


async def said_once(ws: ClientConnection, turn: int) -> list[dict[str, Any]]:
    """The transcript's turns once the model answered turn `turn` (in full)."""
    recent: list[dict[str, Any]] = (await messages_until(ws, answers(turn)))[-1]["recent"]
    return recent


async def test_messages_sent_again_after_a_crash_are_each_answered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with two_replicas() as (emu, (one, url1), (_, url2)):
        ws, page, secret = await new_page(url1)
        assert one.shared is not None
        never = asyncio.Event()

        async def stalled(*_: object) -> None:  # the replica dies before this write lands
            await never.wait()

        monkeypatch.setattr(one.shared.state, "put_handle", stalled)
        await ws.send(json.dumps({"type": "text", "text": "before", "seq": 1}))
        await said_once(ws, 1)  # the page shows the answer, but no record covers it
        await ws.send(json.dumps({"type": "text", "text": "during", "seq": 2}))
        await ws.close()  # the crash, as the page sees it
        moved = await page_socket(url2)
        welcome = await hello(moved, page, secret)
        assert welcome["received"]["text"] == 0
        for seq, text in ((1, "before"), (2, "during")):  # app.js's resend: each kept message
            message = {"type": "text", "text": text, "seq": seq, "again": True}
            await moved.send(json.dumps(message))
        # The user types on meanwhile, and a second reconnect would send "during" once more.
        await moved.send(json.dumps({"type": "text", "text": "after", "seq": 3}))
        await moved.send(json.dumps({"type": "text", "text": "during", "seq": 2, "again": True}))
        seen = await messages_until(moved, answers(3))
        recent = seen[-1]["recent"]
        # No record of the chat was stored, so it started anew here; the page kept every
        # message from the first and sent them again, so it is made up again: the page is not
        # told the conversation could not be resumed (docs/web.md).
        assert [m for m in seen if m["type"] == "notice"] == []
        # Each message answered in turn, once: the second waited for the answer to the first
        # instead of cutting it off (the page showed that answer before the crash), the new
        # one went after them, the copy sent once more was dropped.
        assert [(t["role"], t["text"]) for t in recent] == [
            ("user", "before"),
            ("model", "You said: before. (turn 1, remembers 1)"),
            ("user", "during"),
            ("model", "You said: during. (turn 2, remembers 2)"),
            ("user", "after"),
            ("model", "You said: after. (turn 3, remembers 3)"),
        ]
        assert emu.stats.interruptions == 0
        await moved.close()
        never.set()


async def test_a_chat_the_store_lost_starts_anew_with_a_notice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with two_replicas() as (_, (one, url1), (_, url2)):
        ws, page, secret = await new_page(url1)
        await ws.send(json.dumps({"type": "text", "text": "alpha", "seq": 1}))
        await said_once(ws, 1)
        await ws.send(json.dumps({"type": "text", "text": "beta", "seq": 2}))
        covered = {"type": "covered", "mode": "text", "seq": 2}
        await messages_until(ws, lambda msg: msg == covered)  # the page forgets both
        assert one.shared is not None
        never = asyncio.Event()

        async def stalled(*_: object) -> None:  # the replica dies before this write lands
            await never.wait()

        monkeypatch.setattr(one.shared.state, "put_handle", stalled)
        await one.shared.state.forget_handle(owner_of(page), "text")  # lost (Redis restarted)
        await ws.close()  # the crash, as the page sees it
        moved = await page_socket(url2)
        welcome = await hello(moved, page, secret)
        assert welcome["received"]["text"] == 0  # the store covers nothing of the chat now
        await moved.send(json.dumps({"type": "text", "text": "gamma", "seq": 3}))
        seen = await messages_until(moved, answers(1))  # a new conversation: turn 1
        assert seen[-1]["recent"][-1]["text"] == "You said: gamma. (turn 1, remembers 1)"
        notices = [m for m in seen if m["type"] == "notice"]
        assert notices == [
            {
                "type": "notice",
                "mode": "text",
                "kind": "new_session",
                "level": "warn",
                "text": NOTICES[NoticeKind.NEW_SESSION]["text"],  # the session manager's words
            }
        ]
        # Told before the new conversation's first turn: the page clears its chat on it.
        shown = [i for i, m in enumerate(seen) if m["type"] == "transcript" and m["recent"]]
        assert seen.index(notices[0]) < shown[0]
        await moved.close()
        never.set()


@contextlib.asynccontextmanager
async def one_backend(answer_wait: float) -> AsyncIterator[tuple[Emulator, str]]:
    """The emulator and a backend using it whose resend lane waits `answer_wait` seconds."""
    async with Emulator(FAST, tls=True) as emu:
        settings = SessionSettings(policy=Policy(backoff_initial=0.05, give_up_after=10.0))
        opener = make_opener(emu.client(api_key="test-key"), settings)
        backend = WebBackend(opener, WebSettings(answer_wait=answer_wait), faults=emu.faults)
        async with serve(create_app(backend)) as url:
            yield emu, url


async def test_messages_sent_again_go_anyway_when_the_model_does_not_answer() -> None:
    async with one_backend(answer_wait=0.3) as (emu, url):
        ws, _, _ = await new_page(url)
        await ws.send(json.dumps({"type": "text", "text": "first", "seq": 1}))
        await said_once(ws, 1)
        emu.faults.set_latency(3.0)  # the model stalls: it says nothing for 3 s (10x the wait)
        for seq, text in ((2, "second"), (3, "third")):
            await ws.send(json.dumps({"type": "text", "text": text, "seq": seq, "again": True}))
        await ws.send(json.dumps({"type": "text", "text": "typed", "seq": 4}))  # behind them
        await ws.send(json.dumps({"type": "text", "text": "third", "seq": 3, "again": True}))
        # "second" goes first; "third" and "typed" wait for its answer, which is not coming:
        # after the lane's wait they go anyway (before any answer), each once.
        while True:
            recent = (await next_json(ws, "transcript"))["recent"]
            users = [t["text"] for t in recent if t["role"] == "user"]
            if len(users) == 4:
                break
        assert users == ["first", "second", "third", "typed"]
        assert [t["role"] for t in recent] == ["user", "model", "user", "user", "user"]
        emu.faults.set_latency(0)  # what it says from now on comes at once
        recent = await said_once(ws, 4)  # it had every message, once
        assert recent[-1]["text"] == "You said: typed. (turn 4, remembers 4)"
        assert [t["text"] for t in recent if t["role"] == "user"] == users
        await ws.close()


def test_the_lane_waits_for_an_answer_while_the_model_speaks() -> None:
    clock = ManualClock()
    lane = ResendLane(clock, wait=10.0)
    lane.add("one", 1)
    clock.advance(4.0)
    lane.add("two", 2)
    assert lane.due_in() == 6.0  # the first came in 4 s ago
    clock.advance(5.0)
    lane.heard()  # an answer under way: the wait starts again
    assert lane.due_in() == 10.0
    clock.advance(10.0)
    assert lane.due_in() == 0.0  # 10 s of silence: the first goes even unanswered
    assert (lane.take().text, len(lane)) == ("one", 1)
    assert lane.due_in() == 0.0  # the second came in before that silence, so it goes too
    assert lane.take().seq == 2 and len(lane) == 0
    lane.add("three", 3)
    assert lane.due_in() == 10.0  # a message coming in later waits its own full wait
    with pytest.raises(ValueError, match="positive"):
        ResendLane(clock, wait=0)
