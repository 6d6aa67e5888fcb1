"""Steps of a call in the browser, shared by the replica tests."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from playwright.async_api import Page, expect

from relive.emulator._link import Link
from relive.emulator._model import Conversation
from relive.web._bridge import owner_of

if TYPE_CHECKING:
    from relive.bench._replicas import Replica
    from tests.replicas.conftest import Cluster


async def stats(page: Page) -> dict[str, Any]:
    result: dict[str, Any] = await page.evaluate("() => window.reliveStats")
    return result


async def start_call(page: Page) -> None:
    await page.click("#call-start")
    await expect(page.locator("body")).to_have_attribute("data-call-status", "live")


FINAL_TURNS = "#transcript-call .turn.model:not(.streaming)"
STREAMING = "#transcript-call .turn.model.streaming"  # a model answer under way
# Whether a model turn numbered past `last` is shown. The emulator numbers every user turn; one
# whose reply the user's next utterance cut before any word (the fake microphone's loop on a
# loaded machine) leaves its number without a bubble, so a turn is found by its number.
PAST_TURN = """([selector, last]) => [...document.querySelectorAll(selector)].some(
    (turn) => Number((/\\(turn (\\d+),/.exec(turn.textContent) || [0, 0])[1]) > last)"""


async def model_turns(page: Page) -> list[str]:
    """The model's finished turns shown in the call."""
    return await page.locator(FINAL_TURNS).all_inner_texts()


def turn_number(text: str) -> int:
    match = re.search(r"\(turn (\d+),", text)
    return int(match.group(1)) if match else 0


async def call_until_turn(page: Page, n: int) -> list[str]:
    """Wait for the model's answer to the user's turn `n` (or a later one)."""
    await page.wait_for_function(PAST_TURN, arg=[FINAL_TURNS, n - 1])
    return await model_turns(page)


async def next_turn_follows(page: Page, before: list[str]) -> None:
    """The call goes on: a later turn numbered on, every earlier one still shown."""
    await call_until_turn(page, max(map(turn_number, before), default=0) + 1)
    assert (await model_turns(page))[: len(before)] == before


async def holding(cluster: Cluster, page: Page) -> tuple[Replica, Replica]:
    """(the replica holding the page's call, the other one): the one whose log (-v) shows the
    page's call session opening. HAProxy's `balance first` sends a page to the first replica
    ready, which need not be r1 when r1's first health check is still to come."""
    owner = owner_of((await stats(page))["pageId"])
    first, second = cluster.replicas
    if f"{owner}/call: connecting" in first.log.read_text():
        return first, second
    assert f"{owner}/call: connecting" in second.log.read_text()
    return second, first


def emulator_link(cluster: Cluster, modality: str) -> Link:
    """The emulator's connection of the session with `modality` (AUDIO: the call)."""
    for link in list(cluster.emulator._links.values()):
        config = link.machine.config
        if config is not None and config.modality == modality:
            return link
    raise LookupError(modality)


async def conversation(
    cluster: Cluster, modality: str, until: Callable[[Conversation], bool]
) -> Conversation:
    """The emulator's state of the session with `modality`, once `until` holds of it."""
    async with asyncio.timeout(20):
        while True:  # the emulator's state as it takes the input (no event tells this)
            with contextlib.suppress(LookupError):
                conv = emulator_link(cluster, modality).machine.conversation
                if until(conv):
                    return conv
            await asyncio.sleep(0.05)


async def back_in_pool(cluster: Cluster, replica: Replica) -> None:
    """Return once HAProxy counts `replica` up (its health check passed): a page moving next
    may land there."""
    async with asyncio.timeout(20):
        while True:  # HAProxy's own view, asked over its runtime API
            if await asyncio.to_thread(cluster.lb.is_up, replica):
                return
            await asyncio.sleep(0.05)
