"""One page's relive sessions (call, text), and the socket that currently carries them.

The sessions belong to the page, not to a socket: a socket that drops and comes back (same page id
and secret) finds them running and gets a snapshot (status, condensed transcript). What the model
says while no socket is attached lands in the transcript; its audio is kept a short while and sent
after the snapshot when the page is back soon enough (`_away.AwayAudio` states the rule). Each
session is a `ModeSession` (`_mode_session.py`); what goes to the socket, its `Outbox`
(`_outbox.py`).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from relive._clock import Clock, MonotonicClock
from relive.session import LiveSession
from relive.store._handles import SharedHandles
from relive.web._away import AwayAudio
from relive.web._mode_session import ModeSession
from relive.web._outbox import Outbox
from relive.web._protocol import (
    Covered,
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
from relive.web._resend import ANSWER_WAIT

log = logging.getLogger("relive.web")


KEEP_RECENT = 40  # turns shown verbatim; older ones arrive folded into a summary line


Opener = Callable[[Mode, str], AbstractAsyncContextManager[LiveSession]]
"""Opens the relive session for (mode, page id); the backend decides model, config, handles."""


def owner_of(page_id: str) -> str:
    """The session owner (and log name) of a page: a digest, so logs never show the page id."""
    return "page-" + hashlib.sha256(page_id.encode()).hexdigest()[:24]


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
