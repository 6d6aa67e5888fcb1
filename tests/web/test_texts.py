"""One source for each text the page shows: the backend's words go to the page, the page keeps
no copy, and a new session's words are the session manager's own (`NewSession.notice`)."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

from relive.session._states import NOTICES as SESSION_NOTICES
from relive.web._notices import NOTICES
from tests.web.conftest import Stack
from tests.web.test_socket import hello, next_json, open_page

STATIC = Path(__file__).resolve().parents[2] / "relive" / "web" / "static"


async def test_the_welcome_carries_the_words_of_the_pages_own_toasts(stack: Stack) -> None:
    ws = await open_page(stack)
    welcome = await hello(ws, secrets.token_hex(16))
    assert welcome["toasts"] == {
        "reconnected": "Reconnected",
        "new_session": "The call could not be resumed, so a new one was started.",
    }
    assert welcome["toasts"]["new_session"] == SESSION_NOTICES["call"]
    await ws.close()


async def test_a_new_session_notice_is_the_session_managers_own_words(stack: Stack) -> None:
    ws = await open_page(stack)
    await hello(ws, secrets.token_hex(16))
    for n, text in enumerate(["one", "two"], 1):  # the first handle comes after the first turn
        await ws.send(json.dumps({"type": "text", "text": text}))
        while not answered(await next_json(ws, "transcript"), n):
            pass
    await ws.send(json.dumps({"type": "fault", "mode": "text", "fault": "lose_session"}))
    notice = await next_json(ws, "notice")
    assert notice["kind"] == "new_session" and notice["level"] == "warn"
    assert notice["text"] == "The conversation could not be resumed, so a new one was started."
    assert notice["text"] == SESSION_NOTICES["text"]
    await ws.close()


def answered(transcript: dict[str, Any], n: int) -> bool:
    replies = [t for t in transcript["recent"] if t["role"] == "model" and t["final"]]
    return len(replies) >= n


def test_the_page_holds_no_copy_of_a_backend_text() -> None:
    texts = {text for words in NOTICES.values() for text in words.values()}
    texts |= {text.rstrip(":.") for text in texts}  # nor a near copy
    for script in STATIC.glob("*.js"):
        source = script.read_text()
        copies = [text for text in texts if text in source]
        assert copies == [], f"{script.name} holds its own copy of {copies}"
