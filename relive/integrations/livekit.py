"""LiveKit Agents' Gemini realtime model with its Live session on `relive.connect`.

Switch by changing where the model comes from:

    from relive.integrations.livekit import RealtimeModel
    session = AgentSession(llm=RealtimeModel(voice="Puck"))  # was google.realtime.RealtimeModel

Everything else is the Google plugin's own `RealtimeModel` / `RealtimeSession` (same arguments,
same events, chat context and tools); only the connection underneath changes. The plugin opens
`client.aio.live.connect` and, on an error, reconnects dropping what was queued; here its
connection is one `relive.connect` session that outlives every connection: input queued during
a reconnect is delivered, a reply cut mid-way is retracted (interrupted, as for a barge-in) and
asked again once, goAway is handled before its deadline, and a refused handle starts a new
session announced by a recoverable `error` event carrying relive's notice.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from google.genai import types

from relive._extras import require

require("relive.integrations.livekit", "livekit")

from livekit.plugins.google import realtime as _google  # noqa: E402

import relive  # noqa: E402

__all__ = ["RealtimeModel", "RealtimeSession"]


class RealtimeModel(_google.RealtimeModel):
    """The Google plugin's `RealtimeModel`, resilient: its sessions run on `relive.connect`.

    Takes the plugin's arguments unchanged, plus three optional keyword-only ones:
    `relive_policy` (a `relive.Policy`), `relive_handles` (a `relive.HandleStore`) and
    `relive_owner` (the key its sessions' handles are kept under; default one per session).
    """

    def __init__(
        self,
        *,
        relive_policy: relive.Policy | None = None,
        relive_handles: relive.HandleStore | None = None,
        relive_owner: str | None = None,
        **kwargs: Any,
    ) -> None:
        """The plugin's arguments (`kwargs`), plus relive's policy, handle store and key."""
        super().__init__(**kwargs)
        self.relive_policy = relive_policy
        self.relive_handles = relive_handles if relive_handles is not None else relive.HandleStore()
        self.relive_owner = relive_owner

    def session(self, *, turn_detection_disabled: bool = False) -> RealtimeSession:
        """A new realtime session (the plugin's, on relive), as the agent asks for one."""
        sess = RealtimeSession(self)
        self._sessions.add(sess)
        return sess


class RealtimeSession(_google.realtime_api.RealtimeSession):
    """The plugin's `RealtimeSession` whose connections are one `relive.LiveSession`.

    `relive_session` is the live `relive.LiveSession` (metrics, transcript), or None.
    """

    def __init__(self, realtime_model: RealtimeModel) -> None:
        """The plugin's session, its client's `aio.live.connect` opening a relive session."""
        super().__init__(realtime_model)  # its connection task starts on the next loop turn
        self._relive_model = realtime_model
        self.relive_session: relive.LiveSession | None = None
        # The plugin connects through `self._client.aio.live.connect`: the same call, on relive.
        self._client = _ReliveClient(self._client, self)  # type: ignore[has-type]

    @contextlib.asynccontextmanager
    async def _relive_connect(
        self, client: Any, model: str, config: types.LiveConnectConfig
    ) -> AsyncIterator[_LiveConnection]:
        modalities = [str(m).upper() for m in config.response_modalities or []]
        text = bool(modalities) and not any(m.endswith("AUDIO") for m in modalities)
        m = self._relive_model
        owner = m.relive_owner or f"livekit-{id(self):x}"
        live = relive.connect(
            client,
            model=model,
            config=config,
            mode="text" if text else "call",
            handles=m.relive_handles,
            owner=owner,
            policy=m.relive_policy,
        )
        await live.start()
        self.relive_session = live
        try:
            yield _LiveConnection(live, self)
        finally:
            await live.close()
            if self.relive_session is live:
                self.relive_session = None

    def _handle_go_away(self, go_away: types.LiveServerGoAway) -> None:
        """relive resumes before the deadline; the plugin would close and reopen its session."""
        _google.realtime_api.logger.info(f"Gemini Live: goAway, {go_away.time_left} left")

    def _on_relive_event(self, event: relive.Event) -> None:
        """Lifecycle events the plugin has no message for."""
        match event:
            case relive.ReplyCut():
                self._retract_reply()
            case relive.NewSession(notice=notice, reason=reason):
                _google.realtime_api.logger.warning(f"Gemini Live: {reason}")
                self._emit_error(relive.SessionError(notice), recoverable=True)
            case relive.Reconnecting(reason=reason):
                _google.realtime_api.logger.info(f"Gemini Live: reconnecting ({reason})")
            case relive.Resumed(downtime_s=downtime, replayed=replayed):
                _google.realtime_api.logger.info(
                    f"Gemini Live: resumed after {downtime:.2f}s ({replayed} replayed)"
                )
            case _:
                pass

    def _retract_reply(self) -> None:
        """The reply under way is void: interrupt it as a barge-in would, then end it.

        The agent stops its playout and keeps the partial in the chat context marked
        interrupted; the whole reply comes as a new generation.
        """
        gen = self._current_generation
        if gen is None or gen._done:
            return
        self._handle_input_speech_started()
        gen.output_text = ""  # the plugin's own chat context keeps no void text
        self._mark_current_generation_done()


class _LiveConnection:
    """What the plugin uses of the SDK's `AsyncSession`, on a `relive.LiveSession`."""

    def __init__(self, live: relive.LiveSession, owner: RealtimeSession) -> None:
        self._live = live
        self._owner = owner
        self.send_client_content = live.send_client_content
        self.send_realtime_input = live.send_realtime_input
        self.send_tool_response = live.send_tool_response

    async def receive(self) -> AsyncIterator[types.LiveServerMessage]:
        async for event in self._live.events():
            match event:
                case relive.ServerMessage(message=message):
                    yield message
                case relive.TurnComplete(after_cut=True):
                    # The answer was whole; the server's turnComplete was lost with its connection.
                    done = types.LiveServerContent(turn_complete=True)
                    yield types.LiveServerMessage(server_content=done)
                case relive.GaveUp(reason=reason, undelivered=undelivered):
                    raise relive.SessionFailedError(reason, undelivered)
                case _:
                    self._owner._on_relive_event(event)
        raise relive.SessionClosedError("the Live session was closed")

    async def close(self) -> None:
        await self._live.close()


class _ReliveClient:
    """The plugin's `genai.Client`, with `aio.live.connect` opening a relive session."""

    def __init__(self, client: Any, session: RealtimeSession) -> None:
        self._client = client
        self.aio = _Aio(client, session)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


class _Aio:
    def __init__(self, client: Any, session: RealtimeSession) -> None:
        self._client = client
        self.live = _Live(client, session)

    async def aclose(self) -> None:
        await self._client.aio.aclose()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client.aio, name)


class _Live:
    def __init__(self, client: Any, session: RealtimeSession) -> None:
        self._client = client
        self._session = session

    def connect(
        self, *, model: str, config: types.LiveConnectConfig
    ) -> contextlib.AbstractAsyncContextManager[_LiveConnection]:
        return self._session._relive_connect(self._client, model, config)
