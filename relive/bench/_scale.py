"""`relive bench scale`: many concurrent call sessions streaming real-time audio.

The emulator runs in a child process (`relive.bench._child`), so each side's CPU and memory are
measured on their own with psutil. This process opens `sessions` call sessions, through relive
(default) or the raw SDK (`side="raw"`, for comparison), at most `connect_concurrency` setups at
a time; then for `hold` seconds one ticker sends every session a 20 ms chunk every 20 ms (or
`chunk_ms`, to see what a bigger chunk buys), and
each session a short text turn every `turn_every` seconds (staggered), as in a conversation.
Every session's replies are read, as an app would.

When the process cannot keep up, ticks fall behind; the run still ends after `hold` seconds,
so "real time sustained" (ticks done / ticks due) says how much of the audio could be produced.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from google import genai
from google.genai import types

from relive._clock import Clock, MonotonicClock
from relive.bench._audio import MIME_TYPE, pcm_chunk
from relive.bench._child import EmulatorProcess
from relive.bench._common import (
    API_KEY,
    BENCH_SETTINGS,
    MODEL,
    call_config,
    call_session,
    client_for,
    user_turn,
)
from relive.bench._report import Report
from relive.bench._resources import ProcessMeter
from relive.bench._scale_report import ScaleRun, Side, scale_report
from relive.bench._stats import ratio
from relive.session import Connected, GaveUp, Reconnecting, State

MASS_DROP_TIMEOUT = 60.0


@dataclass
class _Recovery:
    """A mass drop: when it was cut, and how long each session took to be connected again."""

    target: int = 0
    armed: bool = False
    cut_at: float = 0.0  # time.monotonic() in the emulator's process when it cut them
    connected_at: list[float] = field(default_factory=list)
    all_back: asyncio.Event = field(default_factory=asyncio.Event)

    def connected(self, now: float) -> None:
        if not self.armed:
            return
        self.connected_at.append(now)
        if len(self.connected_at) >= self.target:
            self.all_back.set()

    @property
    def back_s(self) -> list[float]:
        return [t - self.cut_at for t in self.connected_at]


@dataclass
class _Caller:
    """One call, whichever side carries it."""

    send_audio: Callable[[types.Blob], Awaitable[None]]
    send_turn: Callable[[str], Awaitable[None]]
    is_live: Callable[[], bool]
    reader: Callable[[], Coroutine[Any, Any, None]]


async def _open_raw(client: genai.Client, stack: contextlib.AsyncExitStack) -> _Caller:
    raw = await stack.enter_async_context(
        client.aio.live.connect(model=MODEL, config=call_config())
    )
    closed = asyncio.Event()

    async def raw_reader() -> None:
        try:
            while True:
                async for _ in raw.receive():
                    pass
        except Exception:
            closed.set()

    async def raw_turn(text: str) -> None:
        await raw.send_client_content(turns=user_turn(text), turn_complete=True)

    return _Caller(
        send_audio=lambda blob: raw.send_realtime_input(audio=blob),
        send_turn=raw_turn,
        is_live=lambda: not closed.is_set(),
        reader=raw_reader,
    )


async def _open_relive(
    client: genai.Client,
    index: int,
    stack: contextlib.AsyncExitStack,
    counts: Any,
    recovery: _Recovery,
    clock: Clock,
) -> _Caller:
    session = call_session(client, f"scale-{index}")
    await stack.enter_async_context(session)

    async def relive_reader() -> None:
        async for event in session.events():
            if isinstance(event, Connected):
                recovery.connected(time.monotonic())  # the emulator process's clock too
            elif isinstance(event, Reconnecting):
                counts["reconnects"] += 1
            elif isinstance(event, GaveUp):
                counts["gave_up"] += 1

    async def relive_turn(text: str) -> None:
        await session.send_client_content(turns=user_turn(text), turn_complete=True)

    return _Caller(
        send_audio=lambda blob: session.send_realtime_input(audio=blob),
        send_turn=relive_turn,
        is_live=lambda: session.state is State.LIVE,
        reader=relive_reader,
    )


async def run_scale(
    *,
    sessions: int = 100,
    hold: float = 5.0,
    connect_concurrency: int = 20,
    turn_every: float = 2.0,
    side: Side = "relive",
    chunk_ms: int = 20,
    clock: Clock | None = None,
    mass_drop: bool = False,
) -> Report:
    """Hold `sessions` call sessions streaming real-time audio for `hold` seconds.

    `mass_drop` (relive only): then cut every connection at once and time how long each
    session takes to be connected again.
    """
    if sessions < 1 or hold <= 0 or connect_concurrency < 1 or turn_every <= 0:
        raise ValueError("sessions, hold, connect_concurrency and turn_every must be positive")
    if not 10 <= chunk_ms <= 1000:
        raise ValueError(f"chunk_ms must be between 10 and 1000, got {chunk_ms}")
    if side not in ("relive", "raw"):
        raise ValueError(f"side must be 'relive' or 'raw', got {side!r}")
    clock = clock or MonotonicClock()
    me = ProcessMeter(clock=clock)
    counts = {"reconnects": 0, "gave_up": 0}
    recovery = _Recovery()
    late: list[float] = []
    async with EmulatorProcess(BENCH_SETTINGS, count_delivered=True) as emu:
        them = ProcessMeter(emu.pid, clock=clock)
        client = client_for(emu.url, emu.ca, API_KEY)
        idle_me, idle_them = me.snapshot(), them.snapshot()
        gate = asyncio.Semaphore(connect_concurrency)
        async with contextlib.AsyncExitStack() as stack:

            async def open_one(i: int) -> _Caller:
                async with gate:
                    if side == "raw":
                        return await _open_raw(client, stack)
                    return await _open_relive(client, i, stack, counts, recovery, clock)

            connect_start = clock.now()
            results = await asyncio.gather(
                *(open_one(i) for i in range(sessions)), return_exceptions=True
            )
            connect_s = clock.now() - connect_start
            callers = [r for r in results if isinstance(r, _Caller)]
            readers = [asyncio.create_task(c.reader()) for c in callers]
            before = await emu.stats()
            start_me, start_them = me.snapshot(), them.snapshot()
            produced, ticks = await _stream(callers, hold, turn_every, chunk_ms, clock, late)
            end_me, end_them = me.snapshot(), them.snapshot()
            after = await emu.stats()
            drain_start = clock.now()
            drained = await emu.wait_delivered(before["delivered"] + produced)
            drain_s = clock.now() - drain_start
            live = sum(1 for c in callers if c.is_live())
            if mass_drop and side == "relive":
                recovery.target, recovery.armed = live, True
                _, recovery.cut_at = await emu.drop_all()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(MASS_DROP_TIMEOUT):
                        await recovery.all_back.wait()
            for task in readers:
                task.cancel()
            await asyncio.gather(*readers, return_exceptions=True)
    return scale_report(
        ScaleRun(
            side=side,
            sessions=sessions,
            hold=hold,
            chunk_ms=chunk_ms,
            connect_s=connect_s,
            failed=sessions - len(callers),
            live=live,
            counts=counts,
            produced=produced,
            sustained=ratio(ticks, max(1, round(hold * 1000 / chunk_ms))),
            received=after["messages_received"] - before["messages_received"],
            consumed=after["delivered"] - before["delivered"],
            delivered=drained["delivered"] - before["delivered"],
            drain_s=drain_s,
            late=late,
            me=ProcessMeter.window(start_me, end_me),
            them=ProcessMeter.window(start_them, end_them),
            idle_rss=(idle_me.rss_bytes, idle_them.rss_bytes),
            mass_drop=mass_drop and side == "relive",
            cut=recovery.target,
            back_s=recovery.back_s,
        )
    )


async def _stream(
    callers: list[_Caller],
    hold: float,
    turn_every: float,
    chunk_ms: int,
    clock: Clock,
    late: list[float],
) -> tuple[int, int]:
    """One ticker for `hold` seconds: a chunk to every session per tick, a turn now and then.
    Each tick's chunk carries the tick's number, so no session sends the same chunk twice (the
    emulator counts a replayed one once).

    Returns (messages produced, ticks done).
    """
    interval = chunk_ms / 1000
    turn_ticks = max(1, round(turn_every / interval))
    produced = 0
    start = clock.now()
    end = start + hold
    n = 0
    while True:
        due = start + n * interval
        if due >= end:
            break
        wait = due - clock.now()
        if wait > 0:
            await asyncio.sleep(wait)  # real-time pacing, not a wait for an event
        if clock.now() >= end:
            break
        late.append(max(0.0, clock.now() - due))
        blob = types.Blob(data=pcm_chunk(n, ms=chunk_ms), mime_type=MIME_TYPE)
        for i, caller in enumerate(callers):
            await caller.send_audio(blob)
            produced += 1
            if (n + i) % turn_ticks == 0:
                await caller.send_turn(f"tick {n}")
                produced += 1
        n += 1
    return produced, n
