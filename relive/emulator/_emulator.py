"""`Emulator`: the offline Gemini Live server as an async context manager, and its `Faults`."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import ssl
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from relive._clock import Clock, ManualClock, MonotonicClock
from relive._net import is_loopback
from relive.emulator import _closes as closes
from relive.emulator._closes import CloseReason
from relive.emulator._codec import ClientMessage, ProtocolError, decode
from relive.emulator._connection import LiveConnection
from relive.emulator._control import check_token, handle_control
from relive.emulator._faults import (
    MAX_HOLD,
    MAX_LATENCY,
    MAX_PING_DELAY,
    MAX_TIME_LEFT,
    FaultPlan,
    bounded,
)
from relive.emulator._handles import HandleRegistry, TokenFactory, default_token
from relive.emulator._link import Link
from relive.emulator._rest import handle_rest, is_rest
from relive.emulator._routes import authenticate, match_route
from relive.emulator._settings import EmulatorSettings
from relive.emulator._socket import EmulatorConnection
from relive.emulator._stats import EmulatorEvent, EmulatorStats, EventKind, EventLog
from relive.emulator._tls import LocalTLS
from relive.emulator._tokens import TokenRegistry

if TYPE_CHECKING:
    from google import genai
    from google.genai import types

log = logging.getLogger("relive.emulator")


def _one_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:200].replace("\n", " ")


class Faults:
    """Faults on demand, applied to the emulator's open connections."""

    def __init__(self, emulator: Emulator) -> None:
        self._emu = emulator
        self._plan = emulator._plan

    def drop(self) -> int:
        """Abort every open connection now: no close frame (clients see 1006)."""
        links = list(self._emu._links.values())
        for link in links:
            link.abort_now("drop fault")
        return len(links)

    def silent_drop(self, hold: float | None = None) -> int:
        """Drop every open connection without a FIN as a dead network does: the client sees
        1006, but the server holds each socket `hold` seconds (default `silent_drop_hold`,
        ~15 min as reported), refusing resumption with 1011 until then."""
        seconds = self._emu.settings.silent_drop_hold if hold is None else hold
        seconds = bounded("hold", seconds, MAX_HOLD)
        links = list(self._emu._links.values())
        for link in links:
            link.machine.hold_on_drop(seconds)
            link.abort_now("silent drop fault")
        return len(links)

    def drop_mid_turn(self) -> None:
        """Arm: abort the next connection that has sent at least one chunk of a reply."""
        self._plan.drop_mid_turn = True

    def goaway_now(self, time_left: float | None = None) -> int:
        """Send goAway to every open connection; close each at the new deadline (the profile's
        deadline close: 1008 on every current model)."""
        if time_left is not None:
            time_left = bounded("time_left", time_left, MAX_TIME_LEFT)
        links = list(self._emu._links.values())
        for link in links:
            link.apply(link.machine.go_away_now(time_left))
        return len(links)

    def silent_after_goaway(self, on: bool = True) -> None:
        """After a goAway, send nothing more until the close."""
        self._plan.silent_after_goaway = on

    def withhold_handles(self, on: bool = True) -> None:
        """Send no `sessionResumptionUpdate` until switched off: a client's newest handle stays
        the one before, older than the answers given since (as when the process that held the
        connection died between an answer and storing the handle that followed it)."""
        self._plan.withhold_handles = on

    def close(self, code: int = 1011, reason: str = "Internal error encountered.") -> int:
        """Close every open connection with this code and reason."""
        links = list(self._emu._links.values())
        for link in links:
            link.apply(link.machine.close_now(CloseReason(code, reason)))
        return len(links)

    def refuse_next_resumption(self) -> None:
        """Reject the next resumption attempt as if its handle were unknown (1008)."""
        self._plan.refuse_next_resumption = True

    def expire_all_handles(self) -> None:
        """Every handle issued so far is expired (1007 on use)."""
        self._emu._registry.expire_all()

    def set_latency(self, seconds: float) -> None:
        """Delay every server message by `seconds` (0 to 60)."""
        self._plan.latency = bounded("latency", seconds, MAX_LATENCY)

    def set_ping_delay(self, seconds: float) -> None:
        """Answer WebSocket pings `seconds` late (0 to 120)."""
        self._plan.ping_delay = bounded("ping_delay", seconds, MAX_PING_DELAY)

    def reset(self) -> None:
        """Disarm every fault."""
        self._plan.drop_mid_turn = self._plan.silent_after_goaway = False
        self._plan.withhold_handles = False
        self._plan.refuse_next_resumption = False
        self._plan.latency = self._plan.ping_delay = 0.0

    @property
    def latency(self) -> float:
        """Seconds every server message is delayed now (`set_latency`)."""
        return self._plan.latency

    @property
    def ping_delay(self) -> float:
        """Seconds every pong is held back now (`set_ping_delay`)."""
        return self._plan.ping_delay

    @property
    def armed(self) -> frozenset[str]:
        """The switches now on, by their method's name: `drop_mid_turn`,
        `refuse_next_resumption` (each until it fires), `silent_after_goaway`,
        `withhold_handles`."""
        plan = self._plan
        on = {
            "drop_mid_turn": plan.drop_mid_turn,
            "refuse_next_resumption": plan.refuse_next_resumption,
            "silent_after_goaway": plan.silent_after_goaway,
            "withhold_handles": plan.withhold_handles,
        }
        return frozenset(name for name, value in on.items() if value)


