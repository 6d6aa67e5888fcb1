"""Steps of a call in the browser, shared by the replica tests."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Page, expect


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
