"""The demo in a real browser: Debian's chromium, driven by Playwright, against the real backend
and the emulator on 127.0.0.1. Each state is written as a screenshot to test-artifacts/web/.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, ViewportSize, expect

from relive.web._bridge import PageSessions
from tests.web.conftest import NEW_CALL, RECONNECTED, Stack

pytestmark = [
    pytest.mark.browser,
]

WAIT_MS = 10_000
VIEWPORT: ViewportSize = {"width": 1100, "height": 640}


@pytest.fixture
async def page(stack: Stack, browser: Browser) -> AsyncIterator[Page]:
    # The page's CSP forbids eval; Playwright's wait_for_function needs it.
    context = await browser.new_context(bypass_csp=True, viewport=VIEWPORT)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.set_default_timeout(WAIT_MS)
    await page.goto(stack.url + "/")
    await welcomed(page, 1)
    yield page
    await context.close()
    assert errors == [], f"errors on the page: {errors}"


async def welcomed(page: Page, n: int) -> None:
    await page.wait_for_function("n => window.reliveStats.welcomes >= n", arg=n)


async def stats(page: Page) -> dict[str, Any]:
    result: dict[str, Any] = await page.evaluate("() => window.reliveStats")
    return result


async def shot(page: Page, artifacts: Path, name: str) -> None:
    await page.screenshot(path=str(artifacts / f"{name}.png"), animations="disabled")


async def say(page: Page, text: str) -> None:
    await page.fill("#text-input", text)
    await page.press("#text-input", "Enter")


async def model_turns(page: Page, mode: str) -> list[str]:
    return await page.locator(f"#transcript-{mode} .turn.model").all_inner_texts()


async def test_text_round_trip(page: Page, artifacts: Path) -> None:
    await page.click("#tab-text")
    await say(page, "hello relive")
    reply = page.locator("#transcript-text .turn.model").first
    await expect(reply).to_contain_text("You said: hello relive. (turn 1")
    await expect(page.locator("#transcript-text .turn.user")).to_have_text(["hello relive"])
    await expect(page.locator("body")).to_have_attribute("data-status", "live")
    await shot(page, artifacts, "text-round-trip")


async def start_call(page: Page) -> None:
    await page.click("#call-start")
    await expect(page.locator("body")).to_have_attribute("data-call-status", "live")


async def test_call_audio_flows_both_ways(page: Page, stack: Stack, artifacts: Path) -> None:
    await start_call(page)
    await page.wait_for_function("() => window.reliveStats.audioChunksSent >= 25")
    await page.wait_for_function("() => window.reliveStats.audioChunksPlayed >= 1")
    await expect(page.locator("#transcript-call .turn.user").first).to_contain_text("[audio")
    await expect(page.locator("#transcript-call .turn.model").first).to_contain_text("You said")
    await shot(page, artifacts, "call-audio")
    s = await stats(page)
    assert s["audioChunksReceived"] >= s["audioChunksPlayed"] >= 1
    assert s["toasts"] == []
    await page.click("#call-hangup")
    await expect(page.locator("body")).to_have_attribute("data-call-status", "ended")
    await expect(page.locator("#call-start")).to_be_enabled()
    # A new call is a new conversation: empty transcript, the model back at turn 1.
    await page.click("#call-start")
    await expect(page.locator("#transcript-call .turn.model")).to_have_count(0)
    await expect(page.locator("#transcript-call .turn.model").first).to_contain_text("(turn 1")
    assert stack.emulator.stats.sessions == 2


async def test_goaway_mid_call_loses_nothing_and_shows_no_toast(
    page: Page, stack: Stack, artifacts: Path
) -> None:
    await start_call(page)
    first = page.locator("#transcript-call .turn.model").first
    await expect(first).to_contain_text("(turn 1")
    before = await model_turns(page, "call")
    assert stack.emulator.faults.goaway_now() == 1
    # The conversation carries on: a later turn, with every earlier one still shown.
    await expect(page.locator("#transcript-call .turn.model").nth(len(before))).to_contain_text(
        f"(turn {len(before) + 1}"
    )
    after = await model_turns(page, "call")
    assert after[: len(before)] == before
    assert stack.emulator.stats.goaways_sent == 1
    assert stack.emulator.stats.resumptions >= 1
    assert stack.emulator.stats.sessions == 1  # resumed, never a new conversation
    assert await page.locator(".toast").count() == 0
    assert (await stats(page))["toasts"] == []
    await shot(page, artifacts, "call-after-goaway")


async def test_expired_handle_after_drop_shows_toast_and_empties_transcript(
    page: Page, stack: Stack, artifacts: Path
) -> None:
    await start_call(page)
    await expect(page.locator("#transcript-call .turn.model").first).to_contain_text("(turn 1")
    await page.click("#call-mute")  # no new utterances: the emptied transcript stays empty
    await expect(page.locator("#call-mute")).to_have_attribute("aria-pressed", "true")
    stack.emulator.faults.expire_all_handles()
    assert stack.emulator.faults.drop() == 1
    toast = page.locator(".toast .text")
    await expect(toast).to_have_text(NEW_CALL)
    await expect(page.locator("#toasts")).to_have_attribute("aria-live", "polite")
    await expect(page.locator("#transcript-call .turn")).to_have_count(0)
    await expect(page.locator("body")).to_have_attribute("data-call-status", "live")
    assert sum(stack.emulator.stats.rejected_handles.values()) >= 1
    await shot(page, artifacts, "call-new-session-toast")
    # Unmuted, the new session answers as a new conversation (turn 1 again).
    await page.click("#call-mute")
    await expect(page.locator("#transcript-call .turn.model").first).to_contain_text("(turn 1")


async def test_reload_starts_fresh(page: Page, stack: Stack, artifacts: Path) -> None:
    await page.click("#tab-text")
    await say(page, "remember me")
    await expect(page.locator("#transcript-text .turn.model")).to_contain_text(["(turn 1"])
    first_id = await page.evaluate("() => window.reliveStats.pageId")
    stored = await page.evaluate(
        "() => [localStorage.length, sessionStorage.length, document.cookie]"
    )
    assert stored == [0, 0, ""]  # the page keeps nothing: a reload must start fresh
    await page.reload()
    await welcomed(page, 1)
    assert await page.evaluate("() => window.reliveStats.pageId") != first_id
    await page.click("#tab-text")
    await expect(page.locator("#transcript-text .turn")).to_have_count(0)
    await shot(page, artifacts, "reload-fresh")
    await say(page, "who am I")
    await expect(page.locator("#transcript-text .turn.model")).to_contain_text(["(turn 1"])


async def test_dropped_page_socket_resumes_the_same_session(
    page: Page, stack: Stack, artifacts: Path
) -> None:
    await page.click("#tab-text")
    await say(page, "first")
    await expect(page.locator("#transcript-text .turn.model")).to_contain_text(["(turn 1"])
    assert await stack.backend.drop_sockets() == 1
    await welcomed(page, 2)
    await expect(page.locator(".toast .text")).to_have_text(RECONNECTED)
    await expect(page.locator("#transcript-text .turn.user")).to_have_text(["first"])
    await say(page, "second")
    await expect(page.locator("#transcript-text .turn.model").nth(1)).to_contain_text("(turn 2")
    assert stack.emulator.stats.sessions == 1  # the same conversation all along
    await shot(page, artifacts, "page-socket-reconnected")


async def test_page_works_under_its_own_csp(stack: Stack, browser: Browser) -> None:
    """No bypass here: the Content-Security-Policy the page is served with lets it work."""
    context = await browser.new_context(viewport=VIEWPORT)
    page = await context.new_page()
    violations: list[str] = []
    page.on(
        "console", lambda m: violations.append(m.text) if "Content Security" in m.text else None
    )
    await page.goto(stack.url + "/")
    await expect(page.locator("body")).to_have_attribute("data-socket", "open")
    await page.click("#call-start")
    await expect(page.locator("body")).to_have_attribute("data-call-status", "live")
    await expect(page.locator("body")).to_have_attribute("data-audio-sent", re.compile(r"\d\d"))
    await expect(page.locator("#transcript-call .turn.model").first).to_contain_text("You said")
    await page.click("#tab-text")
    await say(page, "under csp")
    await expect(page.locator("#transcript-text .turn.model")).to_contain_text(["under csp"])
    await context.close()
    assert violations == []


async def test_recovered_drop_says_reconnected_and_keeps_the_call(
    page: Page, stack: Stack, artifacts: Path
) -> None:
    await start_call(page)
    done = page.locator("#transcript-call .turn.model:not(.streaming)")
    await expect(done.first).to_contain_text("(turn 1")
    # The next utterance has begun, so the handle issued after turn 1 is with the manager
    # (it came before, on the same connection): the drop cannot fall back to the setup handle.
    await expect(page.locator("#transcript-call .turn.user").nth(1)).to_be_attached()
    before = await done.all_inner_texts()
    assert stack.emulator.faults.drop() == 1  # the backend's Live connection, not the page's
    await expect(page.locator(".toast .text")).to_have_text(RECONNECTED)
    # The conversation goes on (turn 2 or later), never back to turn 1 as a new one would.
    await expect(page.locator("#transcript-call .turn.model").last).to_contain_text(
        re.compile(r"\(turn ([2-9]|\d\d),")
    )
    assert (await done.all_inner_texts())[: len(before)] == before
    assert stack.emulator.stats.sessions == 1
    assert stack.emulator.stats.resumptions >= 1
    await shot(page, artifacts, "call-reconnected-after-drop")


async def test_a_page_the_server_forgot_gets_a_new_call(
    page: Page, stack: Stack, artifacts: Path
) -> None:
    await start_call(page)
    await expect(page.locator("#transcript-call .turn.model").first).to_contain_text("(turn 1")
    await page.click("#call-mute")
    assert await stack.backend.forget_all() == 1  # as if the server restarted
    assert await stack.backend.drop_sockets() == 1
    await welcomed(page, 2)
    await expect(page.locator(".toast .text")).to_have_text(NEW_CALL)
    await expect(page.locator("#transcript-call .turn")).to_have_count(0)
    await expect(page.locator("body")).to_have_attribute("data-call-status", "live")
    await shot(page, artifacts, "call-new-after-server-forgot")
    await page.click("#call-mute")
    await expect(page.locator("#transcript-call .turn.model").first).to_contain_text("(turn 1")
    assert stack.emulator.stats.sessions == 2


LONG = "tell me a long story about " + " ".join(f"word{i}" for i in range(30))


async def test_a_reply_cut_by_a_drop_leaves_only_the_whole_answer(
    page: Page, stack: Stack, artifacts: Path
) -> None:
    """The backend's Live connection drops mid-reply: the session asks the turn again
    (`ReplyCut`), and the page shows what the conversation holds: the whole answer, once."""
    await page.click("#tab-text")
    await say(page, "one")  # the first handle comes after the first turn
    replies = page.locator("#transcript-text .turn.model")
    await expect(replies.last).to_have_text("You said: one. (turn 1, remembers 1)")
    stack.emulator.faults.drop_mid_turn()
    await say(page, LONG)
    await expect(replies.last).to_have_text(f"You said: {LONG}. (turn 2, remembers 2)")
    await expect(replies.last).not_to_have_class(re.compile(r"\bstreaming\b"))
    # The partial reply the drop cut is in the page's list but not shown.
    await expect(page.locator("#transcript-text .turn.model.void")).to_have_count(1)
    await expect(page.locator("#transcript-text .turn.model.void")).to_be_hidden()
    await expect(page.locator("#transcript-text .turn.model:visible")).to_have_text(
        ["You said: one. (turn 1, remembers 1)", f"You said: {LONG}. (turn 2, remembers 2)"]
    )
    await expect(page.locator("#transcript-text .turn.user:visible")).to_have_text(["one", LONG])
    assert stack.emulator.stats.resumptions == 1 and stack.emulator.stats.sessions == 1
    await shot(page, artifacts, "text-reply-cut")


async def test_a_mute_while_the_socket_is_down_reaches_the_call_after_the_welcome(
    page: Page, stack: Stack
) -> None:
    """Muting ends the user's turn (`audioStreamEnd`): the page keeps the mute, numbered after
    the audio before it, and sends it once a backend welcomes it again (not lost in the gap)."""
    await start_call(page)
    await page.wait_for_function("() => window.reliveStats.audioChunksSent >= 5")
    entry = stack.backend._registry.get((await stats(page))["pageId"])
    call = entry.state.call() if entry is not None else None
    assert call is not None
    ended: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
    end_audio_stream = call.end_audio_stream

    async def noted(seq: int | None = None) -> None:  # the call's audio stream ends here
        await end_audio_stream(seq)
        if not ended.done():
            ended.set_result(seq)

    call.end_audio_stream = noted  # type: ignore[method-assign]
    stack.backend.draining = True  # the page's reconnects are refused (1012) for now
    assert await stack.backend.drop_sockets() == 1
    await expect(page.locator("body")).to_have_attribute("data-socket", "closed")
    await page.click("#call-mute")
    await expect(page.locator("#call-mute")).to_have_attribute("aria-pressed", "true")
    stack.backend.draining = False
    await welcomed(page, 2)
    async with asyncio.timeout(WAIT_MS / 1000):
        seq = await ended  # sent after the welcome, with the audio kept before it
    assert seq == (await stats(page))["audioChunksCaptured"] + 1  # numbered after the last chunk
    assert entry is not None and entry.state.received["call"] == seq


async def drop_a_call_socket(page: Page, stack: Stack) -> tuple[PageSessions, asyncio.Future[None]]:
    """A call past its first turn (its handle stored), then the page's socket down and kept down
    (reconnects refused, 1012) until `stack.backend.draining` goes False. Returns the page's
    sessions and a future set once the backend has taken a hang-up."""
    await start_call(page)
    await expect(page.locator("#transcript-call .turn.model").first).to_contain_text("(turn 1")
    # The next utterance has begun, so the handle issued after turn 1 is stored.
    await expect(page.locator("#transcript-call .turn.user").nth(1)).to_be_attached()
    entry = stack.backend._registry.get((await stats(page))["pageId"])
    assert entry is not None
    sessions = entry.state
    assert stack.handles.get(sessions.owner, "call") is not None
    hung_up: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    hangup = sessions.hangup

    async def noted() -> None:
        await hangup()
        if not hung_up.done():
            hung_up.set_result(None)

    sessions.hangup = noted  # type: ignore[method-assign]
    stack.backend.draining = True
    assert await stack.backend.drop_sockets() == 1
    await expect(page.locator("body")).to_have_attribute("data-socket", "closed")
    return sessions, hung_up


async def test_a_hangup_while_the_socket_is_down_ends_the_call_after_the_welcome(
    page: Page, stack: Stack
) -> None:
    """The page keeps a hang-up pressed while its socket is down and sends it after the next
    welcome: the backend ends the call and forgets its handle, so the next start is a new call
    (before, the hang-up was lost and that start resumed the call the user hung up)."""
    sessions, hung_up = await drop_a_call_socket(page, stack)
    await page.click("#call-hangup")
    await expect(page.locator("body")).to_have_attribute("data-call", "ended")
    stack.backend.draining = False
    await welcomed(page, 2)
    async with asyncio.timeout(WAIT_MS / 1000):
        await hung_up
    await expect(page.locator("body")).to_have_attribute("data-call-status", "ended")
    assert sessions.call() is None
    assert stack.handles.get(sessions.owner, "call") is None
    await page.click("#call-start")
    await expect(page.locator("body")).to_have_attribute("data-call", "active")  # view emptied
    await expect(page.locator("#transcript-call .turn.model").first).to_contain_text("(turn 1")
    assert stack.emulator.stats.sessions == 2 and stack.emulator.stats.resumptions == 0


async def test_a_call_started_again_while_the_socket_is_down_is_a_new_call(
    page: Page, stack: Stack
) -> None:
    """Hang up and start again, both while the socket is down: after the welcome the hang-up
    goes first, then the start, so the call is a new one; the "ended" answering the hang-up
    does not end the call the user started again."""
    sessions, hung_up = await drop_a_call_socket(page, stack)
    old = sessions.call()
    await page.click("#call-hangup")
    await page.click("#call-start")
    await expect(page.locator("body")).to_have_attribute("data-call", "active")
    stack.backend.draining = False
    await welcomed(page, 2)
    async with asyncio.timeout(WAIT_MS / 1000):
        await hung_up
    await expect(page.locator("#transcript-call .turn.model").first).to_contain_text("(turn 1")
    # The new call's first reply came after the hang-up's "ended": the page's call went on.
    await expect(page.locator("body")).to_have_attribute("data-call", "active")
    await expect(page.locator("body")).to_have_attribute("data-call-status", "live")
    assert sessions.call() not in (None, old)
    assert stack.emulator.stats.sessions == 2 and stack.emulator.stats.resumptions == 0
