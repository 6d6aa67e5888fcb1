"""The sending side of one page socket: what the page's sessions emit, queued in order, bounded.

The sessions write to it without waiting (they outlive sockets); the socket's sender task drains
it. A page that cannot keep up loses audio first, then its socket (it comes back for a snapshot).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from relive.web._protocol import Outgoing

Frame = dict[str, Any] | bytes  # an encoded message, or audio


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
