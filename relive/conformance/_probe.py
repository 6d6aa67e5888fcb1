"""Short Live sessions through the official SDK, recording what the server sends and how it
closes: the raw material of every conformance check."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from google import genai
from google.genai import types

from relive._errors import SessionError
from relive.conformance._families import Family
from relive.session._failures import Failure
from relive.session._link import failure_from

# Close reasons are compared on this many leading characters (the wire cuts them at 123 bytes).
REASON_CHARS = 60


class ProbeClosedError(SessionError):
    """A probe's session was closed (or refused) by the server; `failure` has the code and
    reason. Checks catch it to compare the close with what the real service sends."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.describe())
        self.failure = failure

    def short(self) -> str:
        """`close 1008 "reason..."`, the form checks compare."""
        f = self.failure
        if f.http_status is not None:
            return f"HTTP {f.http_status}"
        code = f.code if f.code is not None else "none"
        return f'close {code} "{f.reason[:REASON_CHARS]}"'


@dataclass
class Probe:
    """One target and one model: opens sessions and says how to talk to the model."""

    target: str
    model: str
    family: Family
    make_client: Callable[[str, str | None], genai.Client]  # (key, API version or default)
    api_key: str
    lifetime: float = 600.0  # seconds a connection lives before its goAway deadline

    def client(self, api_key: str | None = None, api_version: str | None = None) -> genai.Client:
        """An SDK client for the target (this probe's key unless another is given)."""
        return self.make_client(self.api_key if api_key is None else api_key, api_version)

    def config(self, **extra: Any) -> types.LiveConnectConfig:
        """TEXT output where the model takes it, else AUDIO; resumption on."""
        modality = types.Modality.TEXT if self.family.text_output else types.Modality.AUDIO
        fields: dict[str, Any] = {
            "response_modalities": [modality],
            "session_resumption": types.SessionResumptionConfig(),
        }
        fields.update(extra)
        return types.LiveConnectConfig(**fields)

    @contextlib.asynccontextmanager
    async def session(
        self,
        config: types.LiveConnectConfig | None = None,
        *,
        model: str | None = None,
        api_key: str | None = None,
        api_version: str | None = None,
    ) -> AsyncIterator[Any]:
        """An open SDK session; `ProbeClosedError` if the server refuses it before setupComplete."""
        cm = self.client(api_key, api_version).aio.live.connect(
            model=model or self.model, config=config or self.config()
        )
        try:
            session = await cm.__aenter__()
        except Exception as exc:
            raise ProbeClosedError(failure_from(exc)) from None
        try:
            yield session
        finally:
            with contextlib.suppress(Exception):
                await cm.__aexit__(None, None, None)

    async def say(self, session: Any, text: str) -> None:
        """A user text turn, the way this model takes it (3.1: realtimeInput.text)."""
        if self.family.client_content_mid_session:
            turn = types.Content(role="user", parts=[types.Part(text=text)])
            await session.send_client_content(turns=turn, turn_complete=True)
        else:
            await session.send_realtime_input(text=text)


@dataclass
class Record:
    """What one session received: message kinds with their times, then how it ended."""

    started: float = field(default_factory=time.monotonic)
    seen: list[tuple[float, str]] = field(default_factory=list)
    closed: ProbeClosedError | None = None
    handle: str | None = None

    def kinds(self) -> list[str]:
        return [k for _, k in self.seen]

    def first(self, kind: str) -> float | None:
        """Seconds from the start to the first message of `kind`, or None."""
        return next((t - self.started for t, k in self.seen if k == kind), None)


def kinds_of(msg: types.LiveServerMessage) -> list[str]:
    """The parts of a server message that checks look at, in wire order."""
    out = []
    if msg.setup_complete is not None:
        out.append("setupComplete")
    content = msg.server_content
    if content is not None:
        if content.model_turn is not None or content.output_transcription is not None:
            out.append("content")
        if content.generation_complete:
            out.append("generationComplete")
        if content.turn_complete:
            out.append("turnComplete")
    update = msg.session_resumption_update
    if update is not None:
        out.append("handle" if update.resumable and update.new_handle else "handle(not resumable)")
    if msg.go_away is not None:
        out.append(f"goAway({msg.go_away.time_left})")
    if msg.tool_call is not None:
        out.append("toolCall")
    return out


async def record(
    session: Any, seconds: float, *, stop: Callable[[Record], bool] | None = None
) -> Record:
    """Receive for up to `seconds` (or until `stop` says so), noting kinds and the close."""
    rec = Record()
    rec.seen.append((rec.started, "setupComplete"))

    async def receive() -> None:
        while True:
            async for msg in session.receive():
                now = time.monotonic()
                update = msg.session_resumption_update
                if update is not None and update.resumable and update.new_handle:
                    rec.handle = update.new_handle
                rec.seen.extend((now, kind) for kind in kinds_of(msg))
                if stop is not None and stop(rec):
                    return

    try:
        async with asyncio.timeout(seconds):
            await receive()
    except TimeoutError:
        pass
    except Exception as exc:
        rec.closed = ProbeClosedError(failure_from(exc))
    return rec
