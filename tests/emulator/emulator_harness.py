"""Drive a `LiveConnection` state machine with a ManualClock: no sockets, no sleeps."""

from __future__ import annotations

import itertools
import json
from typing import Any

from relive import ManualClock
from relive.emulator import EmulatorSettings
from relive.emulator._actions import Abort, Action, CancelTimer, Close, Emit, Send, SetTimer
from relive.emulator._codec import ProtocolError, decode
from relive.emulator._connection import LiveConnection
from relive.emulator._faults import FaultPlan
from relive.emulator._handles import HandleRegistry
from relive.emulator._states import Auth

# Machine tests of other rules take the first handle at setup (a setting; 2.x sends it later).
FAST = EmulatorSettings(chunk_interval=0.02, turn_complete_lag_factor=0.0, first_handle="setup")
MODEL = "models/gemini-live-2.5-flash-preview"  # half-cascade: TEXT or AUDIO


class Service:
    """Shared parts of one emulator: clock, handle registry, fault plan."""

    def __init__(self, settings: EmulatorSettings = FAST) -> None:
        self.settings = settings
        self.clock = ManualClock()
        counter = itertools.count(1)
        self.registry = HandleRegistry(
            self.clock, settings.handle_ttl, lambda: f"handle-{next(counter):04d}-0123456789abcdef"
        )
        self.faults = FaultPlan()
        self._ids = itertools.count(1)

    def connect(
        self, api_key: str | None = "key-1", vertex: bool = False, api_version: str = "v1beta"
    ) -> Harness:
        auth = Auth(api_key, vertex=vertex, api_version=api_version)
        machine = LiveConnection(
            next(self._ids), auth, self.settings, self.registry, self.faults, self.clock
        )
        return Harness(self, machine)


class Harness:
    """One connection: feed JSON in, collect what it sends, advance its timers."""

    def __init__(self, service: Service, machine: LiveConnection) -> None:
        self.service = service
        self.machine = machine
        self.sent: list[dict[str, Any]] = []
        self.events: list[Emit] = []
        self.closed: Close | None = None
        self.aborted = False
        self.timers: dict[str, float] = {}

    def apply(self, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, Send):
                assert self.closed is None and not self.aborted, "sent after close"
                json.dumps(action.message)  # must be JSON
                self.sent.append(action.message)
            elif isinstance(action, SetTimer):
                self.timers[action.name] = action.at
            elif isinstance(action, CancelTimer):
                self.timers.pop(action.name, None)
            elif isinstance(action, Close):
                self.closed = action
            elif isinstance(action, Abort):
                self.aborted = True
            else:
                self.events.append(action)

    def send(self, message: dict[str, Any] | str | bytes) -> Harness:
        frame = message if isinstance(message, str | bytes) else json.dumps(message)
        try:
            decoded = decode(frame, self.service.settings.max_frame_bytes)
        except ProtocolError as exc:
            self.apply(self.machine.receive(exc))
            return self
        self.apply(self.machine.receive(decoded))
        return self

    def step(self, step: str | bytes) -> None:
        """A random test's step: "advance" (20 ms), "advance-long" (0.5 s), "goaway", or a frame."""
        if step == "advance":
            self.advance(0.02)
        elif step == "advance-long":
            self.advance(0.5)
        elif step == "goaway":
            self.apply(self.machine.go_away_now(0.3))
        else:
            self.send(step)

    def setup(self, **setup: Any) -> Harness:
        body: dict[str, Any] = {"model": MODEL}
        body.setdefault("generationConfig", {"responseModalities": ["TEXT"]})
        body.update(setup)
        return self.send({"setup": body})

    def advance(self, seconds: float) -> None:
        """Move the shared clock and fire due timers, in time order."""
        target = self.service.clock.now() + seconds
        while True:
            due = sorted((at, n) for n, at in self.timers.items() if at <= target)
            if not due or self.closed is not None:
                break
            at, name = due[0]
            self.service.clock.set(max(at, self.service.clock.now()))
            del self.timers[name]
            self.apply(self.machine.timer(name))
        self.service.clock.set(max(target, self.service.clock.now()))

    def run_turn(self) -> None:
        """Advance until the current reply has finished (bounded)."""
        for _ in range(1000):
            if "step" not in self.timers:
                return
            self.advance(self.timers["step"] - self.service.clock.now())
        raise AssertionError("turn never finished")

    def lose(self) -> None:
        self.apply(self.machine.connection_lost())

    def kinds(self) -> list[str]:
        """A compact trace of what was sent."""
        out = []
        for m in self.sent:
            key = next(iter(m))
            if key == "serverContent":
                key += "." + ",".join(sorted(m[key]))
            out.append(key)
        return out

    def text(self) -> str:
        return "".join(
            p.get("text", "")
            for m in self.sent
            for p in m.get("serverContent", {}).get("modelTurn", {}).get("parts", [])
        )

    def updates(self) -> list[dict[str, Any]]:
        return [m["sessionResumptionUpdate"] for m in self.sent if "sessionResumptionUpdate" in m]

    def last_handle(self) -> str:
        handles = [u["newHandle"] for u in self.updates() if u.get("resumable")]
        assert handles, "no resumable handle was issued"
        handle: str = handles[-1]
        return handle

    def clear(self) -> None:
        self.sent.clear()
