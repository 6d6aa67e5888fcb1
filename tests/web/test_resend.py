"""A replica dies before the record covering a chat message is stored: the page, moved to
another replica, sends its kept messages again, and each of them is answered (issue 11; in
process: two backends over one store and one emulator, tests/replicas runs them as processes)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection

from tests.web.test_drain import new_page, page_socket, two_replicas
from tests.web.test_socket import hello, next_json


async def said_once(ws: ClientConnection, turn: int) -> list[dict[str, Any]]:
    """The transcript's turns once the model answered turn `turn` (in full)."""
    while True:
        recent: list[dict[str, Any]] = (await next_json(ws, "transcript"))["recent"]
        said = [str(t["text"]) for t in recent if t["final"] and t["role"] == "model"]
        if said and f"(turn {turn}," in said[-1]:
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
        recent = await said_once(moved, 3)
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
