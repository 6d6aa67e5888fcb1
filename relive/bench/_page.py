"""A browser page in Python: the page protocol `static/app.js` speaks (`relive/web/_protocol.py`),
over a `websockets` client, for benches that drive many calls through `relive serve`.

Like app.js it says hello with its page id (and the secret from its first welcome), starts the
call again on a replica that does not run it, and reconnects at once after a `goaway`, otherwise
with app.js's backoff. When the backend numbers inputs (its welcome says what it `received`) the
page numbers each chat message and audio chunk, keeps it until `covered`, and after each welcome
sends again what that replica lacks; otherwise it sends audio only while its socket is open. It
notes what a user would notice: when its call stops being live and when it is live again
(`outages`), which numbered turns got an answer, the errors and toasts it was sent. What it
keeps and notes is in `_page_state.py`; the microphones that feed every page, `_microphones.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import secrets
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

from relive._clock import Clock, MonotonicClock
from relive.bench._page_state import KEEP_AUDIO, KEEP_TEXT, Kept, Outage, PageStats
from relive.bench._replicas import REPLICA_HEADER
from relive.emulator import REPLY_PATTERN

NO_RETRY = (4403, 4409)  # not this page's session / replaced by another socket (app.js)


class PageClient:
    """One page on a call, through `url` (the load balancer), with numbered text turns."""

    def __init__(self, url: str, index: int, *, clock: Clock | None = None, seed: int = 0) -> None:
        self.index = index
        self.ws_url = url.replace("http://", "ws://", 1).rstrip("/") + "/ws"
        self.origin = url.rstrip("/")
        self.page_id = secrets.token_hex(16)
        self.secret: str | None = None
        self.clock = clock or MonotonicClock()
        self.stats = PageStats()
        self.status: dict[str, str] = {}
        self.replica = ""  # the replica holding the page (HAProxy's response header)
        self.replicas: list[str] = []  # every replica it was on, in order
        self.outages: list[Outage] = []
        self.answered: set[str] = set()  # turn texts a reply quoted
        self.modes_answered: set[str] = set()  # modes ("call", "text") with an answer so far
        self.gave_up = ""  # why the page stopped (a close it must not retry)
        self._rng = random.Random(seed * 100_003 + index)
        self._ws: ClientConnection | None = None
        self._welcomed = asyncio.Event()
        self._live = asyncio.Event()
        self._changed = asyncio.Event()
        self._moving = False
        self._ever_live = False
        self._attempts = 0
        self._task: asyncio.Task[None] | None = None
        # Numbered inputs (when the backend's welcome says what it has: `received`).
        self.numbered = False
        self.kept = {"call": Kept(KEEP_AUDIO), "text": Kept(KEEP_TEXT)}
        self._audio_sent = 0  # the number of the last audio frame sent on this socket
        self.audio_ever_sent: set[int] = set()  # numbers of chunks sent at least once

    # -- what a benchmark asks ---------------------------------------------------------------

    @property
    def live(self) -> bool:
        return self._live.is_set()

    @property
    def down(self) -> Outage | None:
        """The outage going on, if any."""
        return self.outages[-1] if self.outages and self.outages[-1].end is None else None

    def start(self) -> None:
        """Open the page and start its call (like a click on "Start call")."""
        self._task = asyncio.create_task(self._run(), name=f"bench-page-{self.index}")

    async def wait_live(self) -> None:
        """Return once the call is live (from its first start, or after an outage)."""
        await self._live.wait()

    async def wait_back(self, since: float) -> Outage | None:
        """Wait until an outage that began at or after `since` has ended; returns it (None:
        the page stopped for good, e.g. refused)."""
        while not self.gave_up:
            outage = next((o for o in self.outages if o.start >= since and o.end), None)
            if outage is not None:
                return outage
            self._changed.clear()
            await self._changed.wait()
        return None

    async def wait_answered_in(self, modes: set[str]) -> None:
        """Return once each of `modes` had an answer (so, on the 2.5 profile, a handle)."""
        while not modes <= self.modes_answered:
            self._changed.clear()
            await self._changed.wait()

    async def wait_answered(self, text: str) -> None:
        while text not in self.answered:
            self._changed.clear()
            await self._changed.wait()

    async def send_audio(self, chunk: bytes) -> None:
        """One microphone chunk. With numbered inputs it is kept until covered and sent now, or
        after the next welcome; without, sent while the socket is open, else dropped (app.js)."""
        if self.numbered:
            self.kept["call"].keep(chunk)
            if self._welcomed.is_set():  # this one, and any kept while the resend went out
                for seq, data in self.kept["call"].above(self._audio_sent):
                    await self._send_audio(seq, data)
            return
        ws = self._ws
        if ws is None or not self._welcomed.is_set():
            self.stats.chunks_unsent += 1
            return
        try:
            await ws.send(chunk)
        except websockets.ConnectionClosed:
            self.stats.chunks_unsent += 1
            return
        self.stats.chunks_sent += 1

    async def _send_audio(self, seq: int, chunk: bytes) -> bool:
        ws = self._ws
        if ws is None:
            return False
        try:
            if not self._audio_sent or seq != self._audio_sent + 1:  # a socket's first frame,
                # or one not right after the last: say its number
                await ws.send(json.dumps({"type": "audio", "seq": seq}))
            await ws.send(chunk)
        except websockets.ConnectionClosed:
            return False
        self._audio_sent = seq
        if seq not in self.audio_ever_sent:
            self.audio_ever_sent.add(seq)
            self.stats.chunks_sent += 1
        return True

    async def send_text(self, text: str) -> None:
        """A chat message, once the page was welcomed (the input waits for it). With numbered
        inputs it is kept until covered and sent now or after the next welcome."""
        while True:
            await self._welcomed.wait()
            if self.numbered:
                seq = self.kept["text"].keep(text)
                await self._send_text(seq, text)
                return
            ws = self._ws
            if ws is None:
                continue
            with contextlib.suppress(websockets.ConnectionClosed):
                await ws.send(json.dumps({"type": "text", "text": text}))
                return
            await asyncio.sleep(0)  # the reader clears `_welcomed` as the close is seen

    async def _send_text(self, seq: int, text: str, resending: bool = False) -> bool:
        ws = self._ws
        if ws is None or not (resending or self._welcomed.is_set()):
            return False
        try:
            await ws.send(json.dumps({"type": "text", "text": text, "seq": seq}))
        except websockets.ConnectionClosed:
            return False
        return True

    async def _resend(self, received: dict[str, int]) -> None:
        """After a welcome: what the page keeps above what this replica has, in order."""
        # Before `_welcomed` is set (new inputs wait for it), so nothing new overtakes these.
        for seq, text in self.kept["text"].above(int(received.get("text") or 0)):
            if await self._send_text(seq, text, resending=True):
                self.stats.resent += 1
        for seq, chunk in self.kept["call"].above(int(received.get("call") or 0)):
            if await self._send_audio(seq, chunk):
                self.stats.resent += 1

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.close()

    # -- the socket ----------------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            code = await self._one_socket()
            self._welcomed.clear()
            self._ws = None
            if code in NO_RETRY:
                self.gave_up = f"closed {code}"
                self._changed.set()
                return
            # app.js: told to move, straight to another replica; else backoff with jitter.
            if self._moving and self._attempts == 0:
                delay = 0.0
            else:
                delay = min(5.0, 0.25 * 2**self._attempts) * (0.5 + self._rng.random() / 2)
            self._attempts += 1
            await asyncio.sleep(delay)  # the page's reconnect backoff, as app.js waits

    async def _one_socket(self) -> int:
        """One socket, hello to close; returns its close code (1006 when it never opened)."""
        try:
            async with websockets.connect(
                self.ws_url, origin=websockets.Origin(self.origin), open_timeout=10
            ) as ws:
                if ws.response is not None:
                    self.replica = ws.response.headers.get(REPLICA_HEADER, "")
                self._ws = ws
                await ws.send(
                    json.dumps({"type": "hello", "page": self.page_id, "secret": self.secret})
                )
                async for frame in ws:
                    if isinstance(frame, bytes):
                        self.stats.audio_received += 1
                    else:
                        await self._on_json(json.loads(frame), ws)
        except websockets.ConnectionClosed:
            pass
        except (OSError, TimeoutError, websockets.InvalidHandshake):
            self._went_down("closed")
            return 1006
        finally:
            self._ws = None
        self._went_down("closed")
        closed = ws.close_code or 1006
        self.stats.closes[closed] += 1
        return closed

    async def _on_json(self, msg: dict[str, Any], ws: ClientConnection) -> None:
        kind = msg.get("type")
        if kind == "welcome":
            await self._on_welcome(msg, ws)
        elif kind == "status":
            self.status[str(msg.get("mode"))] = str(msg.get("status"))
            if msg.get("mode") == "call" and msg.get("status") == "live":
                self._came_back()
            elif msg.get("mode") == "call":
                self._went_down("status")
        elif kind in ("transcript", "history"):
            self._on_turns(str(msg.get("mode")), msg.get("recent") or msg.get("turns") or [])
        elif kind == "goaway":
            self.stats.goaways += 1
            self._moving = True
            self._went_down("goaway")
        elif kind == "covered" and msg.get("mode") in self.kept:
            self.kept[str(msg["mode"])].covered(int(msg["seq"]))
        elif kind == "notice":
            self.stats.notices[str(msg.get("kind"))] += 1
        elif kind == "error":
            self.stats.errors[str(msg.get("code"))] += 1

    async def _on_welcome(self, msg: dict[str, Any], ws: ClientConnection) -> None:
        self.secret = msg["secret"]
        self.stats.welcomes += 1
        self._attempts = 0
        self._moving = False
        if not self.replicas or self.replicas[-1] != self.replica:
            self.replicas.append(self.replica)
        call = (msg.get("sessions") or {}).get("call")
        self._audio_sent = 0
        if call in (None, "ended"):  # this replica does not run the call: start (resume) it
            with contextlib.suppress(websockets.ConnectionClosed):
                await ws.send(json.dumps({"type": "start", "mode": "call"}))
        elif call == "live":
            self._came_back()
        received = msg.get("received")
        self.numbered = isinstance(received, dict)  # this backend numbers inputs (app.js too)
        if isinstance(received, dict):
            await self._resend(received)
        self._welcomed.set()

    def _on_turns(self, mode: str, turns: list[dict[str, Any]]) -> None:
        for turn in turns:
            quoted = (
                REPLY_PATTERN.search(turn.get("text", "")) if turn.get("role") == "model" else None
            )
            if quoted is not None and (
                quoted["text"] not in self.answered or mode not in self.modes_answered
            ):
                self.answered.add(quoted["text"])
                self.modes_answered.add(mode)
                self._changed.set()

    def _went_down(self, cause: str) -> None:
        self._live.clear()
        if self.down is None and self._ever_live:
            self.outages.append(Outage(cause, self.clock.now()))

    def _came_back(self) -> None:
        outage = self.down
        if outage is not None:
            outage.end = self.clock.now()
        self._ever_live = True
        self._live.set()
        self._changed.set()
