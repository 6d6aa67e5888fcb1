"""What a connection state machine asks its driver to do."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from relive.emulator._codec import JsonDict
from relive.emulator._stats import EventKind


@dataclass(frozen=True)
class Send:
    """Send one server message (binary JSON frame)."""

    message: JsonDict


@dataclass(frozen=True)
class SetTimer:
    """Call the machine's `timer(name)` at clock time `at` (replaces a timer of that name)."""

    name: str
    at: float


@dataclass(frozen=True)
class CancelTimer:
    name: str


@dataclass(frozen=True)
class Close:
    """Close the WebSocket with this code and reason (after what was sent before it)."""

    code: int
    reason: str


@dataclass(frozen=True)
class Abort:
    """Drop the TCP connection with no close frame (after what was sent before it)."""

    why: str


@dataclass(frozen=True)
class Emit:
    """An emulator event for stats and for tests to wait on."""

    kind: EventKind
    data: dict[str, Any] = field(default_factory=dict)


Action = Send | SetTimer | CancelTimer | Close | Abort | Emit
