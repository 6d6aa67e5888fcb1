"""Opening and closing a session's connections, in the order its machine asks.

Split from the driver (`_driver.py`), which keeps the public `LiveSession`, its sends, its
event stream and its runner loop: this is the connect plumbing under that loop. It always closes
the old connection before the next one's setup (the service refuses a resumption while the old
connection is open), opens the next socket early (`_connector.Dialer`), and with
`Policy.limit_connects` does all of a reconnect within the session's turn among the process's
reconnects (`_admission`).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable

from google import genai
from google.genai import types

from relive._clock import Clock
from relive.session import _config as session_config
from relive.session import _models as models
from relive.session import _wire as wire
from relive.session._admission import SessionTurns
from relive.session._connector import Dialer
from relive.session._link import Link, failure_from
from relive.session._machine import SessionMachine
from relive.session._policy import Policy
from relive.session._states import Action, Connect, Disconnect, State

log = logging.getLogger("relive.session")


class Connections:
    """A session's live connection (at most one), and how the next one is opened."""

    def __init__(
        self,
        client: genai.Client,
        model: str,
        config: types.LiveConnectConfig,
        *,
        rules: models.ModelRules,
        machine: SessionMachine,
        policy: Policy,
        clock: Clock,
        apply: Callable[[list[Action]], None],
        send_wake: asyncio.Event,
    ) -> None:
        self._client = client
        self._config = config
        self._machine = machine
        self._policy = policy
        self._clock = clock
        self._apply = apply
        self._send_wake = send_wake
        # History goes as 3.x initial history (with `historyConfig`), not mid-session.
        self._initial_history = not rules.client_content_mid_session
        self.conn: Link | None = None
        self.connecting = False  # a connect attempt (or the wait for its turn) is under way
        self._turns = SessionTurns(clock) if policy.limit_connects else None
        self._dialer = Dialer(client, model, config, clock)

    async def do(self, action: Connect | Disconnect, todo: deque[Connect | Disconnect]) -> None:
        """Carry out the machine's `action`; `todo` holds the actions queued after it."""
        if isinstance(action, Disconnect):
            reconnect = todo and isinstance(todo[0], Connect)
            if not (reconnect and self._turns is not None):
                await self.disconnect(action.conn_id)
            # else the reconnect closes it in its turn
        elif self._machine.state not in (State.FAILED, State.CLOSED):  # else closed before
            await self._reconnect(action)

    async def aclose(self) -> None:
        """Close the connection, give back the session's turn and any early socket."""
        if self._turns is not None:
            self._turns.close()
        await self.disconnect(None)
        await self._dialer.aclose()

    def open_early(self) -> None:
        """A reconnect is in sight: open its socket now (at a goAway, while the old connection
        still carries traffic); with `limit_connects`, once the session's turn has come."""
        if self._turns is None:
            self._dialer.open_early()
        elif self._dialer.can_open_early:
            self._dialer.open_early(self._turns.early())

    async def _reconnect(self, action: Connect) -> None:
        """Close the old connection, open the next. With `limit_connects` all of it is the
        session's turn among the process's reconnects (`_admission`): first wait for the
        turn (counted in `connect_timeout`), then close, open and set up, and end the turn
        with the time that took, which the bound learns from."""
        if self._turns is None:
            await self.disconnect(None)
            await self._connect(action, self._policy.connect_timeout)
            return
        turn = self._turns.take()
        waited = self._clock.now()
        took: float | None = None
        try:
            self.connecting = True
            try:
                async with asyncio.timeout(self._policy.connect_timeout):
                    await turn.wait()
            except (TimeoutError, ConnectionError) as exc:
                self._apply(self._machine.failed(action.conn_id, failure_from(exc)))
                return
            finally:
                self.connecting = False
            began = self._clock.now()
            await self.disconnect(None)
            left = self._policy.connect_timeout - (self._clock.now() - waited)
            if await self._connect(action, max(left, 0.0)):
                took = self._clock.now() - began
        finally:
            turn.end(took)

    async def _connect(self, action: Connect, budget: float) -> bool:
        """Open the connection `action` asks for, within `budget` seconds; whether it opened or
        timed out (what says how long a connect takes now), not failed otherwise."""
        cfg = session_config.with_handle(self._config, action.handle)
        # The lean connect's templates hold the app's config; a new session that carries a
        # context update or initial history takes the SDK's connect with its own config.
        plain = True
        if action.handle is None and self._machine.context:
            cfg, plain = session_config.with_context(cfg, self._machine.context), False
        if action.handle is None and self._machine.restore.seed_pending and self._initial_history:
            cfg, plain = models.with_history_opt_in(cfg), False
        self.connecting = True
        try:
            async with asyncio.timeout(budget):
                cm, sdk = await self._dialer.open(cfg, action.handle, lean=plain)
        except Exception as exc:
            self._apply(self._machine.failed(action.conn_id, failure_from(exc)))
            return isinstance(exc, TimeoutError)
        finally:
            self.connecting = False
        conn = Link(
            action.conn_id,
            cm,
            sdk,
            lean=wire.supported(sdk, self._client.vertexai),
            machine=self._machine,
            apply=self._apply,
            send_wake=self._send_wake,
            clock=self._clock,
            initial_history=self._initial_history,
        )
        self.conn = conn
        self._apply(self._machine.opened(action.conn_id))
        if sdk.setup_complete is not None:
            setup = types.LiveServerMessage(setup_complete=sdk.setup_complete)
            self._apply(self._machine.server_message(conn.conn_id, setup))
        conn.tasks = [
            asyncio.create_task(conn.receive(), name=f"relive-recv-{conn.conn_id}"),
            asyncio.create_task(conn.send(), name=f"relive-send-{conn.conn_id}"),
        ]
        self._send_wake.set()
        return True

    async def disconnect(self, conn_id: int | None) -> None:
        """Close connection `conn_id` (None: whichever is open), if it is the one open."""
        conn = self.conn
        if conn is None or (conn_id is not None and conn.conn_id != conn_id):
            return
        self.conn = None
        # The Link lets go of its tasks: a cancelled task keeps its CancelledError, whose
        # traceback holds the task's frames and so the Link, a cycle that would keep the whole
        # old connection (socket, TLS, buffers) for a full collection to find.
        tasks, conn.tasks = conn.tasks, []
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
        try:
            async with asyncio.timeout(self._policy.connect_timeout):
                await conn.cm.__aexit__(None, None, None)
        except Exception as exc:  # the socket is going anyway
            log.debug("closing connection %d: %r", conn.conn_id, exc)
