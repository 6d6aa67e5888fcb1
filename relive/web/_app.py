"""The demo backend: a Starlette app serving the page and one WebSocket per page at /ws.

The socket handler is plumbing: check Origin, take the hello, attach the page (registry), then
route each frame to the page's sessions (`_dispatch.py`) and send what they emit (its outbox).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from relive._clock import Clock, MonotonicClock
from relive.store._handles import SharedHandles
from relive.web import _dispatch as dispatch
from relive.web import _incoming as incoming
from relive.web import _panel as panel
from relive.web import _protocol as protocol
from relive.web._access import LOOPBACK_HOSTS, Access, Guard
from relive.web._bridge import KEEP_RECENT, Opener, PageSessions
from relive.web._lease import Leases
from relive.web._limits import Limits, SocketLimiter
from relive.web._notices import page_toasts
from relive.web._outbox import Outbox
from relive.web._panel import FaultSwitch
from relive.web._protocol import ProtocolError
from relive.web._registry import Attached, BusyError, ForbiddenError, PageRegistry
from relive.web._resend import ANSWER_WAIT

log = logging.getLogger("relive.web")
STATIC = Path(__file__).parent / "static"


@dataclass(frozen=True)
class WebSettings:
    """Backend knobs: how long a page may be away, limits, which origins may open the socket."""

    page_ttl: float = 60.0
    sweep_interval: float = 5.0
    hello_timeout: float = 10.0
    max_pages: int = 200
    max_pages_per_client: int = 20  # per peer IP: one client cannot hold every slot
    keep_recent: int = KEEP_RECENT  # transcript turns sent verbatim; older ones as a summary
    # How long a chat message sent again waits on a model that says nothing (`_resend.py`).
    answer_wait: float = ANSWER_WAIT
    limits: Limits = field(default_factory=Limits)
    # Host names this server answers as (others: 421, socket refused): never the request's own.
    allowed_hosts: frozenset[str] = LOOPBACK_HOSTS
    # Origins whose pages may open the socket. None: http(s)://HOST:PORT with HOST in
    # allowed_hosts and PORT the server's own.
    allowed_origins: frozenset[str] | None = None
    model_name: str = ""  # shown on the page's badge
    emulator: bool = False  # the model is relive's emulator (the page says so)
    panel: bool = False  # show the resilience panel (its server faults need `faults`)


class WebBackend:
    """The registry of pages and the sweeper that forgets pages that went away."""

    def __init__(
        self,
        opener: Opener,
        settings: WebSettings | None = None,
        clock: Clock | None = None,
        faults: FaultSwitch | None = None,
        shared: SharedHandles | None = None,
    ) -> None:
        self.settings = settings or WebSettings()
        # Several replicas: pages (secret hashes) and handles in the shared store; None: alone.
        self.shared = shared
        self.leases = Leases(shared) if shared is not None else None  # who holds which page
        self.draining = False  # SIGTERM: no new sockets, pages told to move (`_drain.py`)
        self.faults = faults  # the embedded emulator's, for the resilience panel
        self.clock = clock or MonotonicClock()
        self.opener = opener
        self._registry: PageRegistry[PageSessions] = PageRegistry(
            self.clock,
            ttl=self.settings.page_ttl,
            make_state=lambda page_id: PageSessions(
                page_id,
                opener,
                self.settings.keep_recent,
                self.clock,
                shared,
                self.settings.answer_wait,
            ),
            max_pages=self.settings.max_pages,
            max_pages_per_client=self.settings.max_pages_per_client,
        )
        self._access = Access.of(self.settings.allowed_hosts, self.settings.allowed_origins)
        self._sockets: dict[str, WebSocket] = {}
        self._sockets_changed = asyncio.Event()

    async def sweep_once(self) -> int:
        """Close and forget pages away longer than the ttl; returns how many."""
        gone = self._registry.sweep()
        if self.shared is not None and self.leases is not None:
            state, me = self.shared.state, self.leases.replica
            for attached in self._registry.attached():  # their records live on while they are here
                await state.touch_page(attached.page_id, attached.secret)
                if await state.page_owner(attached.page_id) in (None, me):
                    await state.claim_page(attached.page_id, me)
        for entry in gone:
            log.info(
                "page %s away for %.0f s: closing its sessions",
                entry.state.short,
                self.settings.page_ttl,
            )
            await entry.state.close()
        return len(gone)

    async def run_sweeper(self) -> None:
        """Forget pages gone for longer than `page_ttl`, until cancelled."""
        while True:
            await asyncio.sleep(self.settings.sweep_interval)
            await self.sweep_once()

    async def close(self) -> None:
        """Close every page's sessions."""
        for entry in self._registry.remove_all():
            await entry.state.close()

    async def forget_all(self) -> int:
        """Forget every page and close its sessions, as a restarted server would (for tests).

        The pages' sockets stay open; drop them next and the pages come back as new pages.
        """
        entries = self._registry.remove_all()
        for entry in entries:
            entry.state.outbox = None  # the page is not told: it finds out when it comes back
            await entry.state.close()
        return len(entries)

    async def sockets_closed(self) -> None:
        """Return once no page socket is open (a draining replica waits for this)."""
        while self._sockets:
            self._sockets_changed.clear()
            await self._sockets_changed.wait()

    async def drop_sockets(self, code: int = 1012) -> int:
        """Close every page socket (the pages reconnect): for tests and graceful restarts."""
        sockets = list(self._sockets.values())
        for ws in sockets:
            with contextlib.suppress(Exception):
                await ws.close(code=code, reason="server closed the socket")
        return len(sockets)

    # -- one socket ------------------------------------------------------------------------------

    async def serve(self, ws: WebSocket) -> None:
        """Serve one browser socket: hello first, then the page's messages."""
        server = ws.scope.get("server")
        port = server[1] if server else None
        origin = ws.headers.get("origin")
        if not self._access.host_allowed(ws.headers.get("host")) or not (
            self._access.origin_allowed(origin, port)
        ):
            log.warning("refused a socket from origin %r", (origin or "")[:80])
            await ws.close(code=1008, reason="origin not allowed")
            return
        await ws.accept()
        if self.draining:  # the page goes through the load balancer to another replica
            await ws.close(code=1012, reason="this replica is restarting")
            return
        limits = self.settings.limits
        try:
            first = await asyncio.wait_for(ws.receive_text(), self.settings.hello_timeout)
            hello = incoming.parse(first, limits)
            if not isinstance(hello, incoming.Hello):
                raise ProtocolError("bad_request", "the first message must be a hello")
            client = ws.client.host if ws.client else ""
            attached, taken_over = await self._attach(hello, client)
        except (TimeoutError, ProtocolError, KeyError, WebSocketDisconnect) as exc:
            text = exc.message if isinstance(exc, ProtocolError) else "expected a hello first"
            with contextlib.suppress(Exception):
                await ws.close(code=protocol.CLOSE_BAD_HELLO, reason=text[:120])
            return
        except ForbiddenError as exc:
            await ws.close(code=protocol.CLOSE_FORBIDDEN, reason=str(exc))
            return
        except BusyError as exc:
            await ws.close(code=1013, reason=str(exc))
            return
        entry = attached.entry
        page = entry.state
        old = self._sockets.get(entry.page_id)
        if old is not None:
            with contextlib.suppress(Exception):
                await old.close(code=protocol.CLOSE_REPLACED, reason="page opened another socket")
        self._sockets[entry.page_id] = ws
        outbox = Outbox()
        self._welcome(outbox, attached, taken_over)
        page.attach(outbox)
        sender = asyncio.create_task(self._send(ws, outbox))
        try:
            await dispatch.receive(self, ws, page, SocketLimiter(self.clock, limits), outbox)
        except Exception as exc:  # one line, not a traceback a client could repeat at will
            log.error(
                "page %s: socket failed: %s", page.short, f"{type(exc).__name__}: {exc}"[:200]
            )
            outbox.finish(1011, "internal error")
        finally:
            page.detach(outbox)
            outbox.close()
            self._registry.detach(entry.page_id, attached.generation)
            if self._sockets.get(entry.page_id) is ws:
                del self._sockets[entry.page_id]
                self._sockets_changed.set()
            if outbox.final is not None:  # let the last refusal and the close go out
                await asyncio.wait([sender], timeout=2.0)
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await sender

    def _welcome(self, outbox: Outbox, attached: Attached[PageSessions], taken_over: bool) -> None:
        page = attached.entry.state
        outbox.send(
            protocol.Welcome(
                secret=attached.entry.secret,
                fresh=attached.fresh,
                sessions={m: ms.status for m, ms in page.sessions.items()},
                model={"name": self.settings.model_name, "emulator": self.settings.emulator},
                panel=self.settings.panel,
                faults=panel.available(self.faults) if self.settings.panel else [],
                toasts=page_toasts(),
                received=dict(page.received),
            )
        )
        if taken_over:  # what the store covers is safe: the page may forget it
            for mode, seq in page.received.items():
                if seq:
                    outbox.send(protocol.Covered(mode, seq))

    async def _attach(
        self, hello: incoming.Hello, client: str
    ) -> tuple[Attached[PageSessions], bool]:
        """The registry's attach, with the secret checked through the shared store when the page
        was made on another replica (a wrong secret is refused on every replica). Also whether
        this replica takes the page over from another one (then it has what the store covers)."""
        known = False
        if self.shared is not None and hello.page not in self._registry:
            check = await self.shared.state.check_page(hello.page, hello.secret)
            if check.known and not check.allowed:
                raise ForbiddenError("this page id belongs to another page")
            known = check.known
        attached = self._registry.attach(hello.page, hello.secret, client, known=known)
        if self.shared is not None and self.leases is not None:
            await self.shared.state.remember_page(hello.page, attached.entry.secret)
            await self.leases.claim(hello.page)  # a replica that still holds it gives it up
            if known:
                page = attached.entry.state
                for mode in protocol.MODES:
                    covers = await self.shared.stored(page.owner, mode)
                    page.received[mode] = covers or 0
                    if covers is None and mode == "text":
                        page.unrecorded.add(mode)  # its chat, if it had one, starts anew here
        return attached, known

    async def _send(self, ws: WebSocket, outbox: Outbox) -> None:
        while (item := await outbox.queue.get()) is not None:
            if isinstance(item, bytes):
                await ws.send_bytes(item)
            else:
                await ws.send_json(item)
        if outbox.overflowed.is_set():
            code, reason = 1013, "page too slow; reconnect"
        else:
            code, reason = outbox.final or (1000, "")
        with contextlib.suppress(Exception):
            await ws.close(code=code, reason=reason)


def create_app(backend: WebBackend) -> Starlette:
    """The ASGI app. `backend` decides how sessions are opened (emulator or Gemini)."""

    async def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html")  # the Guard adds SECURITY_HEADERS

    async def favicon(request: Request) -> Response:
        return Response(status_code=204)

    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True})  # no page count: that is nobody's business

    async def ready(request: Request) -> Response:
        # The load balancer's (and Kubernetes') readiness: not ready while draining.
        if backend.draining:
            return JSONResponse({"ready": False, "draining": True}, status_code=503)
        return JSONResponse({"ready": True})

    async def socket(ws: WebSocket) -> None:
        await backend.serve(ws)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        tasks = [asyncio.create_task(backend.run_sweeper())]
        if backend.leases is not None:
            tasks.append(asyncio.create_task(backend.leases.watch(backend)))
        try:
            yield {}
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await backend.close()

    app = Starlette(
        routes=[
            Route("/", index),
            Route("/healthz", health),
            Route("/readyz", ready),
            Route("/favicon.ico", favicon),
            WebSocketRoute("/ws", socket),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ],
        middleware=[Middleware(Guard, access=backend._access)],
        lifespan=lifespan,
    )
    app.state.backend = backend
    return app
