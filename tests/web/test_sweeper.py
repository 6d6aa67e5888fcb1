"""Pages that went away: their sessions are closed and forgotten after the ttl (manual clock).

The sessions are real relive sessions on the emulator; only the backend's clock is manual.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from relive import HandleStore, ManualClock
from relive.emulator import Emulator
from relive.web import SessionSettings, WebBackend, WebSettings, make_opener
from relive.web._bridge import owner_of
from relive.web._outbox import Outbox


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    async with Emulator(tls=True) as emu:
        yield emu


async def test_sweeper_closes_sessions_of_pages_gone_longer_than_ttl(emulator: Emulator) -> None:
    clock = ManualClock()
    handles = HandleStore()
    opener = make_opener(emulator.client(), SessionSettings(), handles)
    backend = WebBackend(opener, WebSettings(page_ttl=30.0), clock=clock)
    page_id = "c" * 32
    attached = backend._registry.attach(page_id, None)
    page = attached.entry.state
    outbox = Outbox()
    page.attach(outbox)
    chat = page.session("text")
    assert await chat.send_text("hello")  # waits until the session is open
    await emulator.wait_for(lambda s: s.turns_completed >= 1)
    await emulator.wait_for(lambda s: s.handles_issued >= 1)

    page.detach(outbox)
    backend._registry.detach(page_id, attached.generation)
    clock.advance(29.0)
    assert await backend.sweep_once() == 0
    assert chat.alive
    clock.advance(1.0)
    assert await backend.sweep_once() == 1
    assert not chat.alive
    assert page_id not in backend._registry
    assert (owner_of(page_id), "text") not in handles  # its handle is forgotten with it
    await emulator.wait_for(lambda s: s.open_connections == 0)
    await backend.close()


async def test_a_page_back_in_time_keeps_its_session(emulator: Emulator) -> None:
    clock = ManualClock()
    backend = WebBackend(
        make_opener(emulator.client(), SessionSettings()), WebSettings(page_ttl=30.0), clock=clock
    )
    attached = backend._registry.attach("d" * 32, None)
    chat = attached.entry.state.session("text")
    assert await chat.send_text("hello")
    backend._registry.detach("d" * 32, attached.generation)
    clock.advance(20.0)
    backend._registry.attach("d" * 32, attached.entry.secret)
    clock.advance(100.0)
    assert await backend.sweep_once() == 0
    assert chat.alive
    await backend.close()
    assert not chat.alive
