"""One replica holds a page at a time: the page's lease in the shared store.

A page socket that blips may come back through the load balancer to another replica, while the
first one still runs the page's Live sessions (a page away is kept for its TTL). The replica the
page comes to claims the page's lease; the one that held it sees the claim within `CHECK_EVERY`
seconds (it watches its pages that have no socket) and gives the page up at once: it closes the
page's sessions with their newest handles and transcripts left in the store, then marks the page
released. The claimer waits for that mark (at most `HANDOFF_WAIT`) before it reads the page's
record, so it resumes from the newest handle; it does not wait for a holder that is gone (its
heartbeat, renewed every `CHECK_EVERY`, lapsed: a crash) or that is draining (it drops its
heartbeat first, and moves its pages itself).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from typing import TYPE_CHECKING

from relive.store._state import SharedState

if TYPE_CHECKING:
    from relive.store._handles import SharedHandles
    from relive.web._app import WebBackend

log = logging.getLogger("relive.web")

CHECK_EVERY = 0.1  # seconds between a replica's looks at its leases (and heartbeats)
# A replica not heard of for this long is gone. After a crash every page of the dead replica
# waits this long (at most) before the one it lands on reads its record: at 1 s that was 0.74 s
# of a 2.4 s move (100 calls). A live replica stalled past it is only taken for gone: its pages'
# resumes are refused (1011) until it sees the claim, and retried.
BEAT_TTL = 0.5
HANDOFF_WAIT = 3.0  # the longest a claimer waits for the holder to give the page up


class Leases:
    """This replica's side of the page leases."""

    def __init__(self, shared: SharedHandles) -> None:
        self.shared = shared
        self.state: SharedState = shared.state
        self.replica = secrets.token_hex(8)  # this process, among the replicas

    async def claim(self, page_id: str) -> None:
        """The page is here now; return once its previous holder (if alive) gave it up."""
        before = await self.state.claim_page(page_id, self.replica)
        if before is None or before == self.replica:
            return
        started = time.monotonic()
        while time.monotonic() - started < HANDOFF_WAIT:
            if await self.state.released(page_id, before) or not await self.state.alive(before):
                return
            await asyncio.sleep(0.05)
        log.warning("a page's previous replica did not give it up within %.0f s", HANDOFF_WAIT)

    async def watch(self, backend: WebBackend) -> None:
        """Until cancelled: keep this replica's heartbeat, give up pages claimed elsewhere."""
        while not backend.draining:
            await self.state.beat(self.replica, BEAT_TTL)
            for entry in backend._registry.away():
                if await self.state.page_owner(entry.page_id) not in (None, self.replica):
                    await self.give_up(backend, entry.page_id)
            await asyncio.sleep(CHECK_EVERY)

    async def give_up(self, backend: WebBackend, page_id: str) -> None:
        """Another replica took the page: close its sessions here, their handles left in the
        store for it, and say so."""
        entry = backend._registry.remove(page_id)
        if entry is None:
            return
        page = entry.state
        self.shared.keep(page.owner)
        try:
            await page.close()
            await self.shared.flush()
        finally:
            self.shared.unkeep(page.owner)
        await self.state.release_page(page_id, self.replica)
        log.info("page %s moved to another replica: its sessions here are closed", page.short)

    async def stop(self) -> None:
        """Draining: claimers need not wait for this replica (it moves its pages itself)."""
        await self.state.forget_beat(self.replica)