class Emulator:
    """An offline Gemini Live server that the official SDKs connect to unchanged."""

    def __init__(
        self,
        settings: EmulatorSettings | None = None,
        *,
        tls: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Clock | None = None,
        api_keys: set[str] | frozenset[str] | None = None,
        token_factory: TokenFactory = default_token,
        ca_file: str | Path | None = None,
        control_token: str | None = None,
        on_event: Callable[[EmulatorEvent], object] | None = None,
    ) -> None:
        self.settings = settings or EmulatorSettings()
        self.host = host
        self.clock: Clock = clock or MonotonicClock()
        self.api_keys = frozenset(api_keys) if api_keys is not None else None
        # Needed by the HTTP control endpoints of a client not on loopback (a secret: never log).
        self.control_token = check_token(control_token)
        self._plan = FaultPlan()
        self._registry = HandleRegistry(self.clock, self.settings.handle_ttl, token_factory)
        self._tokens = TokenRegistry(self.clock)  # ephemeral tokens minted over REST
        # `on_event` hooks see every event as it happens, `sent` and `received` too (a
        # `received` event's data has `conn` and the decoded client `message`).
        self.on_event: list[Callable[[EmulatorEvent], object]] = [on_event] if on_event else []
        self._log = EventLog(hooks=self.on_event)
        self.faults = Faults(self)
        self._links: dict[int, Link] = {}
        self._tls = LocalTLS(ca_file) if tls else None
        self._requested_port = port
        self._server: Server | None = None
        self._ids = itertools.count(1)
        self._manual = isinstance(self.clock, ManualClock)

    # ----- lifecycle ---------------------------------------------------------------------

    async def start(self) -> Emulator:
        """Bind and start serving; returns the emulator (port 0 becomes a free port)."""
        if not is_loopback(self.host):
            log.warning(
                "relive emulator: listening on %s, not loopback: anyone who can reach this "
                "port can open Live sessions%s; control endpoints need the control token",
                self.host,
                "" if self.api_keys else " with any key (set api_keys)",
            )
        self._server = await serve(
            self._handle,
            self.host,
            self._requested_port,
            ssl=self._tls.server_context() if self._tls else None,
            process_request=self._process_request,
            create_connection=EmulatorConnection,  # REST bodies, late pongs
            max_size=self.settings.max_frame_bytes * 2 + 1024,
            max_queue=4,  # frames read ahead per connection: bounds its memory to a few frames
            ping_interval=self.settings.keepalive_interval or None,
            ping_timeout=self.settings.keepalive_timeout or None,
            close_timeout=self.settings.keepalive_timeout or 10.0,
            compression=None,
        )
        return self

    async def stop(self) -> None:
        """Close every connection and stop serving."""
        if self._server is not None:
            self._server.close(close_connections=True)
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> Emulator:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def serve_forever(self) -> None:
        """Serve until cancelled (the `relive emulator` command)."""
        assert self._server is not None
        await self._server.serve_forever()

    # ----- addresses and clients -----------------------------------------------------------

    @property
    def port(self) -> int:
        """The port it listens on (known once started)."""
        if self._server is None:
            raise RuntimeError("the emulator is not running (use `async with Emulator(...)`)")
        sock = next(iter(self._server.sockets))
        port: int = sock.getsockname()[1]
        return port

    @property
    def url(self) -> str:
        """Base URL for the SDKs: https:// with TLS on (the Python SDK then uses wss://)."""
        scheme = "https" if self._tls else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"

    @property
    def ws_url(self) -> str:
        """The WebSocket base URL (wss:// with TLS, ws:// without)."""
        return self.url.replace("http", "ws", 1)

    @property
    def ca_pem_path(self) -> Path | None:
        """The test CA's PEM file that clients trust (None without TLS)."""
        return self._tls.ca_pem_path if self._tls else None

    def ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts the emulator's CA."""
        if self._tls is None:
            raise RuntimeError("the emulator runs without TLS (tls=False): no SSL context")
        return self._tls.client_context()

    def client(
        self, api_key: str = "test-key", api_version: str | None = None, vertexai: bool = False
    ) -> genai.Client:
        """A `google.genai.Client` wired to this emulator. `api_version` None: `v1beta` on the
        Developer API, the SDK's own default (`v1beta1`) on Vertex AI."""
        from google import genai

        if api_version is None and not vertexai:
            api_version = "v1beta"
        options = self.http_options(api_version)
        if vertexai:
            options.headers = {"x-goog-api-key": api_key}
        return genai.Client(api_key=api_key, vertexai=vertexai, http_options=options)

    def http_options(self, api_version: str | None = "v1beta") -> types.HttpOptions:
        """`HttpOptions` that point an SDK client at this emulator (TLS trusted).

        For code that builds its own `genai.Client` from an API key and `http_options`, as
        Pipecat's and LiveKit's Gemini services do.
        """
        from google.genai import types

        if self._tls is None:
            raise RuntimeError(
                "the Python SDK always connects with wss://: start the emulator with tls=True "
                "(tls=False serves ws:// for the JS SDK and raw websockets clients)"
            )
        context = self.ssl_context()
        args: dict[str, Any] = {"ssl": context, "verify": context}
        return types.HttpOptions(
            base_url=self.url,
            api_version=api_version,
            async_client_args=args,
            client_args={"verify": context},  # REST calls (auth_tokens.create) over httpx
        )

    # ----- observation -------------------------------------------------------------------

    @property
    def stats(self) -> EmulatorStats:
        """Counters so far: sessions, connections, handles, faults."""
        return self._log.stats

    @property
    def events(self) -> list[EmulatorEvent]:
        """Everything that happened, in order (goaway, resumed, closes...)."""
        return self._log.events

    def session_audio_seconds(self) -> float:
        """Seconds of user audio the session of the newest open connection holds (0.0 with no
        connection open): what a resumed conversation kept of what was said."""
        if not self._links:
            return 0.0
        return self._links[max(self._links)].machine.conversation.audio_seconds

    def session_of(self, conn: int) -> str | None:
        """The emulator's name of the session open connection `conn` carries (`s-1`, ...; a
        resumed connection keeps its session's), or None when it is not open."""
        link = self._links.get(conn)
        return link.machine.session_id if link is not None else None

    def user_turns_held(self) -> list[str]:
        """The words of every user turn the model holds now, across its sessions (a turn held
        twice is listed twice): what a bench counts to see nothing was lost or said twice."""
        return [
            turn.text
            for conversation in self._registry.conversations()
            for turn in conversation.turns
            if turn.role == "user"
        ]

    @property
    def resumption_spends_use(self) -> bool:
        """Whether resuming on an ephemeral token spends one of its uses (default False: it
        does not, as the real service by Sep 2026; set True for the early-2026 behaviour)."""
        return self._tokens.resumption_spends_use

    @resumption_spends_use.setter
    def resumption_spends_use(self, spends: bool) -> None:
        self._tokens.resumption_spends_use = spends

    async def wait_for(
        self,
        predicate: Callable[[EmulatorStats], bool],
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> None:
        """Wait until `predicate(stats)` holds (TimeoutError after `timeout` seconds)."""
        await self._log.wait_for(predicate, timeout)

    async def wait_event(
        self,
        kind: str,
        timeout: float = 5.0,  # noqa: ASYNC109
        after: int = 0,
        **match: Any,
    ) -> EmulatorEvent:
        """Wait for an event of `kind` (newer than seq `after`) whose data has `match`."""
        return await self._log.wait_event(kind, timeout, after, **match)

    def advance(self, seconds: float) -> None:
        """With a `ManualClock`: move time on and run the timers that came due."""
        if not isinstance(self.clock, ManualClock):
            raise RuntimeError("advance() needs the emulator to run on a ManualClock")
        self.clock.advance(seconds)
        for link in list(self._links.values()):
            link.fire_due()

    # ----- serving -----------------------------------------------------------------------

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        if request.path.lstrip("/").startswith("emulator/"):
            return handle_control(self, connection, request)
        if is_rest(request.path):
            return handle_rest(self, connection, request)
        if match_route(request.path) is None:
            path = request.path.partition("?")[0]  # never echo a ?key=
            return connection.respond(404, f"Not found: no Live endpoint at {path}\n")
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        route = match_route(ws.request.path if ws.request else "")
        assert route is not None and ws.request is not None
        auth = authenticate(ws.request.path, ws.request.headers, route, self.api_keys)
        conn_id = next(self._ids)
        machine = LiveConnection(
            conn_id, auth, self.settings, self._registry, self._plan, self.clock, self._tokens
        )
        link = Link(ws, machine, self._plan, self._log.record, self._manual)
        self._links[conn_id] = link  # before connection_opened: observers look the link up
        self.stats.open_connections += 1
        opened = {"conn": conn_id, "path": route.method, "vertex": route.vertex}
        self._log.record(EventKind.CONNECTION_OPENED, opened)
        link.apply(machine.start())
        sender = asyncio.create_task(link.sender())
        limit = self.settings.max_frame_bytes
        try:
            async for frame in ws:
                try:
                    message: ClientMessage | ProtocolError = decode(frame, limit)
                except ProtocolError as exc:
                    # A fresh one: the raised one's traceback and context hold this frame.
                    message = ProtocolError(exc.close)
                self._log.received(conn_id, message)
                link.apply(machine.receive(message))
                link.took_in()  # a ping read after this frame may be answered now
        except ConnectionClosed:
            pass
        except Exception as exc:  # never let one connection take the server down
            # One line (a client must not be able to fill the log); the traceback at DEBUG.
            log.error("emulator connection %s failed: %s", conn_id, _one_line(exc))
            log.debug("emulator connection %s failed", conn_id, exc_info=True)
            link.apply(machine.close_now(closes.INTERNAL))
            await asyncio.wait([sender], timeout=5.0)  # let the 1011 close go out
        finally:
            link.cancel_all_timers()
            link.apply(machine.connection_lost())
            self._links.pop(conn_id, None)
            self.stats.open_connections -= 1
            code = ws.close_code if ws.close_code is not None else 1006
            self._log.record(EventKind.CONNECTION_CLOSED, {"conn": conn_id, "code": code})
            if not sender.done():
                await asyncio.sleep(0)  # let a queued close finish its handshake step
                sender.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sender
            link.detach()
