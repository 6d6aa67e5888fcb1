"""The page as a product, at a phone's 390x844 (mobile, touch) and a laptop's 1280x800.

Nothing overflows sideways, toasts stay on screen and off every control, the transcript scrolls
inside its panel with the newest turn in view, any word wraps, the resilience panel's buttons each
do what they say and its readout follows, and axe-core finds no serious accessibility violation.
Each state is a screenshot in test-artifacts/web/ (named by viewport).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from relive.web import WebBackend, WebSettings, create_app, serve
from tests.web.conftest import NEW_CALL, RECONNECTED, Stack

pytestmark = [pytest.mark.browser]

AXE = Path(__file__).resolve().parents[1] / "js" / "node_modules" / "axe-core" / "axe.min.js"
VIEWPORTS = {
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
    "laptop": {"viewport": {"width": 1280, "height": 800}, "is_mobile": False, "has_touch": False},
}

# Geometry read in the page: what sticks out sideways, and which controls a toast covers.
OVERFLOW_JS = """() => {
  const w = document.documentElement.clientWidth;
  const out = [];
  const sw = document.documentElement.scrollWidth;
  if (sw > w) out.push(`page ${sw}`);
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.width && (r.right > w + 0.5 || r.left < -0.5) && !el.closest('[hidden]'))
      out.push(`${el.tagName.toLowerCase()}#${el.id}.${el.className} ${r.left}..${r.right}`);
  }
  return out;
}"""
TOAST_JS = """() => {
  const W = document.documentElement.clientWidth, H = document.documentElement.clientHeight;
  const hit = (a, b) =>
    a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  const controls = [...document.querySelectorAll('button, input, [role=tab]')]
    .filter(c => !c.closest('.toast') && c.getClientRects().length);
  const out = [];
  for (const t of document.querySelectorAll('.toast')) {
    const r = t.getBoundingClientRect();
    if (r.left < 0 || r.top < 0 || r.right > W || r.bottom > H)
      out.push(`outside: ${t.textContent}`);
    for (const c of controls)
      if (hit(r, c.getBoundingClientRect())) out.push(`over ${c.id || c.textContent.trim()}`);
  }
  return out;
}"""


@pytest.fixture(params=list(VIEWPORTS))
async def device(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
async def page(stack: Stack, browser: Browser, device: str) -> AsyncIterator[Page]:
    # The page's CSP forbids eval and inline scripts; Playwright's waits and axe need them.
    context = await browser.new_context(bypass_csp=True, **VIEWPORTS[device])  # type: ignore[arg-type]
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.set_default_timeout(10_000)
    await page.goto(stack.url + "/")
    await page.wait_for_function("() => window.reliveStats.welcomes >= 1")
    yield page
    await context.close()
    assert errors == [], f"errors on the page: {errors}"


async def press(page: Page, device: str, selector: str) -> None:
    """A tap on the phone, a click on the laptop."""
    if VIEWPORTS[device]["has_touch"]:
        await page.tap(selector)
    else:
        await page.click(selector)


async def shot(page: Page, artifacts: Path, device: str, name: str) -> None:
    await page.screenshot(path=str(artifacts / f"{device}-{name}.png"), animations="disabled")


async def fits(page: Page) -> None:
    """Nothing sticks out sideways and every toast is on screen, over no control."""
    assert await page.evaluate(OVERFLOW_JS) == []
    assert await page.evaluate(TOAST_JS) == []


async def axe(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations (WCAG 2 A/AA and best practice)."""
    # Let a toast finish sliding in (a half-transparent toast fails contrast); pulses never end.
    await page.evaluate(
        """() => Promise.all(document.getAnimations()
            .filter(a => a.effect.getComputedTiming().iterations !== Infinity)
            .map(a => a.finished.catch(() => null)))"""
    )
    if not await page.evaluate("() => 'axe' in window"):
        await page.add_script_tag(path=str(AXE))
    result: list[dict[str, Any]] = await page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
            .filter(v => v.impact === 'serious' || v.impact === 'critical')
            .map(v => ({id: v.id, help: v.help, nodes: v.nodes.map(n => n.target.join(' '))}))"""
    )
    return result


async def checked(page: Page, artifacts: Path, device: str, name: str) -> None:
    """A state worth a screenshot: it fits, axe finds nothing serious, and it is saved."""
    await fits(page)
    assert await axe(page) == []
    await shot(page, artifacts, device, name)


async def test_first_load_says_what_to_do(page: Page, device: str, artifacts: Path) -> None:
    await expect(page.locator("#model-badge")).to_have_text("emulator")
    await expect(page.locator("#hint-call")).to_be_visible()
    await expect(page.locator("#hint-call")).to_contain_text("hears sound, not words")
    await expect(page.locator("#resilience")).to_be_visible()
    await checked(page, artifacts, device, "first-load")


async def test_resilience_panel_buttons_each_do_what_they_say(
    page: Page, stack: Stack, device: str, artifacts: Path
) -> None:
    await press(page, device, "#call-start")
    await expect(page.locator("#status-call")).to_have_attribute("data-status", "live")
    model = page.locator("#transcript-call .turn.model:not(.streaming)")
    await expect(model.first).to_contain_text("(turn 1")
    await expect(page.locator("#hint-call")).to_be_hidden()
    await expect(page.locator("#m-connections")).to_have_text("1")
    await checked(page, artifacts, device, "panel-call-live")

    # goAway: the server announces its close; relive moves over, no toast, the readout counts it.
    await press(page, device, "[data-fault=goaway]")
    await expect(page.locator("#m-reconnects")).to_have_text("1")
    await expect(page.locator("#m-connections")).to_have_text("2")
    await expect(page.locator("#m-downtime")).to_have_text(re.compile(r"^\d+ ms$"))
    assert stack.emulator.stats.goaways_sent == 1
    assert await page.locator(".toast").count() == 0
    await shot(page, artifacts, device, "panel-after-goaway")

    # A dropped connection: "Reconnected", the call goes on (turn numbers carry on).
    await press(page, device, "[data-fault=drop]")
    await expect(page.locator(".toast .text")).to_have_text(RECONNECTED)
    await expect(page.locator("#m-reconnects")).to_have_text("2")
    await expect(page.locator("#m-connections")).to_have_text("3")
    await fits(page)
    await shot(page, artifacts, device, "panel-after-drop")
    await page.locator(".toast button").click()  # dismissed by hand
    await expect(page.locator(".toast")).to_have_count(0)

    # Muted from here on, so nothing is in flight when the session is lost below.
    await press(page, device, "#call-mute")
    await expect(page.locator("#transcript-call .turn.streaming")).to_have_count(0)

    # The page's own socket: the page reconnects, the same session carries on.
    await press(page, device, "[data-fault=drop_page]")
    await expect(page.locator("#m-page-reconnects")).to_have_text("1")
    await expect(page.locator(".toast .text")).to_have_text(RECONNECTED)
    await fits(page)
    await shot(page, artifacts, device, "panel-after-page-drop")
    assert stack.emulator.stats.sessions == 1

    # Losing the session: the polite toast, an empty transcript, a new conversation at turn 1.
    await press(page, device, "[data-fault=lose_session]")
    await expect(page.locator(".toast.warn .text")).to_have_text(NEW_CALL)
    await expect(page.locator("#m-new-sessions")).to_have_text("1")
    await expect(page.locator("#transcript-call .turn")).to_have_count(0)
    await expect(page.locator("#hint-call")).to_be_hidden()  # a first-load hint only
    await checked(page, artifacts, device, "panel-after-lost-session")
    await press(page, device, "#call-mute")
    await expect(model.first).to_contain_text("(turn 1")
    assert stack.emulator.stats.sessions == 2

    # The user's own hang-up is not an error: a neutral "ended".
    await press(page, device, "#call-hangup")
    await expect(page.locator("#status-call")).to_have_attribute("data-status", "ended")
    dot = await page.locator("#status-call .dot").evaluate("e => getComputedStyle(e).color")
    label = await page.locator("#status-call .label").evaluate("e => getComputedStyle(e).color")
    assert "180, 35, 35" not in dot + label  # not the danger red
    await shot(page, artifacts, device, "call-hung-up")


async def test_chat_keeps_every_turn_and_follows_the_newest(
    page: Page, stack: Stack, device: str, artifacts: Path
) -> None:
    await press(page, device, "#tab-text")
    await expect(page.locator("#hint-text")).to_be_visible()
    replies = page.locator("#transcript-text .turn.model:not(.streaming)")
    for n in range(1, 41):
        await page.fill("#text-input", f"message {n}")
        await page.press("#text-input", "Enter")
        await expect(replies.nth(n - 1)).to_contain_text(f"(turn {n},")
    turns = page.locator("#transcript-text .turn")
    await expect(turns).to_have_count(80)  # nothing folded away in a live chat
    assert await page.locator("#transcript-text .earlier").count() == 0
    await expect(turns.first).to_have_text("message 1")
    newest = turns.last
    await expect(newest).to_be_in_viewport()
    assert await page.evaluate("() => window.scrollY") == 0  # the page itself did not grow
    await expect(page.locator(".bar")).to_be_in_viewport()
    await expect(page.locator("#text-send")).to_be_in_viewport()
    await fits(page)
    await shot(page, artifacts, device, "chat-40-messages")

    # Scrolled up to read: a new reply does not pull the view away.
    await page.locator("#transcript-text").evaluate("l => { l.scrollTop = 0; }")
    await page.fill("#text-input", "while reading")
    await page.press("#text-input", "Enter")
    await expect(replies.nth(40)).to_contain_text("(turn 41,")
    await expect(turns.first).to_be_in_viewport()
    assert await page.locator("#transcript-text").evaluate("l => l.scrollTop") == 0

    # Back at the bottom, a 2,000-character word wraps inside its bubble.
    await page.locator("#transcript-text").evaluate("l => { l.scrollTop = l.scrollHeight; }")
    word = "w" * 2000
    await page.fill("#text-input", word)
    await page.press("#text-input", "Enter")
    await expect(replies.nth(41)).to_contain_text("(turn 42,")
    bubble = page.locator("#transcript-text .turn.user").last
    await expect(bubble).to_have_text(word)
    box = await bubble.bounding_box()
    panel = await page.locator("#transcript-text").bounding_box()
    assert box is not None and panel is not None
    assert box["x"] >= panel["x"] and box["x"] + box["width"] <= panel["x"] + panel["width"]
    await expect(replies.last).to_be_in_viewport()
    await checked(page, artifacts, device, "chat-long-word")


async def test_toasts_stay_clear_of_the_composer_and_can_be_dismissed(
    page: Page, stack: Stack, device: str, artifacts: Path
) -> None:
    await press(page, device, "#tab-text")
    await page.fill("#text-input", "hello")
    await page.press("#text-input", "Enter")
    await expect(page.locator("#transcript-text .turn.model")).to_contain_text(["(turn 1"])
    # Two toasts at once: a dropped page socket, then a refused message.
    await press(page, device, "[data-fault=drop_page]")
    await expect(page.locator(".toast .text")).to_have_text(RECONNECTED)
    await page.fill("#text-input", "x" * 1999)
    await page.locator("#text-input").evaluate("i => { i.maxLength = 3000; i.value += 'yy'; }")
    await page.press("#text-input", "Enter")
    await expect(page.locator(".toast")).to_have_count(2)
    await expect(page.locator("#toasts")).to_have_attribute("aria-live", "polite")
    await checked(page, artifacts, device, "toasts-over-chat")
    # Keyboard: the Dismiss button is reachable and Escape closes a focused toast too.
    await page.locator(".toast button").first.focus()
    await page.keyboard.press("Enter")
    await expect(page.locator(".toast")).to_have_count(1)
    await page.locator(".toast button").first.focus()
    await page.keyboard.press("Escape")
    await expect(page.locator(".toast")).to_have_count(0)


async def test_tabs_are_proper_tabs(page: Page, device: str) -> None:
    call, text = page.locator("#tab-call"), page.locator("#tab-text")
    await expect(call).to_have_attribute("aria-controls", "panel-call")
    await expect(page.locator("#panel-call")).to_have_attribute("role", "tabpanel")
    await expect(page.locator("#transcript-call")).to_have_attribute("aria-live", "polite")
    await call.focus()
    await page.keyboard.press("ArrowRight")
    await expect(text).to_be_focused()
    await expect(text).to_have_attribute("aria-selected", "true")
    await expect(page.locator("#panel-text")).to_be_visible()
    await expect(page.locator("#panel-call")).to_be_hidden()
    assert await call.get_attribute("tabindex") == "-1"
    await page.keyboard.press("Home")
    await expect(call).to_be_focused()
    await expect(page.locator("#panel-call")).to_be_visible()
    # Each mode shows its own status: a live call is not "not started" from the Text tab.
    await press(page, device, "#call-start")
    await expect(page.locator("#status-call")).to_have_attribute("data-status", "live")
    await press(page, device, "#tab-text")
    await expect(page.locator("#status-call .label")).to_have_text("live")
    await expect(page.locator("#status-text .label")).to_have_text("not started")


async def test_turns_the_page_never_saw_fold_and_expand(page: Page, device: str) -> None:
    """The page's own transcript code (static/transcript.js) in the browser, fed by hand."""
    result = await page.evaluate(
        """async () => {
          const { TranscriptView } = await import('/static/transcript.js');
          const list = document.createElement('ol');
          document.body.append(list);
          let asked = 0;
          const view = new TranscriptView(list, document.createElement('p'), () => asked++);
          const turn = (role, text, final = true) => ({ role, text, interrupted: false, final });
          const texts = () => [...list.querySelectorAll('.turn')].map((li) => li.textContent);
          // A page back after missing turns 0-2: they fold into one line.
          view.update({ folded_turns: 3, summary: 'alpha; beta', recent: [
            turn('model', 'm1'), turn('user', 'u2', false)] });
          const folded = list.querySelector('.earlier summary').textContent;
          const streaming = list.lastChild;
          const hidden = streaming.getAttribute('aria-hidden');
          view.update({ folded_turns: 3, summary: 'alpha; beta', recent: [
            turn('model', 'm1'), turn('user', 'u2 done')] });
          const last = list.lastChild;
          const replaced = last !== streaming && !last.hasAttribute('aria-hidden');
          const details = list.querySelector('.earlier details');
          const toggled = new Promise((ok) => details.addEventListener('toggle', ok));
          details.open = true;
          await toggled;
          view.fill({ folded_turns: 0, summary: '', turns: [
            turn('user', 'u0'), turn('model', 'm0'), turn('user', 'u1'),
            turn('model', 'm1'), turn('user', 'u2 done')] });
          const result = { folded, hidden, replaced, asked, after: texts(),
                           earlier: list.querySelectorAll('.earlier').length };
          list.remove();
          return result;
        }"""
    )
    assert result["folded"] == "Earlier: 3 turns"
    assert result["hidden"] == "true" and result["replaced"] is True  # announced once, when final
    assert result["asked"] == 1  # opening the fold asked the backend for the history
    assert result["after"] == ["u0", "m0", "u1", "m1", "u2 done"] and result["earlier"] == 0


async def test_no_panel_and_no_badge_unless_the_backend_says_so(
    stack: Stack, browser: Browser, device: str, artifacts: Path
) -> None:
    backend = WebBackend(stack.backend.opener, WebSettings())  # an app embedding the backend
    async with serve(create_app(backend)) as url:
        context = await browser.new_context(**VIEWPORTS[device])  # type: ignore[arg-type]
        page = await context.new_page()
        await page.goto(url + "/")
        await expect(page.locator("body")).to_have_attribute("data-socket", "open")
        await expect(page.locator("#resilience")).to_be_hidden()
        await expect(page.locator("#model-badge")).to_be_hidden()
        await expect(page.locator("#hint-call .emu-only")).to_be_hidden()
        await fits(page)
        await shot(page, artifacts, device, "no-panel")
        await context.close()
        await backend.close()
