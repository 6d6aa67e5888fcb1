"""Make docs/screenshot.png: the demo mid-call, with the resilience panel after a few faults.

    .venv/bin/python -m tests.web.screenshot [OUT.png]

Starts the emulator and the backend on 127.0.0.1 like the tests do, drives Debian's chromium with
the fake microphone, presses the panel's buttons and waits on the page's state (no sleeps).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from playwright.async_api import async_playwright, expect

from relive import HandleStore
from relive.emulator import Emulator
from relive.web import SessionSettings, WebBackend, WebSettings, create_app, make_opener, serve
from tests.web.conftest import ARGS, CHROMIUM, FAST
from tests.web.fake_mic import write_fake_mic

DEFAULT_OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshot.png"


async def main(out: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        mic = write_fake_mic(Path(tmp) / "speech.wav", speech=0.6, silence=1.6)
        async with Emulator(FAST, tls=True) as emu:
            opener = make_opener(emu.client(), SessionSettings(), HandleStore())
            settings = WebSettings(model_name="relive-emulator", emulator=True, panel=True)
            backend = WebBackend(opener, settings, faults=emu.faults)
            async with serve(create_app(backend)) as url, async_playwright() as pw:
                browser = await pw.chromium.launch(
                    executable_path=str(CHROMIUM),
                    headless=True,
                    args=[*ARGS, f"--use-file-for-fake-audio-capture={mic}"],
                )
                page = await browser.new_page(viewport={"width": 1100, "height": 620})
                page.set_default_timeout(15_000)
                await page.goto(url + "/")
                await expect(page.locator("body")).to_have_attribute("data-socket", "open")
                await page.click("#call-start")
                model = page.locator("#transcript-call .turn.model:not(.streaming)")
                await expect(model.nth(0)).to_contain_text("(turn 1")
                await page.click("[data-fault=goaway]")  # planned: nothing shows
                await expect(page.locator("#m-reconnects")).to_have_text("1")
                await expect(model.nth(1)).to_contain_text("(turn 2")
                await page.click("[data-fault=drop]")  # unplanned: "Reconnected"
                await expect(page.locator("#m-reconnects")).to_have_text("2")
                await expect(model.nth(2)).to_contain_text("(turn 3")
                await page.click("[data-fault=drop_page]")  # the browser's own socket
                await expect(page.locator(".toast .text")).to_have_text("Reconnected")
                await expect(model.nth(3)).to_contain_text("(turn 4")
                await page.screenshot(path=str(out), animations="disabled")
                await browser.close()
    print(f"wrote {out}")


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT))
