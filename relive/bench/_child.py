"""The emulator in a child process (multiprocessing, spawn), so its CPU and memory are its own.

The parent talks to it over a pipe: its URL, CA file and pid at start, then stats on request.
With `tap=True` the child also notes which numbered audio chunks and turn texts arrived
(`ClientTap`), and hands back per-caller tallies (`heard()`); with `count_delivered`, its stats
say how many distinct messages of the app arrived (`delivered`). A `wave()` sends every
connection a goAway, or cuts each, at once or spread over some seconds, and says when it hit
which connection, each known by the last turn text it received (with `tap=True`).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import multiprocessing
import os
import time
from multiprocessing.connection import Connection
from typing import Any

from relive import _loop
from relive.bench._tap import ClientTap
from relive.emulator import Emulator, EmulatorEvent, EmulatorSettings, EmulatorStats, EventKind
from relive.emulator._codec import ClientMessage
from relive.emulator._collector import tune_for_serving

ASK_TIMEOUT = 120.0


class _Delivered:
    """The app's messages that reached the emulator, each counted once: a message replayed after
    a reconnect arrives twice but was produced once. Keyed by the emulator's session (which a
    resumed connection keeps) and the payload (audio data, or the turns' text), so the app must
    make each message of a session distinct (the scale bench numbers chunks by tick)."""

    def __init__(self, emu: Emulator) -> None:
        self._emu = emu
        self.seen: set[int] = set()  # hashes: a set of payloads would hold every chunk
        emu.on_event.append(self)

    def __call__(self, event: EmulatorEvent) -> None:
        if event.kind is not EventKind.RECEIVED:
            return
        message = event.data.get("message")
        session = self._emu.session_of(event.data["conn"])
        if session is None or not isinstance(message, ClientMessage):
            return
        if message.kind == "realtimeInput" and isinstance(message.body.get("audio"), dict):
            self.seen.add(hash((session, "audio", str(message.body["audio"].get("data")))))
        elif message.kind == "clientContent":
            self.seen.add(hash((session, "turns", repr(message.body.get("turns")))))


def _stats(emu: Emulator, delivered: _Delivered | None) -> dict[str, Any]:
    figures = emu.stats.to_json()
    figures["gc_thresholds"] = list(gc.get_threshold())
    if delivered is not None:
        figures["delivered"] = len(delivered.seen)
    return figures


def _serve(
    conn: Connection,
    settings: EmulatorSettings,
    tap: bool,
    count_delivered: bool,
    latency: float,
) -> None:
    """The emulator process: serve until told to stop, answering stats requests."""
    # A client killed mid-call (`bench failover`) leaves the emulator writing to its closed TLS
    # socket a moment; asyncio warns for each write past the fifth. Expected: not printed.
    logging.getLogger("asyncio").setLevel(logging.ERROR)

    async def main() -> None:
        async with Emulator(settings, tls=True) as emu:
            tune_for_serving()  # as `relive emulator` does (the same for relive and raw)
            emu.faults.set_latency(latency)
            heard = ClientTap(emu) if tap else None
            delivered = _Delivered(emu) if count_delivered else None

            def stats() -> dict[str, Any]:
                return _stats(emu, delivered)

            conn.send({"url": emu.url, "ca": str(emu.ca_pem_path), "pid": os.getpid()})
            loop = asyncio.get_running_loop()
            while True:
                command = await loop.run_in_executor(None, conn.recv)
                if command == "stats":
                    conn.send(stats())
                elif command == "drop":
                    # CLOCK_MONOTONIC is one clock for every process of the machine.
                    conn.send((emu.faults.drop(), time.monotonic()))
                elif isinstance(command, tuple) and command[0] == "goaway":
                    conn.send((emu.faults.goaway_now(command[1]), time.monotonic()))
                elif isinstance(command, tuple) and command[0] == "wave":
                    _, kind, stagger, time_left = command
                    conn.send(await _wave(emu, heard, kind, stagger, time_left))
                elif isinstance(command, tuple) and command[0] == "arrived":
                    conn.send(_arrived(heard, command[1], command[2]))
                elif command == "heard":
                    tallies = _tallies(heard)
                    tallies["held"] = _held(emu)
                    conn.send(tallies)
                elif isinstance(command, tuple) and command[0] == "wait_for":
                    key, target = str(command[1]), int(command[2])

                    def arrived(_: EmulatorStats, key: str = key, target: int = target) -> bool:
                        return int(stats()[key]) >= target

                    with contextlib.suppress(TimeoutError):
                        await emu.wait_for(arrived, 30.0)
                    conn.send(stats())
                else:
                    conn.send(stats())
                    return

    _loop.run(main())  # uvloop when installed, like the client side


async def _wave(
    emu: Emulator, tap: ClientTap | None, kind: str, stagger: float, time_left: float
) -> list[tuple[str, float]]:
    """A goAway to every open connection, or a cut of each, spread evenly over `stagger`
    seconds (0: all in one pass); for each, the last turn text it received (with the tap) and
    `time.monotonic()` when it was hit."""
    links = list(emu._links.values())
    start = time.monotonic()
    hit: list[tuple[str, float]] = []
    for i, link in enumerate(links):
        due = start + stagger * i / len(links)
        if due > time.monotonic():
            await asyncio.sleep(due - time.monotonic())  # the wave's pacing, not a wait
        at = time.monotonic()
        if kind == "goaway":
            link.apply(link.machine.go_away_now(time_left))
        else:
            link.abort_now("drop fault (wave)")
        texts = tap.texts_by_conn.get(link.machine.conn_id) if tap is not None else None
        hit.append((texts[-1] if texts else "", at))
    return hit


def _tallies(tap: ClientTap | None) -> dict[str, dict[Any, int]]:
    """What the tap saw, small enough for the pipe: per caller (a chunk's number >> CALLER_SHIFT)
    the distinct chunks and the repeats; per turn text how often it arrived (on any connection,
    a resend after a resume included)."""
    if tap is None:
        return {"chunks": {}, "repeats": {}, "texts": {}}
    chunks: dict[int, int] = {}
    repeats: dict[int, int] = {}
    seen: set[int] = set()
    for seq in tap.received():
        caller = seq >> CALLER_SHIFT
        if seq in seen:
            repeats[caller] = repeats.get(caller, 0) + 1
        else:
            seen.add(seq)
            chunks[caller] = chunks.get(caller, 0) + 1
    texts: dict[str, int] = {}
    for sent in tap.texts_by_conn.values():
        for text in sent:
            texts[text] = texts.get(text, 0) + 1
    return {"chunks": chunks, "repeats": repeats, "texts": texts}


def _arrived(tap: ClientTap | None, ranges: dict[int, tuple[int, int]], by: float) -> int:
    """Chunks numbered in each caller's [lo, hi) that first arrived by `by` (monotonic s)."""
    if tap is None:
        return 0
    count = 0
    for caller, (lo, hi) in ranges.items():
        base = caller << CALLER_SHIFT
        for n in range(lo, hi):
            at = tap.arrived_at.get(base | n)
            if at is not None and at <= by:
                count += 1
    return count


def _held(emu: Emulator) -> dict[str, int]:
    """How often each user turn text is in the model's conversations now."""
    held: dict[str, int] = {}
    for text in emu.user_turns_held():
        held[text] = held.get(text, 0) + 1
    return held


CALLER_SHIFT = 20  # a caller's chunks are numbered caller << 20 | n (n < 2**20: 5.8 h at 50/s)


class EmulatorProcess:
    """An emulator in a child process, with its URL, CA file and pid."""

    def __init__(
        self,
        settings: EmulatorSettings,
        *,
        tap: bool = False,
        count_delivered: bool = False,
        latency: float = 0.0,
    ) -> None:
        """`count_delivered`: stats carry `delivered`, the app's distinct messages received.
        `latency`: every server message is delayed this long (the emulator's latency fault)."""
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        args = (child, settings, tap, count_delivered, latency)
        self._process = ctx.Process(target=_serve, args=args, daemon=True)
        self.url = ""
        self.ca = ""
        self.pid = 0

    async def __aenter__(self) -> EmulatorProcess:
        self._process.start()
        info = await self._ask(None, timeout=ASK_TIMEOUT)
        self.url, self.ca, self.pid = info["url"], info["ca"], int(info["pid"])
        return self

    async def _ask(self, command: object, timeout: float) -> Any:  # noqa: ASYNC109
        loop = asyncio.get_running_loop()
        if command is not None:
            self._conn.send(command)
        async with asyncio.timeout(timeout):
            return await loop.run_in_executor(None, self._conn.recv)

    async def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = await self._ask("stats", timeout=ASK_TIMEOUT)
        return result

    async def drop_all(self) -> tuple[int, float]:
        """Cut every open connection at once (a mass drop): how many, and `time.monotonic()`
        when they were cut."""
        cut, at = await self._ask("drop", timeout=ASK_TIMEOUT)
        return int(cut), float(at)

    async def goaway_all(self, time_left: float) -> tuple[int, float]:
        """Send every open connection a goAway with `time_left`: how many, and when."""
        sent, at = await self._ask(("goaway", time_left), timeout=ASK_TIMEOUT)
        return int(sent), float(at)

    async def wave(
        self, kind: str, stagger: float = 0.0, time_left: float = 10.0
    ) -> list[tuple[str, float]]:
        """A goAway to every open connection (`kind="goaway"`, with `time_left`) or a cut of
        each (`"drop"`), spread over `stagger` seconds: each connection's last turn text (with
        `tap=True`; else "") and `time.monotonic()` when it was hit."""
        hit = await self._ask(("wave", kind, stagger, time_left), timeout=ASK_TIMEOUT + stagger)
        return [(str(label), float(at)) for label, at in hit]

    async def heard(self) -> dict[str, dict[Any, int]]:
        """With `tap=True`: per caller the distinct audio chunks and repeats that arrived, how
        often each turn text arrived (see `_tallies`), and how often each user turn text is in
        the model's conversations now (`held`)."""
        result: dict[str, dict[Any, int]] = await self._ask("heard", timeout=ASK_TIMEOUT)
        return result

    async def arrived(self, ranges: dict[int, tuple[int, int]], by: float) -> int:
        """With `tap=True`: how many chunks numbered n in lo <= n < hi of each caller (their
        `(lo, hi)` in `ranges`) first arrived by `by` (`time.monotonic()`, one clock for every
        process of the machine)."""
        return int(await self._ask(("arrived", ranges, by), timeout=ASK_TIMEOUT))

    async def wait_received(self, count: int) -> dict[str, Any]:
        """Stats once the emulator has received `count` messages in all (or after 30 s)."""
        return await self._wait_for("messages_received", count)

    async def wait_delivered(self, count: int) -> dict[str, Any]:
        """Stats once `count` distinct messages of the app have arrived (or after 30 s)."""
        return await self._wait_for("delivered", count)

    async def _wait_for(self, key: str, count: int) -> dict[str, Any]:
        result: dict[str, Any] = await self._ask(("wait_for", key, count), timeout=ASK_TIMEOUT)
        return result

    async def __aexit__(self, *exc: object) -> None:
        with contextlib.suppress(Exception):
            await self._ask("stop", timeout=ASK_TIMEOUT)
        await asyncio.get_running_loop().run_in_executor(None, self._process.join, 10.0)
        if self._process.is_alive():
            self._process.kill()
