"""One live connection's two tasks: the receiver feeds server frames to the machine, the
sender writes journal entries out, in order (through the lean path of `_wire` where it can).

The sender also pings behind what it writes (when the machine says so: `probe_due`): a pong
tells the machine the server had read everything written before its ping, which is what a
resumption handle received after it may settle (the in-flight rule, `_inflight`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import websockets
from google.genai import errors

from relive._clock import Clock
from relive.session import _wire as wire
from relive.session._failures import Failure
from relive.session._machine import SessionMachine
from relive.session._states import Action

log = logging.getLogger("relive.session")


def failure_from(exc: BaseException) -> Failure:
    """Turn whatever the SDK or the network raised into a `Failure` the machine can judge."""
    if isinstance(exc, errors.APIError):
        details = exc.details if isinstance(exc.details, str) else (exc.message or str(exc))
        return Failure(reason=details, code=exc.code)
    if isinstance(exc, websockets.InvalidStatus):
        return Failure(reason=str(exc), http_status=exc.response.status_code)
    if isinstance(exc, websockets.ConnectionClosed):
        frame = exc.rcvd or exc.sent
        return Failure(
            reason=frame.reason if frame else str(exc), code=frame.code if frame else 1006
        )
    if isinstance(exc, TimeoutError):
        return Failure(reason="timed out connecting to the server")
    if isinstance(exc, OSError):
        return Failure(reason=f"network error: {exc}")
    return Failure(reason=f"{type(exc).__name__}: {exc}")


@dataclass
class Link:
    """A live connection and what its tasks need from the session."""

    conn_id: int
    cm: contextlib.AbstractAsyncContextManager[Any]
    sdk: Any  # google.genai.live.AsyncSession
    lean: bool  # frames go straight to (and come from) the SDK session's socket
    machine: SessionMachine
    apply: Callable[[list[Action]], None]
    send_wake: asyncio.Event
    clock: Clock
    initial_history: bool  # 3.x: history goes as initial history, ending with turnComplete
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def receive(self) -> None:
        try:
            if self.lean:
                ws = wire.socket(self.sdk)
                while True:
                    try:
                        raw = await ws.recv(decode=False)
                    except websockets.ConnectionClosed as closed:
                        raise wire.closed_error(closed) from closed
                    self.apply(self.machine.server_message(self.conn_id, wire.parse(raw)))
            while True:
                async for message in self.sdk.receive():
                    self.apply(self.machine.server_message(self.conn_id, message))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            failure = failure_from(exc)
        log.info("connection %d ended: %s", self.conn_id, failure.describe())
        self.apply(self.machine.closed(self.conn_id, failure))

    async def send(self) -> None:
        ws = wire.socket(self.sdk) if self.lean else None
        history = self.machine.take_history(self.conn_id)
        if history:
            try:
                # 3.x: initial history ends with turnComplete (it starts no model call).
                done = self.initial_history
                frame = wire.client_content(history, done) if ws is not None else None
                if frame is not None and ws is not None:
                    await ws.send(frame)
                else:
                    await self.sdk.send_client_content(turns=history, turn_complete=done)
            except (websockets.ConnectionClosed, errors.APIError, OSError):
                return  # the receiver reports the close; the history is sent again next time
        while True:
            entry = self.machine.take_next(self.conn_id)
            if entry is None:
                if ws is not None and self.machine.probe_due(self.conn_id, idle=True):
                    try:
                        await self._probe(ws)
                    except (websockets.ConnectionClosed, OSError):
                        return  # the receiver reports the close
                    continue  # something may have been queued while the ping went out
                self.send_wake.clear()
                await self.send_wake.wait()
                continue
            try:
                # Built per send, not kept: a frame is sent once but for a replay, and keeping
                # it would double the journal's memory.
                frame = wire.frame(entry.method, entry.kwargs) if ws is not None else None
                if frame is not None and ws is not None:
                    await ws.send(frame)
                else:
                    await getattr(self.sdk, entry.method)(**entry.kwargs)
                self.machine.written(self.conn_id, entry.index)
                if ws is not None and self.machine.probe_due(self.conn_id, idle=False):
                    await self._probe(ws)
            except (websockets.ConnectionClosed, errors.APIError, OSError):
                return  # the receiver reports the close; the entry is replayed
            except Exception:
                log.exception("the SDK refused client message #%d (%s)", entry.index, entry.kind)
                self.machine.journal.discard(entry.index)

    async def _probe(self, ws: Any) -> None:
        """Ping behind everything written so far; its pong says the server read all of it."""
        mark = self.machine.pinged(self.conn_id)
        pong: asyncio.Future[float] = await ws.ping()

        def answered(done: asyncio.Future[float]) -> None:
            if done.cancelled() or done.exception() is not None:
                return  # closed: the receiver reports it
            # A done-callback runs in the order the pong arrived in, before the receiver task
            # wakes for any frame read after it, so the machine learns of the pong first.
            self.machine.ponged(self.conn_id, mark)
            if self.machine.probe_due(self.conn_id, idle=True):
                self.send_wake.set()  # writes went out while the most pings were out

        pong.add_done_callback(answered)
