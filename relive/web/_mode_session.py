"""The relive session of one page in one mode, and how its events become page messages.

It runs as a task that outlives the page's sockets: what happens while no socket is attached is
kept (transcript, away audio) and sent when one is (`PageSessions.attach`). Chat messages a page
sends again after a move go through the resend lane (`_resend.py`), one at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from typing import TYPE_CHECKING

from google.genai import types

from relive.session import BufferFullError, LiveSession, SessionClosedError
from relive.session._events import (
    Connected,
    Event,
    GaveUp,
    Interrupted,
    NewSession,
    Reconnecting,
    ReplyCut,
    Resumed,
    ServerMessage,
)
from relive.web._notices import NOTICES
from relive.web._protocol import Error, Level, Mode, NoticeKind, Status, StatusUpdate
from relive.web._protocol import Interrupted as InterruptedMessage
from relive.web._protocol import ReplyCut as ReplyCutMessage
from relive.web._resend import ResendLane

if TYPE_CHECKING:
    from relive.web._bridge import PageSessions

log = logging.getLogger("relive.web")


class ModeSession:
    """The relive session of one page in one mode, run as a task that outlives sockets."""

    def __init__(self, page: PageSessions, mode: Mode) -> None:
        self.page = page
        self.mode = mode
        self.status = Status.CONNECTING
        self.session: LiveSession | None = None
        self.ready = asyncio.Event()
        self.last_downtime_ms: int | None = None  # of the last resumed reconnect (the panel)
        self.void: set[int] = set()  # indices of partial replies a reconnect cut (`ReplyCut`)
        self._cause: str | None = None
        # (session message number, page input number) of the page's inputs not settled yet.
        self._marks: deque[tuple[int, int]] = deque()
        # Chat messages sent again after a move, sent one at a time (`send_in_turn`).
        self._resent = ResendLane(page.clock, page.answer_wait)
        self._lane: asyncio.Task[None] | None = None
        self._answered = asyncio.Event()  # no answer to a chat message is under way
        self._answered.set()
        self._task = asyncio.create_task(self._run(), name=f"relive-web-{mode}")

    @property
    def alive(self) -> bool:
        return not self._task.done() and self.status is not Status.ENDED

    async def _run(self) -> None:
        try:
            async with self.page.opener(self.mode, self.page.owner) as session:
                self.session = session
                self.ready.set()
                async for event in session.events():
                    self._on_event(event)
                    if isinstance(event, GaveUp):
                        break
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("%s session of page %s failed: %s", self.mode, self.page.short, exc)
            if self.session is None:  # never connected: say why (e.g. a bad key or model)
                reason = getattr(exc, "reason", None) or str(exc) or type(exc).__name__
                self._notice(NoticeKind.FAILED, Level.ERROR, reason[:200])
            else:
                self._notice(NoticeKind.GAVE_UP, Level.ERROR)
        finally:
            self.ready.set()
            self._answered.set()  # nothing more will be answered: the lane empties
            self._set_status(Status.ENDED)

    def _on_event(self, event: Event) -> None:
        if self._marks:
            self._settle()
        if isinstance(event, ServerMessage):
            self._on_message(event.message)
            return
        self._on_lifecycle(event)
        self.page.send_metrics(self.mode)

    def _took(self, seq: int | None) -> None:
        """The page's input `seq` is in the session now: note which message it is."""
        if seq is not None and self.session is not None:
            if self.mode in self.page.unrecorded:
                self._first_unrecorded(seq)
            self.page.received[self.mode] = seq
            self._marks.append((self.session.input_index, seq))

    def _first_unrecorded(self, seq: int) -> None:
        """The first input of a chat the replica the page came from left no record of: this
        session started anew. If the page sent its inputs again from the first, the chat is
        made up again (each message answered anew, in turn). If it no longer keeps the ones
        before `seq` (a record covered them, and the store lost it), the conversation is gone:
        the page is told so, in the words of a new session, and clears what it showed."""
        self.page.unrecorded.discard(self.mode)
        if seq > self.page.received[self.mode] + 1:
            log.info(
                "%s session of page %s: new session (no stored record, inputs before %d gone)",
                self.mode,
                self.page.short,
                seq,
            )
            self._notice(NoticeKind.NEW_SESSION, Level.WARN)

    def _settle(self) -> None:
        """The session settled messages (a handle holds them, or they were answered): the
        page's inputs among them are covered once that is stored."""
        assert self.session is not None
        settled, seq = self.session.settled_index, 0
        while self._marks and self._marks[0][0] <= settled:
            seq = self._marks.popleft()[1]
        if seq:
            self.page.cover(self.mode, seq)

    def _on_lifecycle(self, event: Event) -> None:
        if isinstance(event, Connected):
            self._set_status(Status.LIVE)
            self.page.send_transcript(self.mode)
        elif isinstance(event, Reconnecting):
            self._cause = event.cause
            self._set_status(Status.RECONNECTING)
        elif isinstance(event, Resumed):
            self.last_downtime_ms = round(event.downtime_s * 1000)
            self._set_status(Status.LIVE)
            if self._cause != "goaway":  # a planned reconnect shows only the status dot
                self._notice(NoticeKind.RECONNECTED, Level.INFO)
            self._cause = None
        elif isinstance(event, NewSession):
            self._answered.set()  # the conversation starts over: no answer is under way
            if self.mode == "call":
                self.page.away.clear()  # the old conversation's words no longer apply
            log.info(
                "%s session of page %s: new session (%s)", self.mode, self.page.short, event.reason
            )
            self.void.clear()  # the transcript starts over
            self.page.notice(self.mode, NoticeKind.NEW_SESSION, Level.WARN, event.notice)
            self.page.send_transcript(self.mode)
        elif isinstance(event, GaveUp):
            log.info("%s session of page %s gave up: %s", self.mode, self.page.short, event.reason)
            self._notice(NoticeKind.GAVE_UP, Level.ERROR)
        elif isinstance(event, ReplyCut):
            self._reply_cut(event)
        elif isinstance(event, Interrupted):
            if self.mode == "call":
                self.page.away.clear()  # barge-in: the rest of that reply is not wanted
            self.page.emit(InterruptedMessage(self.mode))

    def _reply_cut(self, event: ReplyCut) -> None:
        """The reply under way when the connection was lost is void (its turn is asked again):
        the page hides its partial bubble and stops its audio."""
        if event.turn is not None:
            self.void.add(event.turn)
        if self.mode == "call":
            self.page.away.clear()
        self.page.emit(ReplyCutMessage(self.mode))
        self.page.send_transcript(self.mode)

    def _on_message(self, message: types.LiveServerMessage) -> None:
        content = message.server_content
        if content is None:
            return
        self._resent.heard()
        if content.turn_complete or content.interrupted:
            self._answered.set()
        if content.model_turn and content.model_turn.parts and self.mode == "call":
            for part in content.model_turn.parts:
                if part.inline_data and part.inline_data.data:
                    self.page.emit_audio(part.inline_data.data)
        if (
            content.input_transcription
            or content.output_transcription
            or content.turn_complete
            or content.interrupted
            or (content.model_turn and any(p.text for p in content.model_turn.parts or []))
        ):
            self.page.send_transcript(self.mode)

    def _notice(self, kind: NoticeKind, level: Level, detail: str = "") -> None:
        """A toast for this mode, its words from `NOTICES` (plus `detail`, if any)."""
        text = NOTICES[kind][self.mode]
        self.page.notice(self.mode, kind, level, f"{text} {detail}" if detail else text)

    def _set_status(self, status: Status) -> None:
        if status != self.status:
            self.status = status
            self.page.emit(StatusUpdate(self.mode, status))

    async def _live(self) -> LiveSession | None:
        await self.ready.wait()
        return self.session if self.alive else None

    async def send_text(self, text: str, seq: int | None = None) -> bool:
        session = await self._live()
        if session is None:
            return False
        try:
            await session.send_client_content(
                turns=[types.Content(role="user", parts=[types.Part(text=text)])],
                turn_complete=True,
            )
        except (SessionClosedError, BufferFullError):
            return False
        self._answered.clear()
        self._took(seq)
        self.page.send_transcript(self.mode)
        return True

    @property
    def in_turn(self) -> bool:
        """Chat messages sent again are still waiting their turn (a new one goes after them)."""
        return self._lane is not None and not self._lane.done()

    def send_in_turn(self, text: str, seq: int | None) -> None:
        """Send a chat message once the model answered the one before it, or once the model
        said nothing for the lane's wait (`_resend.py` says why). Returns at once: the socket's
        audio does not wait."""
        self._resent.add(text, seq)
        if not self.in_turn:
            self._lane = asyncio.create_task(self._send_each(), name=f"relive-web-{self.mode}-lane")

    async def _send_each(self) -> None:
        lane = self._resent
        while lane:
            while not self._answered.is_set() and (left := lane.due_in()) > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._answered.wait(), left)
            if not self._answered.is_set():
                log.warning(
                    "%s session of page %s: no answer for %g s; the next message goes anyway",
                    self.mode,
                    self.page.short,
                    lane.wait,
                )
            waiting = lane.take()
            if waiting.seq is not None and waiting.seq <= self.page.received[self.mode]:
                continue  # sent again once more (the page reconnected meanwhile): taken
            if not await self.send_text(waiting.text, waiting.seq):
                self.page.emit(Error("unavailable", "the chat session is not available"))

    async def send_audio(self, pcm: bytes, seq: int | None = None) -> bool:
        session = await self._live()
        if session is None:
            return False
        try:
            await session.send_realtime_input(
                audio=types.Blob(data=pcm, mime_type="audio/pcm;rate=16000")
            )
        except SessionClosedError:
            return False
        self._took(seq)
        return True

    async def end_audio_stream(self, seq: int | None = None) -> None:
        """The mic is muted: the stream is marked ended (page input `seq` of the call)."""
        session = await self._live()
        if session is None:
            return
        with contextlib.suppress(SessionClosedError):
            await session.send_realtime_input(audio_stream_end=True)
            self._took(seq)

    async def close(self) -> None:
        for task in (self._lane, self._task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
