"""One page socket's incoming frames: each checked (limits, protocol) and routed to the page.

`WebBackend.serve` takes the hello and attaches the page; from then on `receive` reads the socket
until it closes. Audio goes to the call; each message to what it asks for (the call, the chat and
its resend lane, the panel's faults). Numbered inputs the page has already given are dropped
here, so a page sending again after a move doubles nothing.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from starlette.websockets import WebSocket

from relive.web import _incoming as incoming
from relive.web import _panel as panel
from relive.web import _protocol as protocol
from relive.web._bridge import PageSessions
from relive.web._limits import SocketLimiter
from relive.web._outbox import Outbox
from relive.web._panel import FaultSwitch
from relive.web._protocol import ProtocolError

if TYPE_CHECKING:
    from relive.web._app import WebBackend

log = logging.getLogger("relive.web")


async def receive(
    backend: WebBackend, ws: WebSocket, page: PageSessions, limiter: SocketLimiter, outbox: Outbox
) -> None:
    """Take the page's frames until its socket closes, each checked and routed; a refused one
    is answered with an `error` (too many refusals close the socket)."""
    audio_seq: int | None = None  # the number of the next audio frame, if the page numbers
    while True:
        frame = await ws.receive()
        if frame["type"] == "websocket.disconnect":
            return
        try:
            if frame.get("bytes") is not None:
                seq, audio_seq = audio_seq, None if audio_seq is None else audio_seq + 1
                await _audio(page, limiter, frame["bytes"], seq)
            else:
                if not limiter.allow_message():
                    raise ProtocolError("rate_limited", "too many messages; slow down")
                msg = incoming.parse(frame.get("text") or "", limiter.limits)
                if isinstance(msg, incoming.AudioSeq):
                    audio_seq = msg.seq
                    continue
                if isinstance(msg, incoming.Mute) and msg.seq is not None:
                    audio_seq = msg.seq + 1  # a numbered mute takes a place in the series
                if isinstance(msg, incoming.Fault) and msg.fault == "drop_page":
                    _panel_faults(backend, page, msg)
                    log.info("page %s: panel drops its socket", page.short)
                    await ws.close(code=1012, reason="page socket dropped on request")
                    return
                await _handle(backend, page, msg)
        except ProtocolError as exc:
            if exc.code != "rate_limited":  # rate refusals were counted by the limiter
                limiter.refused()
            outbox.send(exc.to_message())
            if limiter.exhausted:  # the error above goes out first, then the close
                outbox.finish(protocol.CLOSE_ABUSE, "too many refused messages")
                return


async def _audio(page: PageSessions, limiter: SocketLimiter, data: bytes, seq: int | None) -> None:
    """One binary frame: call audio (number `seq`, if the page numbers its audio)."""
    incoming.check_audio(data, limiter.limits)
    if not limiter.allow_audio(len(data) / incoming.AUDIO_BYTES_PER_S):
        raise ProtocolError("rate_limited", "too much audio; chunk dropped")
    if page.released or (seq is not None and seq <= page.received["call"]):
        return  # the next replica's (the page keeps it), or sent again: the session has it
    call = page.call()
    if call is None:
        raise ProtocolError("no_call", "audio arrived but no call is running")
    await call.send_audio(data, seq)


async def _handle(backend: WebBackend, page: PageSessions, msg: incoming.Message) -> None:
    if isinstance(msg, incoming.Hello):
        raise ProtocolError("bad_request", "hello was already said on this socket")
    if page.released and _for_the_next_replica(msg):
        return
    if isinstance(msg, incoming.Start):
        ms = page.session("call")  # a running call is re-joined: bring the page up to date
        page.emit(protocol.StatusUpdate("call", ms.status))
        page.send_transcript("call")
    elif isinstance(msg, incoming.Text):
        await _text(page, msg)
    elif isinstance(msg, incoming.Mute):
        await _mute(page, msg)
    elif isinstance(msg, incoming.Hangup):
        await page.hangup()
    elif isinstance(msg, incoming.History):
        page.send_history(msg.mode)
    elif isinstance(msg, incoming.Fault):
        switch = _panel_faults(backend, page, msg)
        if switch is not None:
            hit = panel.break_server(switch, msg.fault)
            log.info("page %s: panel fault %s hit %d connection(s)", page.short, msg.fault, hit)


async def _text(page: PageSessions, msg: incoming.Text) -> None:
    """A chat message: taken once; one sent again waits for the answer to the one before."""
    if msg.seq is not None and msg.seq <= page.received["text"]:
        return  # sent again after a reconnect: the session has it
    chat = page.session("text")
    if msg.again or chat.in_turn:  # after the ones sent again, in order
        chat.send_in_turn(msg.text, msg.seq)
    elif not await chat.send_text(msg.text, msg.seq):
        raise ProtocolError("unavailable", "the chat session is not available")


async def _mute(page: PageSessions, msg: incoming.Mute) -> None:
    """Muted: the call's audio stream ends (a numbered call input, taken once)."""
    if msg.seq is not None and msg.seq <= page.received["call"]:
        return  # sent again after a reconnect: the session has it
    call = page.call()
    if call is not None and msg.muted:
        await call.end_audio_stream(msg.seq)


def _panel_faults(
    backend: WebBackend, page: PageSessions, msg: incoming.Fault
) -> FaultSwitch | None:
    """Check the panel may do `msg`; the switch for a server fault, None for `drop_page`."""
    if not backend.settings.panel:
        raise ProtocolError("unavailable", "the resilience panel is off")
    if msg.fault == "drop_page":
        return None
    if backend.faults is None:
        raise ProtocolError("unavailable", f"{msg.fault} needs the emulator")
    ms = page.sessions.get(msg.mode)
    if ms is None or not ms.alive:
        raise ProtocolError("no_session", f"no {msg.mode} session is running")
    return backend.faults


def _for_the_next_replica(msg: incoming.Message) -> bool:
    """Whether `msg`, sent to a page this replica let go, waits for the next replica (between a
    drain closing the page's sessions and its socket's close, a session opened again would hold
    the Live session the next replica resumes). The page keeps a numbered input and sends it
    there; an unnumbered chat message is refused, so the page says it was not sent."""
    if isinstance(msg, incoming.Text) and msg.seq is None:
        raise ProtocolError("unavailable", "this server is restarting; send it again")
    return isinstance(msg, incoming.Start | incoming.Text | incoming.Mute)
