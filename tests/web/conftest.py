"""Fixtures for the web tests: emulator + real backend on 127.0.0.1, and Debian's chromium."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright

from relive import HandleStore, Policy
from relive.emulator import Emulator, EmulatorSettings
from relive.web import SessionSettings, WebBackend, WebSettings, create_app, make_opener, serve
from relive.web._notices import NOTICES
from relive.web._protocol import NoticeKind
from tests.web.fake_mic import write_fake_mic

# The page shows the backend's words, never its own copy: the toasts the tests expect.
RECONNECTED = NOTICES[NoticeKind.RECONNECTED]["call"]
NEW_CALL = NOTICES[NoticeKind.NEW_SESSION]["call"]  # the session manager's `NewSession.notice`

CHROMIUM = Path(os.environ.get("RELIVE_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"

# Headless Debian chromium with a fake microphone that plays a file (see fake_mic.py).
ARGS = [
    "--no-sandbox",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Short everything: a reply is a fraction of a second of audio, silence ends an utterance fast.
FAST = EmulatorSettings(
    speech_seconds_per_char=0.01,
    turn_complete_lag_factor=0.2,
    default_silence_duration_ms=300,
)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Browser tests need chromium: skipped without it on a laptop, a failure under CI (`CI` set,
    as every CI service sets it), where a missing browser must never pass unnoticed."""
    if item.get_closest_marker("browser") is None or CHROMIUM.exists():
        return
    if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
        pytest.fail(f"{CHROMIUM} missing and CI is set: install it (make system-deps)", False)
    pytest.skip(f"{CHROMIUM} missing (make system-deps)")


@dataclass
class Stack:
    emulator: Emulator
    backend: WebBackend
    handles: HandleStore
    url: str


@pytest.fixture
async def stack() -> AsyncIterator[Stack]:
    async with Emulator(FAST, tls=True) as emu:
        handles = HandleStore()
        opener = make_opener(
            emu.client(api_key="test-key"),
            SessionSettings(policy=Policy(backoff_initial=0.05, give_up_after=10.0)),
            handles,
        )
        settings = WebSettings(page_ttl=30.0, sweep_interval=0.5, emulator=True, panel=True)
        backend = WebBackend(opener, settings, faults=emu.faults)
        async with serve(create_app(backend)) as url:
            yield Stack(emu, backend, handles, url)


@pytest.fixture(scope="session")
def fake_mic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_fake_mic(tmp_path_factory.mktemp("mic") / "speech.wav")


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
async def browser(fake_mic: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[*ARGS, f"--use-file-for-fake-audio-capture={fake_mic}"],
        )
        yield browser
        await browser.close()
