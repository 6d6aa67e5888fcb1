"""Run the web app under uvicorn inside the current event loop, on a socket bound up front.

Binding first means port 0 works and the URL is known before the first request: the CLI prints
it, tests point the browser at it.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from types import FrameType

import uvicorn
from starlette.applications import Starlette
from uvicorn.config import WS_PROTOCOLS

MAX_FRAME = 1 << 20  # uvicorn closes the socket (1009) beyond this; smaller limits answer clearly


class Running(str):
    """The base URL (http://host:port) of a running server; `wait()` returns when it stops."""

    task: asyncio.Task[None]

    async def wait(self) -> None:
        """Return when the server stops."""
        await asyncio.shield(self.task)


class _Server(uvicorn.Server):
    """uvicorn's server, with SIGTERM handed to `on_term` (a drain) before it stops."""

    def __init__(self, config: uvicorn.Config, on_term: Callable[[], Awaitable[object]] | None):
        super().__init__(config)
        self._on_term = on_term
        self._loop = asyncio.get_running_loop()
        self._draining: asyncio.Task[None] | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if sig != signal.SIGTERM or self._on_term is None:
            super().handle_exit(sig, frame)
        elif self._draining is None:  # a second SIGTERM while draining changes nothing
            self._loop.call_soon_threadsafe(self._start_drain)

    def _start_drain(self) -> None:
        if self._draining is None:
            self._draining = asyncio.create_task(self._drain())

    async def _drain(self) -> None:
        assert self._on_term is not None
        try:
            await self._on_term()
        finally:
            self.should_exit = True


@contextlib.asynccontextmanager
async def serve(
    app: Starlette,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    on_term: Callable[[], Awaitable[object]] | None = None,
    trusted_proxies: Sequence[str] = (),
) -> AsyncIterator[Running]:
    """Serve `app` until the block ends (or a signal stops it); yields its base URL.

    `on_term`: run on SIGTERM before the server stops (a replica's drain); without it SIGTERM
    stops the server at once, as Ctrl-C does. `trusted_proxies`: addresses (or networks) of the
    load balancers whose `X-Forwarded-For` names the client, so the per-client page cap counts
    browsers, not the balancer. Empty (the default): the header is ignored, as anyone can send it.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    bound = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        log_level="warning",
        ws="websockets-sansio" if "websockets-sansio" in WS_PROTOCOLS else "websockets",
        ws_max_size=MAX_FRAME,
        ws_ping_interval=20.0,
        ws_ping_timeout=20.0,
        lifespan="on",
        proxy_headers=bool(trusted_proxies),
        forwarded_allow_ips=list(trusted_proxies) or None,
    )
    server = _Server(config, on_term)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                await task  # surfaces the startup error
                raise RuntimeError("the web server stopped while starting")
            await asyncio.sleep(0.01)
        shown = f"[{host}]" if family == socket.AF_INET6 else host
        running = Running(f"http://{shown}:{bound}")
        running.task = task
        yield running
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task
        sock.close()
