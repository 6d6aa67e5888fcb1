"""Pages that went away: their sessions are closed and forgotten after the ttl (manual clock)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from relive.clock import ManualClock
from relive.session.events import Connected, Event
from relive.transcript import Transcript
from relive.web.app import WebBackend, WebSettings
from relive.web.bridge import LiveSession, Outbox
from relive.web.protocol import Mode


class RecordingSession:
    """Stands in for a relive session: says Connected, then waits until closed."""

    def __init__(self) -> None:
        self.transcript = Transcript()
        self.sent: list[object] = []

    async def send_client_content(self, **kwargs: object) -> None:
        self.sent.append(kwargs)

    async def send_realtime_input(self, **kwargs: object) -> None:
        self.sent.append(kwargs)

    async def events(self) -> AsyncIterator[Event]:
        yield Connected(resumed=False)
        await asyncio.Event().wait()


class RecordingOpener:
    def __init__(self) -> None:
        self.opened: list[tuple[Mode, str]] = []
        self.closed: list[tuple[Mode, str]] = []

    @contextlib.asynccontextmanager
    async def __call__(self, mode: Mode, owner: str) -> AsyncIterator[LiveSession]:
        self.opened.append((mode, owner))
        try:
            yield RecordingSession()
        finally:
            self.closed.append((mode, owner))


async def test_sweeper_closes_sessions_of_pages_gone_longer_than_ttl() -> None:
    clock = ManualClock()
    opener = RecordingOpener()
    backend = WebBackend(opener, WebSettings(page_ttl=30.0), clock=clock)
    page_id = "c" * 32
    attached = backend.registry.attach(page_id, None)
    page = attached.entry.state
    outbox = Outbox()
    page.attach(outbox)
    call = page.session("call")
    assert await call.send_audio(b"\0\0")  # waits until the session is open
    assert opener.opened == [("call", page_id)]

    page.detach(outbox)
    backend.registry.detach(page_id, attached.generation)
    clock.advance(29.0)
    assert await backend.sweep_once() == 0
    assert opener.closed == []
    clock.advance(1.0)
    assert await backend.sweep_once() == 1
    assert opener.closed == [("call", page_id)]
    assert page_id not in backend.registry
    assert not call.alive


async def test_status_and_transcript_reach_the_attached_socket() -> None:
    backend = WebBackend(RecordingOpener(), clock=ManualClock())
    attached = backend.registry.attach("d" * 32, None)
    page = attached.entry.state
    outbox = Outbox()
    page.attach(outbox)
    assert await page.session("text").send_text("hello")
    seen = []
    while not outbox.queue.empty():
        seen.append(outbox.queue.get_nowait())
    kinds = [m["type"] for m in seen if isinstance(m, dict)]
    assert "status" in kinds
    assert any(
        isinstance(m, dict) and m["type"] == "status" and m["status"] == "live" for m in seen
    )
    await backend.close()
