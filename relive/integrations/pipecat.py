"""Pipecat's Gemini Live service with its Live session on `relive.connect`.

Switch by changing one import:

    from relive.integrations.pipecat import GeminiLiveLLMService

Everything else is Pipecat's own `GeminiLiveLLMService` (same constructor, settings, frames in
and out); only the connection underneath changes. Pipecat opens `client.aio.live.connect`,
reconnects with its last handle on an error and gives up after three quick failures; here one
`relive.connect` session outlives every connection: frames sent during a reconnect are
journaled and delivered, a reply cut mid-way is retracted (an `InterruptionFrame` downstream,
as for a barge-in) and asked again once, goAway is handled before its deadline, and a refused
handle starts a new session announced by a non-fatal `ErrorFrame` carrying relive's notice.
"""

from __future__ import annotations

import time
from typing import Any, cast

from google.genai import types

from relive._extras import require

require("relive.integrations.pipecat", "pipecat")

from loguru import logger  # noqa: E402
from pipecat.frames.frames import InterruptionFrame  # noqa: E402
from pipecat.services.google.gemini_live.llm import GeminiLiveLLMService as _PipecatService  # noqa: E402
from pipecat.services.google.gemini_live.llm import GeminiModalities  # noqa: E402
from pipecat.utils.errors import ErrorCategory  # noqa: E402

import relive  # noqa: E402

__all__ = ["GeminiLiveLLMService"]


class GeminiLiveLLMService(_PipecatService):
    """Pipecat's `GeminiLiveLLMService`, resilient: its Live session is a `relive.LiveSession`.

    Takes Pipecat's arguments unchanged, plus three optional keyword-only ones:
    `relive_policy` (a `relive.Policy`), `relive_handles` (a `relive.HandleStore`, to resume
    the conversation from a later service with the same `relive_owner`) and `relive_owner`.
    `relive_session` is the live `relive.LiveSession` (metrics, transcript), or None.
    """

    def __init__(
        self,
        *args: Any,
        relive_policy: relive.Policy | None = None,
        relive_handles: relive.HandleStore | None = None,
        relive_owner: str | None = None,
        **kwargs: Any,
    ) -> None:
        """Pipecat's arguments (`args`, `kwargs`), plus relive's policy, handle store and key."""
        super().__init__(*args, **kwargs)
        self._relive_policy = relive_policy
        self._relive_handles = (
            relive_handles if relive_handles is not None else relive.HandleStore()
        )
        self._relive_owner = relive_owner or f"pipecat-{id(self):x}"
        self.relive_session: relive.LiveSession | None = None

    async def _connection_task_handler(self, config: types.LiveConnectConfig) -> None:
        """One resilient session instead of one connection (Pipecat's retry loop is unused)."""
        model = self._settings.model
        if not isinstance(model, str) or not model:
            raise ValueError("Gemini Live model must be specified")
        text = self._settings.modalities == GeminiModalities.TEXT
        session = relive.connect(
            self._client,
            model=model,
            config=config,
            mode="text" if text else "call",
            handles=self._relive_handles,
            owner=self._relive_owner,
            policy=self._relive_policy,
        )
        try:
            await session.start()
        except relive.SessionFailedError as exc:
            await self.push_error(
                error_msg=f"Gemini Live: {exc.reason}", exception=exc, force_treat_as_permanent=True
            )
            return
        self.relive_session = session
        try:
            logger.info("Connected to Gemini service (relive)")
            self._connection_start_time = time.time()
            await self._handle_session_ready(cast(Any, session))  # the SDK session's methods
            async for event in session.events():
                await self._on_relive_event(event)
        finally:
            await session.close()
            if self.relive_session is session:
                self.relive_session = None

    async def _on_relive_event(self, event: relive.Event) -> None:
        match event:
            case relive.ServerMessage(message=message):
                await self._handle_server_message(message)
            case relive.TurnComplete(after_cut=True):
                # The answer was whole; the server's turnComplete was lost with the connection.
                done = types.LiveServerContent(turn_complete=True)
                await self._handle_msg_turn_complete(types.LiveServerMessage(server_content=done))
            case relive.ReplyCut():
                await self._retract_reply()
            case relive.NewSession(notice=notice, reason=reason):
                logger.warning(f"{self}: {reason}")
                await self.push_error(error_msg=notice, category=ErrorCategory.CONNECTIVITY)
            case relive.GaveUp(reason=reason):
                await self.push_error(
                    error_msg=f"Gemini Live: {reason}",
                    exception=relive.SessionFailedError(reason, event.undelivered),
                    force_treat_as_permanent=True,
                )
            case relive.Reconnecting(reason=reason):
                logger.info(f"{self}: reconnecting ({reason})")
            case relive.Resumed(downtime_s=downtime, replayed=replayed):
                logger.info(f"{self}: resumed after {downtime:.2f}s ({replayed} replayed)")
            case _:
                pass

    async def _retract_reply(self) -> None:
        """The partial reply pushed so far is void: interrupt it downstream, as a barge-in does.

        Output transports drop its queued audio and the assistant aggregator closes it as
        interrupted; the whole reply follows. Only downstream: the frames queued on the way in
        (the user's next turns) are kept.
        """
        logger.info(f"{self}: a reply was cut by a reconnect; retracting it")
        self._bot_text_buffer = ""
        self._llm_output_buffer = ""
        self._search_result_buffer = ""
        self._bot_audio_buffer = bytearray()
        self._accumulated_grounding_metadata = None
        await self._handle_interruption()
        await self.push_frame(InterruptionFrame())
