"""The thin driver of one connection: feeds frames to the state machine and carries out its
actions (send in order with optional latency, timers, close, abort).

A ping is answered in order, like any other input: once the frames sent before it have been
taken in, behind what the connection sent until then (a server that reads its socket in one
loop). A pong thus proves to the client that the state (and any handle issued after the pong
was sent) holds everything written before the ping; `websockets` alone would answer when it
parses the ping, before the frames ahead of it reach the state machine. The emulator's own
server protocol (`_socket.EmulatorProtocol`) counts the messages it reads and hands each pong
to the link (`hold_pong`), which writes it when its turn comes (`send_held_pong`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from relive.emulator._actions import Abort, Action, CancelTimer, Close, Emit, Send, SetTimer
from relive.emulator._closes import fit_reason
from relive.emulator._codec import encode
from relive.emulator._connection import LiveConnection
from relive.emulator._faults import FaultPlan
from relive.emulator._socket import EmulatorProtocol
from relive.emulator._stats import EventKind

log = logging.getLogger("relive.emulator")

Recorder = Callable[[EventKind, dict[str, Any]], None]


@dataclass(frozen=True)
class _Pong:
    """The answer to a ping (its payload), queued behind the output before it."""

    data: bytes


class Link:
    """One WebSocket and the `LiveConnection` machine that decides what it does."""

    def __init__(
        self,
        ws: ServerConnection,
        machine: LiveConnection,
        faults: FaultPlan,
        record: Recorder,
        manual_time: bool,
    ) -> None:
        self.ws = ws
        self.machine = machine
        self.faults = faults
        self.record = record
        self.manual_time = manual_time
        self.timers: dict[str, tuple[float, asyncio.Handle | None]] = {}
        self._queue: asyncio.Queue[tuple[float, Send | Close | Abort | _Pong]] = asyncio.Queue()
        self._loop = asyncio.get_running_loop()
        self._closed = False
        self._taken = 0  # client messages the state machine has taken in
        self._pongs: deque[tuple[int, bytes]] = deque()  # (messages read before its ping, pong)
        self._protocol = ws.protocol if isinstance(ws.protocol, EmulatorProtocol) else None
        self._release_at: int | None = None  # the client closed after this many messages
        if self._protocol is not None:  # the emulator's own server (always, in `Emulator`)
            self._protocol.hold_pong = self._hold_pong
            self._protocol.on_close = self._close_received

    # ----- actions -------------------------------------------------------------------------

    def apply(self, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, Send | Close | Abort):
                if not self._closed:
                    self._queue.put_nowait((time.monotonic(), action))
                if isinstance(action, Close | Abort):
                    self._closed = True
            elif isinstance(action, SetTimer):
                self._set_timer(action.name, action.at)
            elif isinstance(action, CancelTimer):
                self._cancel_timer(action.name)
            elif isinstance(action, Emit):
                self.record(action.kind, action.data)

    def _set_timer(self, name: str, at: float) -> None:
        self._cancel_timer(name)
        handle: asyncio.Handle | None = None
        delay = at - self.machine.clock.now()
        if not self.manual_time:
            handle = self._loop.call_later(max(0.0, delay), self._fire, name)
        elif delay <= 0:  # a manual clock only moves on advance(); what is due now runs now
            handle = self._loop.call_soon(self._fire, name)
        self.timers[name] = (at, handle)

    def _cancel_timer(self, name: str) -> None:
        entry = self.timers.pop(name, None)
        if entry is not None and entry[1] is not None:
            entry[1].cancel()

    def _fire(self, name: str) -> None:
        self.timers.pop(name, None)
        self.apply(self.machine.timer(name))

    def fire_due(self) -> None:
        """With a manual clock: run the timers that are now due, in time order."""
        while True:
            now = self.machine.clock.now()
            due = sorted((at, name) for name, (at, _) in self.timers.items() if at <= now)
            if not due:
                return
            self._fire(due[0][1])

    def cancel_all_timers(self) -> None:
        for name in list(self.timers):
            self._cancel_timer(name)

    def detach(self) -> None:
        """The connection is over: the protocol lets go of this link (its callbacks), so the
        link, its socket and its machine are freed by reference counting as soon as the driver
        drops them, not left in a cycle for a full garbage collection (see `EmulatorConnection`)."""
        if self._protocol is not None:
            self._protocol.hold_pong = None
            self._protocol.on_close = None

    def abort_now(self, why: str) -> None:
        """Drop the TCP connection at once, with no close frame."""
        self._closed = True
        self.cancel_all_timers()
        self.record(EventKind.ABORTED, {"conn": self.machine.conn_id, "why": why})
        self.apply(self.machine.connection_lost())
        self.ws.transport.abort()

    # ----- sending -------------------------------------------------------------------------

    async def sender(self) -> None:
        """Send queued actions in order, each no earlier than its enqueue time + latency."""
        while True:
            queued_at, action = await self._queue.get()
            latency = self.faults.latency
            if latency > 0:
                wait = queued_at + latency - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)  # simulated network latency, not a test wait
            try:
                if isinstance(action, _Pong):
                    delay = self.faults.ping_delay  # late pongs (the real service: 8-30 s)
                    if delay > 0:
                        self._loop.call_later(delay, self._write_pong, action.data)
                    else:
                        self._write_pong(action.data)
                elif isinstance(action, Send):
                    await self.ws.send(encode(action.message))
                    self.record(EventKind.SENT, {"conn": self.machine.conn_id})
                elif isinstance(action, Close):
                    self.record(
                        EventKind.CLOSED, {"conn": self.machine.conn_id, "code": action.code}
                    )
                    reason = fit_reason(action.reason)
                    log.info(
                        "emulator connection %s: close %d %s",
                        self.machine.conn_id,
                        action.code,
                        reason,
                    )
                    await self.ws.close(action.code, reason)
                    return
                else:
                    self.abort_now(action.why)
                    return
            except ConnectionClosed:
                return
            except Exception as exc:  # never leave a socket half-served
                log.error("emulator connection %s: send failed: %r", self.machine.conn_id, exc)
                self.abort_now("send failed")
                return

    # ----- pongs in order -------------------------------------------------------------------

    def _hold_pong(self, data: bytes) -> bool:
        """The protocol made a pong: hold it until the messages read before its ping are taken
        in (always True: every pong is written by `_write_pong`)."""
        assert self._protocol is not None
        self._pongs.append((self._protocol.messages_read, data))
        self._release_pongs()
        return True

    def took_in(self) -> None:
        """The state machine has taken in one more client message (its output is queued)."""
        self._taken += 1
        self._release_pongs()
        self._release_session()

    # ----- the client's close: the session is let go once what came before it is in --------

    def _close_received(self) -> None:
        assert self._protocol is not None
        self._release_at = self._protocol.messages_read
        self._release_session()

    def _release_session(self) -> None:
        if self._release_at is not None and self._taken >= self._release_at:
            self._release_at = None
            self.apply(self.machine.peer_closed())

    def _release_pongs(self) -> None:
        while self._pongs and self._pongs[0][0] <= self._taken:
            _, data = self._pongs.popleft()
            if not self._closed:
                self._queue.put_nowait((time.monotonic(), _Pong(data)))

    def _write_pong(self, data: bytes) -> None:
        if self._protocol is not None and self._protocol.send_held_pong(data):
            with contextlib.suppress(ConnectionClosed, RuntimeError):
                self.ws.send_data()
