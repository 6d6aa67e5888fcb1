"""SIGTERM on one replica of several: every page moves to another replica without noticing.

The order matters. Taking no new sockets comes first (and `/readyz` says so, so the load balancer
stops sending any). Each Live session is then let finish the answer it is giving (a safe point),
closed (which closes its Gemini connection: the next replica's resume is not refused because this
one still holds it) with its newest handle and transcript left in the shared store. Only then is
each page told to move, a relive-level `goaway` before the socket's 1012 close: it reconnects at
once, through the load balancer, to a replica that resumes from the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING

from relive.web._protocol import Goaway

if TYPE_CHECKING:
    from relive.web._app import WebBackend
    from relive.web._bridge import PageSessions
    from relive.web._mode_session import ModeSession

log = logging.getLogger("relive.web")

SAFE_POINT_SHARE = 0.6  # of the drain timeout spent waiting for answers to finish


async def _safe_point(ms: ModeSession) -> None:
    """Return once the model is not in the middle of an answer on this session."""
    session = ms.session
    if session is None or not ms.alive:
        return
    done = asyncio.Event()
    session.after_generation_complete(done.set)
    await done.wait()


async def _close_sessions(page: PageSessions) -> None:
    """Close the page's sessions without telling the page they ended (it moves instead)."""
    page.released = True  # a chat sent from now on waits for the next replica
    outbox, page.outbox = page.outbox, None  # their "ended" status must not reach the page
    for ms in list(page.sessions.values()):
        await ms.close()
    page.sessions.clear()
    page.outbox = outbox


async def drain(backend: WebBackend, within: float, unready_grace: float = 1.0) -> int:
    """Move every page off this replica within `within` seconds; returns how many were told."""
    started = time.monotonic()
    backend.draining = True
    if backend.shared is not None:
        backend.shared.keep_shared = True  # closing a session leaves its handle for the next one
    if backend.leases is not None:
        await backend.leases.stop()  # a replica a page moves to need not wait for this one
    pages = [entry.state for entry in backend._registry.remove_all()]
    log.warning("draining: %d page(s) to move within %.0f s", len(pages), within)
    sessions = [ms for page in pages for ms in page.sessions.values()]
    waits = [asyncio.ensure_future(_safe_point(ms)) for ms in sessions]
    # Meanwhile the load balancer sees /readyz fail, so a moving page is not sent back here.
    grace = asyncio.ensure_future(asyncio.sleep(min(unready_grace, within / 4)))
    _, late = await asyncio.wait([grace, *waits], timeout=within * SAFE_POINT_SHARE)
    for w in late:
        w.cancel()
    if late - {grace}:
        log.warning("draining: %d session(s) closed mid-answer", len(late - {grace}))
    for page in pages:
        await _close_sessions(page)
    if backend.shared is not None:
        left = max(0.1, within - (time.monotonic() - started))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(backend.shared.flush(), left / 2)
    told = 0
    for page in pages:
        if page.outbox is not None:
            page.emit(Goaway())
            page.outbox.finish(1012, "this replica is restarting; reconnect")
            told += 1
    left = max(0.1, within - (time.monotonic() - started))
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(backend.sockets_closed(), left)
    log.warning("drained in %.1f s: %d page(s) told to move", time.monotonic() - started, told)
    return told
