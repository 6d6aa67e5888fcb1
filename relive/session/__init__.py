"""The session manager: one Live conversation that survives goAway, drops and refused handles.

Its public names are re-exported by `relive`; import them from there.

handles = relive.HandleStore()
async with relive.connect(client, model=..., config=..., mode="text", handles=handles,
                          owner="page-1") as session:
    await session.send_client_content(turns=..., turn_complete=True)
    async for event in session.events(): ...
"""

from __future__ import annotations

import random
from typing import Any

from google import genai
from google.genai import types

from relive._clock import Clock
from relive.session._config import CompressionWarning
from relive.session._driver import LiveSession, SessionFailedError
from relive.session._events import (
    Connected,
    Event,
    GaveUp,
    GenerationComplete,
    Interrupted,
    NewSession,
    Reconnecting,
    ReconnectReason,
    ReplyCut,
    Resumed,
    ServerMessage,
    TurnComplete,
    Undelivered,
)
from relive.session._failures import Failure
from relive.session._handles import HandleStore
from relive.session._inputs import UnsupportedBySdkError
from relive.session._journal import BufferFullError
from relive.session._metrics import Metrics
from relive.session._policy import Mode, Policy
from relive.session._states import SessionClosedError, State
from relive.transcript import Transcript


def connect(
    client: genai.Client,
    *,
    model: str,
    config: types.LiveConnectConfig | dict[str, Any] | None = None,
    mode: Mode = "call",
    handles: HandleStore | None = None,
    owner: str = "default",
    policy: Policy | None = None,
    clock: Clock | None = None,
    rng: random.Random | None = None,
    transcript: Transcript | None = None,
) -> LiveSession:
    """A managed Live session; use it as `async with relive.connect(...) as session:`.

    `handles` keeps the newest resumable handle per (owner, mode) in memory; pass the same
    store to a later `connect` with the same owner and mode to resume that conversation.
    """
    return LiveSession(
        client,
        model=model,
        config=config,
        mode=mode,
        handles=handles,
        owner=owner,
        policy=policy,
        clock=clock,
        rng=rng,
        transcript=transcript,
    )


__all__ = [
    "BufferFullError",
    "CompressionWarning",
    "Connected",
    "Event",
    "Failure",
    "GaveUp",
    "GenerationComplete",
    "HandleStore",
    "Interrupted",
    "LiveSession",
    "Metrics",
    "Mode",
    "NewSession",
    "Policy",
    "ReconnectReason",
    "Reconnecting",
    "ReplyCut",
    "Resumed",
    "ServerMessage",
    "SessionClosedError",
    "SessionFailedError",
    "State",
    "TurnComplete",
    "Undelivered",
    "UnsupportedBySdkError",
    "connect",
]
