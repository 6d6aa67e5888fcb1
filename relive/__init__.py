"""relive: resilient sessions for the Gemini Live API.

The public surface is re-exported here so users never import from submodules.
"""

from __future__ import annotations

from relive.session import (
    BufferFull,
    CompressionWarning,
    Connected,
    Event,
    GaveUp,
    GenerationComplete,
    HandleStore,
    Interrupted,
    LiveSession,
    Metrics,
    NewSession,
    Policy,
    Reconnecting,
    Resumed,
    ServerMessage,
    SessionClosed,
    SessionFailed,
    TurnComplete,
    connect,
)

__version__ = "0.1.0"

__all__ = [
    "BufferFull",
    "CompressionWarning",
    "Connected",
    "Event",
    "GaveUp",
    "GenerationComplete",
    "HandleStore",
    "Interrupted",
    "LiveSession",
    "Metrics",
    "NewSession",
    "Policy",
    "Reconnecting",
    "Resumed",
    "ServerMessage",
    "SessionClosed",
    "SessionFailed",
    "TurnComplete",
    "__version__",
    "connect",
]
