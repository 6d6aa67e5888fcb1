"""`relive bench wave`: every session of a process reconnecting at once, against raw connects.

`sessions` relive call sessions are held, idle, each with a resumable handle from one answered
turn; then the emulator (a child process, so each side has its own CPU) sends every connection
a goAway, or cuts every one, all at once or spread evenly over `stagger` seconds. A session's
downtime is what its app sees: from the moment that connection's goAway reached the client
(the emulator's send time, plus `latency`) or the emulator cut it, to the app reading
`Connected` on the new one; both times are the machine's monotonic clock, which the two
processes share. The baseline, measured in the same run just before each wave:
as many raw-SDK `connect()` + `setupComplete`, with the setup relive sends, started on the same
schedule (all at once, or spread the same way), so both sides meet the same crowd at the server.

Each window (the baseline, the wave) starts from a full collection of this process, so neither
inherits the other's garbage, and the report gives the client's collections in each (a full one
walks every held session's objects and pauses the loop meanwhile; `--gc-freeze` freezes what was
held before each window, for both alike).

Before each wave every session sends a turn naming it (`wave goaway session 17`) and waits for its
answer and the handle after it: the emulator knows each connection by that text, so a cut can be
timed per session, and every reconnect is a resumption, not a new session.

The figures each wave's numbers make are `_wave_report.py`'s.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from google import genai
from google.genai import types

from relive._clock import Clock, MonotonicClock
from relive.bench._child import EmulatorProcess
from relive.bench._common import (
    API_KEY,
    BENCH_SETTINGS,
    MODEL,
    call_session,
    client_for,
    machine_load,
    user_turn,
)
from relive.bench._gcmeter import GcMeter, settle
from relive.bench._report import Report
from relive.bench._resources import ProcessMeter, Usage
from relive.bench._watch import EventWatch, go_away, resumable_update
from relive.bench._wave_report import KINDS, Kind, Wave, report
from relive.session import (
    Connected,
    LiveSession,
    NewSession,
    Policy,
    Resumed,
    TurnComplete,
)

log = logging.getLogger("relive.bench")

STEP_TIMEOUT = 120.0  # one step of the whole crowd (a turn each, a wave, a baseline)
LABEL = re.compile(r"^wave \w+ session (\d+)$")


@dataclass
class _Held:
    """One relive session of the crowd and its timestamped events."""

    index: int
    session: LiveSession
    watch: EventWatch


async def run_wave(
    *,
    sessions: int = 100,
    faults: Sequence[Kind] = KINDS,
    stagger: float = 0.0,
    connect_concurrency: int = 20,
    time_left: float = 10.0,
    latency: float = 0.0,
    limit_connects: bool = True,
    gc_freeze: bool = False,
    clock: Clock | None = None,
) -> Report:
    """Hold `sessions` relive sessions, then reconnect all of them by each fault in `faults`.

    `stagger`: the wave (and its raw baseline) is spread evenly over this many seconds; 0 hits
    every connection in one pass. `time_left`: the goAway's `timeLeft`. `latency`: every server
    message is delayed this long from the start (the emulator's latency fault), so connects
    wait on the network as against the real service. `limit_connects`: the sessions'
    `Policy.limit_connects` (True, the default: their reconnects take turns). `gc_freeze`: this
    process calls `gc.freeze()` before the baseline and before the wave (after the collection
    each window starts from), so neither side's full collections walk what was held before it.
    """
    if sessions < 1 or connect_concurrency < 1:
        raise ValueError("sessions and connect_concurrency must be positive")
    if stagger < 0 or time_left <= 0 or latency < 0:
        raise ValueError("stagger and latency must be >= 0 and time_left > 0")
    if not faults or any(kind not in KINDS for kind in faults):
        raise ValueError(f"faults must be some of {', '.join(KINDS)}, got {list(faults)}")
    clock = clock or MonotonicClock()
    load = machine_load()
    waves: list[Wave] = []
    async with EmulatorProcess(BENCH_SETTINGS, tap=True, latency=latency) as emu:
        client = client_for(emu.url, emu.ca, API_KEY)
        me, them = ProcessMeter(clock=clock), ProcessMeter(emu.pid, clock=clock)
        policy = Policy(limit_connects=limit_connects)
        meter = GcMeter(clock)
        async with contextlib.AsyncExitStack() as stack:
            stack.callback(gc.unfreeze)
            empty = settle(False)
            held = await _open(client, sessions, connect_concurrency, stack, clock, policy)
            config = held[0].session.config
            for kind in faults:
                wave = Wave(kind)
                ready = await _prepare(held, kind)
                wave.not_ready, held = len(held) - len(ready), ready
                wave.tracked_per_session = (settle(gc_freeze) - empty) / max(1, len(held))
                before = me.snapshot(), them.snapshot()
                with meter.window() as wave.raw_gc:
                    wave.raw_s = await _baseline(client, config, sessions, stagger, clock)
                between = me.snapshot(), them.snapshot()
                settle(gc_freeze)
                start = me.snapshot(), them.snapshot()
                with meter.window() as wave.gc:
                    await _reconnect_all(emu, held, wave, stagger, time_left, latency)
                after = me.snapshot(), them.snapshot()
                wave.raw_cpu_s = _cpu(before, between)
                wave.cpu_s = _cpu(start, after)
                waves.append(wave)
            for one in held:
                await one.watch.aclose()
    return report(
        sessions, stagger, time_left, load, waves, latency, limit_connects, gc_freeze, STEP_TIMEOUT
    )


async def _open(
    client: genai.Client,
    sessions: int,
    concurrency: int,
    stack: contextlib.AsyncExitStack,
    clock: Clock,
    policy: Policy,
) -> list[_Held]:
    gate = asyncio.Semaphore(concurrency)

    async def open_one(i: int) -> _Held:
        session = call_session(client, f"wave-{i}", policy)
        async with gate:
            await stack.enter_async_context(session)
        return _Held(i, session, EventWatch(session, clock))

    async with asyncio.timeout(STEP_TIMEOUT):
        return list(await asyncio.gather(*(open_one(i) for i in range(sessions))))


async def _prepare(held: list[_Held], kind: Kind) -> list[_Held]:
    """A turn naming each session, answered, and the resumable handle that follows it: the
    sessions that got them (one that failed or was not answered in time sits out the wave)."""

    async def one(h: _Held) -> None:
        mark = len(h.watch)
        text = f"wave {kind} session {h.index}"
        await h.session.send_client_content(turns=user_turn(text), turn_complete=True)
        done, _ = await h.watch.wait_for(
            lambda e: isinstance(e, TurnComplete), after=mark, timeout=STEP_TIMEOUT
        )
        await h.watch.wait_for(resumable_update, after=done, timeout=STEP_TIMEOUT)

    results = await asyncio.gather(*(one(h) for h in held), return_exceptions=True)
    for h in held:
        h.watch.forget()  # read: the wave reads from here on, as an app would not keep them
    for h, result in zip(held, results, strict=True):
        if isinstance(result, BaseException):
            log.info("session %d not ready for the %s wave: %r", h.index, kind, result)
    return [h for h, result in zip(held, results, strict=True) if result is None]


async def _baseline(
    client: genai.Client,
    config: types.LiveConnectConfig,
    count: int,
    stagger: float,
    clock: Clock,
) -> list[float | None]:
    """`count` raw connect + setupComplete, started on the wave's schedule (None: it failed);
    all are closed once every one is done (as many connections at the server at once as in
    the wave)."""
    start = clock.now()
    cms: list[contextlib.AbstractAsyncContextManager[Any]] = []

    async def one(i: int) -> float | None:
        due = start + stagger * i / count
        if due > clock.now():
            await asyncio.sleep(due - clock.now())  # the wave's schedule: pacing, not a wait
        cm = client.aio.live.connect(model=MODEL, config=config)
        began = clock.now()
        try:
            await cm.__aenter__()
        except Exception as exc:  # e.g. the SDK's 10 s open timeout in a crowd: counted
            log.info("raw connect failed: %r", exc)
            return None
        cms.append(cm)
        return clock.now() - began

    try:
        async with asyncio.timeout(STEP_TIMEOUT + stagger):
            return list(await asyncio.gather(*(one(i) for i in range(count))))
    finally:
        await asyncio.gather(
            *(cm.__aexit__(None, None, None) for cm in cms), return_exceptions=True
        )


async def _reconnect_all(
    emu: EmulatorProcess,
    held: list[_Held],
    wave: Wave,
    stagger: float,
    time_left: float,
    latency: float,
) -> None:
    """Fire the wave and time each session from its goAway's arrival (or its cut) to its new
    `Connected`."""
    marks = [len(h.watch) for h in held]
    attempts = sum(h.session.metrics.connect_attempts for h in held)
    before = await emu.stats()
    hits = await emu.wave(wave.kind, stagger, time_left)
    # The sessions' connections, by the turn each carried (a raw baseline connection still
    # closing at the server carried none).
    cut_at: dict[int, float] = {}
    for label, at in hits:
        match = LABEL.match(label)
        if match:
            cut_at[int(match.group(1))] = at
    wave.hit = len(cut_at)
    wave.wave_s = max(cut_at.values()) - min(cut_at.values()) if cut_at else 0.0

    async def one(h: _Held, mark: int) -> None:
        # One deadline for the whole step (below), as the baseline has: no timer per wait.
        if wave.kind == "goaway":
            # Timed from when the goAway reached this machine (sent, plus the `latency` every
            # server message is held), not from when this process got to read it: a busy
            # client reads it late, and that wait is part of the downtime.
            mark, _ = await h.watch.wait_for(go_away, after=mark, timeout=None)
        start = cut_at[h.index] + (latency if wave.kind == "goaway" else 0.0)
        _, back = await h.watch.wait_for(
            lambda e: isinstance(e, Connected), after=mark, timeout=None
        )
        assert isinstance(back.event, Connected)
        since = [s.event for s in h.watch.since(mark)]
        if not back.event.resumed or any(isinstance(e, NewSession) for e in since):
            wave.new_sessions += 1
        wave.downtime_s.append(back.at - start)
        wave.reported_s += [e.downtime_s for e in since if isinstance(e, Resumed)][:1]

    tasks = [asyncio.ensure_future(one(h, mark)) for h, mark in zip(held, marks, strict=True)]
    await asyncio.wait(tasks, timeout=STEP_TIMEOUT + stagger)
    for task in tasks:
        task.cancel()  # not back in time: counted below
    await asyncio.gather(*tasks, return_exceptions=True)
    wave.missing = sum(1 for t in tasks if t.cancelled() or t.exception() is not None)
    after = await emu.stats()
    wave.attempts = sum(h.session.metrics.connect_attempts for h in held) - attempts
    wave.refused = sum(after["rejected_handles"].values()) - sum(
        before["rejected_handles"].values()
    )


def _cpu(start: tuple[Usage, Usage], end: tuple[Usage, Usage]) -> tuple[float, float]:
    return (end[0].cpu_s - start[0].cpu_s, end[1].cpu_s - start[1].cpu_s)
