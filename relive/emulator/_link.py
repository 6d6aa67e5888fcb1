"""The thin driver of one connection: feeds frames to the state machine and carries out its
actions (send in order with optional latency, timers, close, abort)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed, InvalidState
from websockets.frames import Frame, Opcode

from relive.emulator._actions import Abort, Action, CancelTimer, Close, Emit, Send, SetTimer
from relive.emulator._closes import fit_reason
from relive.emulator._codec import encode
from relive.emulator._connection import LiveConnection
from relive.emulator._faults import FaultPlan
from relive.emulator._stats import EventKind

log = logging.getLogger("relive.emulator")

Recorder = Callable[[EventKind, dict[str, Any]], None]


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
        self._queue: asyncio.Queue[tuple[float, Send | Close | Abort]] = asyncio.Queue()
        self._loop = asyncio.get_running_loop()
        self._closed = False
        self._delay_pongs()

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
                if isinstance(action, Send):
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

    def _delay_pongs(self) -> None:
        """Answer pings late when the ping-delay fault is set (the real service takes 8-30 s)."""
        protocol = self.ws.protocol
        original = protocol.send_frame

        def send_frame(frame: Frame) -> None:
            delay = self.faults.ping_delay
            if frame.opcode is not Opcode.PONG or delay <= 0:
                original(frame)
                return

            def later() -> None:
                with contextlib.suppress(InvalidState, ConnectionClosed, RuntimeError):
                    original(frame)
                    self.ws.send_data()

            self._loop.call_later(delay, later)

        protocol.send_frame = send_frame  # type: ignore[method-assign]
