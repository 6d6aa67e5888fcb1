"""Steps of a call in the browser, shared by the replica tests."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from playwright.async_api import Page, expect

from relive.web._bridge import owner_of

if TYPE_CHECKING:
    from tests.replicas.conftest import Cluster
    from tests.replicas.harness import Replica


async def stats(page: Page) -> dict[str, Any]:
    result: dict[str, Any] = await page.evaluate("() => window.reliveStats")
    return result


async def start_call(page: Page) -> None:
    await page.click("#call-start")
    await expect(page.locator("body")).to_have_attribute("data-call-status", "live")


async def model_turns(page: Page) -> list[str]:
    return await page.locator("#transcript-call .turn.model").all_inner_texts()


async def call_until_turn(page: Page, n: int) -> list[str]:
    await expect(page.locator("#transcript-call .turn.model").nth(n - 1)).to_contain_text(
        f"(turn {n}"
    )
    return await model_turns(page)


async def next_turn_follows(page: Page, before: list[str]) -> None:
    """The call goes on: a later turn numbered on, every earlier one still shown."""
    await call_until_turn(page, len(before) + 1)
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
