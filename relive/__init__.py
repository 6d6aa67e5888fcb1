"""relive: resilient sessions for the Gemini Live API.

This module is the whole session API: users never import from submodules (the underscored
modules are free to change). The other public packages are `relive.transcript`,
`relive.emulator` (the `[emulator]` extra) and `relive.web` (the `[web]` extra).

Errors form one family (the tree is in `ReliveError`'s module, relive/_errors.py):

    ReliveError
    ├── IllegalTransitionError
    ├── MissingExtraError (also an ImportError)
    ├── SessionError: SessionFailedError, SessionClosedError, BufferFullError,
    │                 UnsupportedBySdkError
    ├── EmulatorError
    └── WebError
"""

from __future__ import annotations

import warnings
from importlib.metadata import version as _version
from typing import Any

from relive import _logfilter
from relive._clock import Clock, ManualClock, MonotonicClock
from relive._errors import (
    EmulatorError,
    IllegalTransitionError,
    MissingExtraError,
    ReliveError,
    SessionError,
    WebError,
)
from relive.session import (
    BufferFullError,
    CompressionWarning,
    Connected,
    Event,
    Failure,
    GaveUp,
    GenerationComplete,
    HandleStore,
    Interrupted,
    LiveSession,
    Metrics,
    Mode,
    NewSession,
    Policy,
    Reconnecting,
    ReconnectReason,
    ReplyCut,
    Resumed,
    ServerMessage,
    SessionClosedError,
    SessionFailedError,
    State,
    TurnComplete,
    Undelivered,
    UnsupportedBySdkError,
    connect,
)
from relive.transcript import Transcript

_logfilter.install()  # keys and handles stay out of websockets' and httpx's DEBUG logs too

__version__ = _version("relive")

_RENAMED = {
    "SessionFailed": SessionFailedError,
    "SessionClosed": SessionClosedError,
    "BufferFull": BufferFullError,
}


def __getattr__(name: str) -> Any:
    """The 0.1 names of renamed errors, with a DeprecationWarning."""
    if name in _RENAMED:
        new = _RENAMED[name]
        warnings.warn(
            f"relive.{name} is now relive.{new.__name__}", DeprecationWarning, stacklevel=2
        )
        return new
    raise AttributeError(f"module 'relive' has no attribute {name!r}")


__all__ = [
    "BufferFullError",
    "Clock",
    "CompressionWarning",
    "Connected",
    "EmulatorError",
    "Event",
    "Failure",
    "GaveUp",
    "GenerationComplete",
    "HandleStore",
    "IllegalTransitionError",
    "Interrupted",
    "LiveSession",
    "ManualClock",
    "Metrics",
    "MissingExtraError",
    "Mode",
    "MonotonicClock",
    "NewSession",
    "Policy",
    "ReconnectReason",
    "Reconnecting",
    "ReliveError",
    "ReplyCut",
    "Resumed",
    "ServerMessage",
    "SessionClosedError",
    "SessionError",
    "SessionFailedError",
    "State",
    "Transcript",
    "TurnComplete",
    "Undelivered",
    "UnsupportedBySdkError",
    "WebError",
    "__version__",
    "connect",
]
