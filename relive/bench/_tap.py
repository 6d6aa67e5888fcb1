"""What each emulator connection received: numbered audio chunks and user turn texts, in order.

The emulator counts messages but does not keep which arrived where, so the bench hooks its
events (`Emulator.on_event`): every `received` event carries the decoded client message, whose
audio chunk sequence number (`relive.bench._audio`) or `clientContent` text is noted per
connection, and `aborted` / `connection_closed` say how each connection ended.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from typing import Any

from relive._clock import Clock, MonotonicClock
from relive.bench._audio import chunk_seq
from relive.emulator import Emulator, EmulatorEvent, EventKind


class ClientTap:
    """Per emulator connection id: the audio chunks and turn texts it received, in order."""

    def __init__(self, emulator: Emulator, clock: Clock | None = None) -> None:
        self.by_conn: dict[int, list[int]] = {}
        self.texts_by_conn: dict[int, list[str]] = {}
        self.ended: dict[int, str] = {}  # conn id -> "closed 1011", "aborted", ...
        self.arrived_at: dict[int, float] = {}  # first arrival of each chunk (clock seconds)
        self._clock = clock or MonotonicClock()
        self._seen: set[int] = set()
        self._changed = asyncio.Event()
        emulator.on_event.append(self.record)

    def record(self, event: EmulatorEvent) -> None:
        """Note what one emulator event says about a connection (the `on_event` hook)."""
        conn = event.data.get("conn")
        if not isinstance(conn, int):
            return
        if event.kind is EventKind.RECEIVED:
            self._received(conn, event.data["message"])
        elif event.kind is EventKind.ABORTED:
            self.ended[conn] = "aborted"
        elif event.kind is EventKind.CONNECTION_CLOSED:
            self.ended.setdefault(conn, f"closed {int(event.data['code'])}")

    def _received(self, conn: int, message: Any) -> None:
        seq = _audio_seq(message)
        if seq is not None:
            self.by_conn.setdefault(conn, []).append(seq)
            if seq not in self._seen:
                self._seen.add(seq)
                self.arrived_at[seq] = self._clock.now()
            self._changed.set()
        text = _turn_text(message)
        if text is not None:
            self.texts_by_conn.setdefault(conn, []).append(text)

    def received(self) -> list[int]:
        """Every chunk received, connection after connection (ids increase with time)."""
        return [seq for conn in sorted(self.by_conn) for seq in self.by_conn[conn]]

    def out_of_order_within_connections(self) -> int:
        """Chunks that arrived on a connection after a later-numbered one did."""
        count = 0
        for seqs in self.by_conn.values():
            last = -1
            for seq in seqs:
                if seq < last:
                    count += 1
                last = max(last, seq)
        return count

    def where(self, text: str) -> list[tuple[int, str]]:
        """The connections that received turn `text`, each with how it ended (or "open")."""
        return [
            (conn, self.ended.get(conn, "open"))
            for conn in sorted(self.texts_by_conn)
            if text in self.texts_by_conn[conn]
        ]

    async def wait_for_seq(self, seq: int, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until some connection has received chunk `seq`."""
        async with asyncio.timeout(timeout):
            while seq not in self._seen:
                self._changed.clear()
                await self._changed.wait()


AudioTap = ClientTap  # the name the audio benches use


def _part(message: Any, kind: str, key: str) -> Any:
    """`body[key]` of a client message of `kind` (None for another kind, or no such key)."""
    if getattr(message, "kind", None) != kind:
        return None
    body = getattr(message, "body", None)
    return body.get(key) if isinstance(body, dict) else None


def _turn_text(message: Any) -> str | None:
    turns = _part(message, "clientContent", "turns")
    if not isinstance(turns, list):
        return None
    return " ".join(
        str(part.get("text"))
        for turn in turns
        if isinstance(turn, dict)
        for part in turn.get("parts") or []
        if isinstance(part, dict) and isinstance(part.get("text"), str)
    )


def _audio_seq(message: Any) -> int | None:
    audio = _part(message, "realtimeInput", "audio")
    if not isinstance(audio, dict):
        return None
    text = audio.get("data")
    if not isinstance(text, str):
        return None
    try:  # the Python SDK sends URL-safe base64; proto JSON accepts both alphabets
        data = base64.b64decode(text.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        return None
    return chunk_seq(data)
