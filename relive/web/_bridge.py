"""One page's relive sessions (call, text), and the socket that currently carries them.

The sessions belong to the page, not to a socket: a socket that drops and comes back (same page id
and secret) finds them running and gets a snapshot (status, condensed transcript). What the model
says while no socket is attached lands in the transcript; its audio is kept a short while and sent
after the snapshot when the page is back soon enough (`_away.AwayAudio` states the rule).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections import deque
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from google.genai import types

from relive._clock import Clock, MonotonicClock
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
from relive.session._states import NOTICES as SESSION_NOTICES
from relive.store._handles import SharedHandles
from relive.web._away import AwayAudio
from relive.web._protocol import (
    Covered,
    Error,
    Level,
    Metrics,
    Mode,
    Notice,
    NoticeKind,
    Outgoing,
    Status,
    StatusUpdate,
    Transcript,
    Turns,
)
from relive.web._protocol import Interrupted as InterruptedMessage
from relive.web._protocol import ReplyCut as ReplyCutMessage
from relive.web._resend import ANSWER_WAIT, ResendLane

log = logging.getLogger("relive.web")


KEEP_RECENT = 40  # turns shown verbatim; older ones arrive folded into a summary line

# The words of every toast the backend sends, per mode. A new session's are the session
# manager's own (`NewSession.notice`, from one table), so the page, `relive chat` and any app
# built on relive say the same; text mode is "the conversation" there, so it is here too.
NOTICES: dict[NoticeKind, dict[Mode, str]] = {
    NoticeKind.RECONNECTED: {"call": "Reconnected", "text": "Reconnected"},
    NoticeKind.NEW_SESSION: SESSION_NOTICES,
    NoticeKind.FAILED: {
        "call": "The call could not be started:",
        "text": "The conversation could not be started:",
    },
    NoticeKind.GAVE_UP: {
        "call": "The call was lost and could not be reconnected.",
        "text": "The conversation was lost and could not be reconnected.",
    },
}


def page_toasts() -> dict[NoticeKind, str]:
    """The words of the toasts the page raises itself, sent once in `Welcome`: its socket came
    back (`reconnected`), or the server no longer knew it and a new call started (`new_session`).
    The page holds no copy of them."""
    return {
        NoticeKind.RECONNECTED: NOTICES[NoticeKind.RECONNECTED]["call"],
        NoticeKind.NEW_SESSION: NOTICES[NoticeKind.NEW_SESSION]["call"],
    }


Opener = Callable[[Mode, str], AbstractAsyncContextManager[LiveSession]]
"""Opens the relive session for (mode, page id); the backend decides model, config, handles."""

Frame = dict[str, Any] | bytes  # an encoded message, or audio


def owner_of(page_id: str) -> str:
    """The session owner (and log name) of a page: a digest, so logs never show the page id."""
    return "page-" + hashlib.sha256(page_id.encode()).hexdigest()[:24]


class Outbox:
    """The sending side of one socket: JSON and audio frames, in order, bounded.

    Audio is dropped when the socket cannot keep up; a JSON message that does not fit marks the
    outbox as overflowed so the socket is closed (the page reconnects and gets a fresh snapshot).
    """

    def __init__(self, maxsize: int = 512) -> None:
        self.queue: asyncio.Queue[Frame | None] = asyncio.Queue(maxsize)
        self.overflowed = asyncio.Event()
        self.audio_dropped = 0
        self.final: tuple[int, str] | None = None  # the close to send once the queue is out

    def json(self, obj: dict[str, Any]) -> None:
        if self.overflowed.is_set():
            return
        try:
            self.queue.put_nowait(obj)
        except asyncio.QueueFull:
            # The page cannot keep up: drop what is queued and close; it reconnects for a snapshot.
            self.overflowed.set()
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(None)

    def send(self, message: Outgoing) -> None:
        self.json(message.to_json())

    def audio(self, data: bytes) -> None:
        if self.overflowed.is_set() or self.queue.qsize() >= self.queue.maxsize // 2:
            self.audio_dropped += 1
            return
        self.queue.put_nowait(data)

    def close(self) -> None:
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(None)

    def finish(self, code: int, reason: str) -> None:
        """Send what is queued, then close the socket with `code` (a refusal the page must read
        before the close, such as the `rate_limited` error before a 1008)."""
        self.final = (code, reason)
        self.close()


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


class PageSessions:
    """Everything one page has on the server: its sessions and its current socket's outbox."""

    def __init__(
        self,
        page_id: str,
        opener: Opener,
        keep_recent: int = KEEP_RECENT,
        clock: Clock | None = None,
        shared: SharedHandles | None = None,
        answer_wait: float = ANSWER_WAIT,
    ) -> None:
        self.keep_recent = keep_recent
        self.clock = clock or MonotonicClock()
        self.answer_wait = answer_wait  # the resend lane's (`_resend.py`)
        self.shared = shared  # several replicas: an input is covered once the store has it
        # The highest input number per mode the sessions here took (or the store covers).
        self.received: dict[Mode, int] = {"call": 0, "text": 0}
        self.away = AwayAudio(self.clock)  # call audio made with no socket
        self.page_id = page_id
        self.owner = owner_of(page_id)
        self.short = self.owner.removeprefix("page-")[:8]
        self.opener = opener
        self.sessions: dict[Mode, ModeSession] = {}
        self.outbox: Outbox | None = None
        # This replica let the page go (drain, hand-off, sweep): no session opens here again;
        # what the page still sends on its closing socket is the next replica's.
        self.released = False
        # Modes the replica this page came from left no stored record of (this one took the
        # page over): their next session starts anew (`ModeSession._first_unrecorded`).
        self.unrecorded: set[Mode] = set()

    # -- towards the page ------------------------------------------------------------------------

    def emit(self, message: Outgoing) -> None:
        if self.outbox is not None:
            self.outbox.send(message)

    def emit_audio(self, data: bytes) -> None:
        if self.outbox is not None:
            self.outbox.audio(data)
        else:
            self.away.keep(data)

    def notice(self, mode: Mode, kind: NoticeKind, level: Level, text: str) -> None:
        self.emit(Notice(mode, kind, level, text))

    def cover(self, mode: Mode, seq: int) -> None:
        """The page's inputs of `mode` up to `seq` are settled: tell the page once stored."""
        if self.shared is None:  # one process: its memory is the store
            self.emit(Covered(mode, seq))
        else:
            self.shared.cover(self.owner, mode, seq)

    def send_metrics(self, mode: Mode) -> None:
        """The resilience panel's readout for `mode`."""
        ms = self.sessions.get(mode)
        if self.outbox is None or ms is None or ms.session is None:
            return
        m = ms.session.metrics
        self.emit(
            Metrics(
                mode=mode,
                connections=m.connections,
                reconnects=sum(m.reconnects.values()),
                last_downtime_ms=ms.last_downtime_ms,
                replayed=m.replayed,
                new_sessions=m.new_sessions,
            )
        )

    def send_history(self, mode: Mode) -> None:
        """Every turn the session holds verbatim (the page expands what it had folded)."""
        ms = self.sessions.get(mode)
        if ms is None or ms.session is None:
            self.emit(Turns(mode=mode, summary="", folded_turns=0, turns=[]))
            return
        transcript = ms.session.transcript
        self.emit(
            Turns(
                mode=mode,
                summary=transcript.earlier_summary,
                folded_turns=transcript.earlier_count,
                turns=_marked(transcript.to_dicts(), transcript.earlier_count, ms.void),
            )
        )

    def send_transcript(self, mode: Mode) -> None:
        ms = self.sessions.get(mode)
        if self.outbox is None or ms is None or ms.session is None:
            return
        condensed = ms.session.transcript.condensed(keep_recent=self.keep_recent).to_dict()
        condensed["recent"] = _marked(condensed["recent"], condensed["folded_turns"], ms.void)
        self.emit(Transcript(mode=mode, **condensed))

    def attach(self, outbox: Outbox) -> None:
        """A socket took over: bring it up to date."""
        if self.outbox is not None and self.outbox is not outbox:
            self.outbox.close()
        self.outbox = outbox
        for mode, ms in self.sessions.items():
            self.emit(StatusUpdate(mode, ms.status))
            self.send_transcript(mode)
            self.send_metrics(mode)
        if len(self.away):  # what the model said meanwhile, if the page is back soon enough
            frames = self.away.take()
            for frame in frames if self.call() is not None else []:
                outbox.audio(frame)
            log.info(
                "page %s back: %d bytes of call audio replayed, %d dropped as stale",
                self.short,
                sum(len(f) for f in frames),
                self.away.counts.dropped_stale,
            )

    def detach(self, outbox: Outbox) -> None:
        if self.outbox is outbox:
            self.outbox = None

    # -- from the page ---------------------------------------------------------------------------

    def session(self, mode: Mode) -> ModeSession:
        """The running session of `mode`, started when there is none (or the last one ended)."""
        ms = self.sessions.get(mode)
        if ms is None or not ms.alive:
            ms = ModeSession(self, mode)
            self.sessions[mode] = ms
            if self.shared is not None:
                self.shared.listen(self.owner, mode, lambda seq: self.emit(Covered(mode, seq)))
            self.emit(StatusUpdate(mode, ms.status))
        return ms

    def call(self) -> ModeSession | None:
        ms = self.sessions.get("call")
        return ms if ms is not None and ms.alive else None

    async def hangup(self) -> None:
        """The user hung up: the call ends here and in the shared store, wherever the hang-up
        lands (a draining replica that closed the call already, or the replica the page moved
        to), so no replica resumes it."""
        self.away.clear()
        ms = self.sessions.pop("call", None)
        if ms is not None:
            await ms.close()
        if self.shared is not None:
            await self.shared.end(self.owner, "call")
        self.emit(StatusUpdate("call", Status.ENDED))

    async def close(self) -> None:
        """The page is gone: close every session (their handles are forgotten by the backend)."""
        self.released = True
        sessions, self.sessions = list(self.sessions.values()), {}
        for ms in sessions:
            await ms.close()
            if self.shared is not None:
                self.shared.listen(self.owner, ms.mode, None)
        if self.outbox is not None:
            self.outbox.close()
            self.outbox = None


def _marked(turns: list[dict[str, Any]], first: int, void: set[int]) -> list[dict[str, Any]]:
    """`turns` (from absolute index `first`) with each partial reply a reconnect cut marked
    `"void": true`: the conversation does not hold it (its turn was asked again)."""
    if not void:
        return turns
    return [{**t, "void": True} if first + i in void else t for i, t in enumerate(turns)]
