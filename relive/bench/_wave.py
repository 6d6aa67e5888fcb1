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
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

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
from relive.bench._gcmeter import Collections, GcMeter, collections_table, settle
from relive.bench._report import Aim, Figure, Report, Table
from relive.bench._resources import ProcessMeter, Usage
from relive.bench._stats import Summary, ratio, summarize
from relive.bench._watch import EventWatch, go_away, resumable_update
from relive.emulator._collector import DESCRIPTION as EMULATOR_GC
from relive.session import (
    Connected,
    LiveSession,
    NewSession,
    Policy,
    Resumed,
    TurnComplete,
)

log = logging.getLogger("relive.bench")

Kind = Literal["goaway", "drop"]
KINDS: tuple[Kind, ...] = ("goaway", "drop")
_LABELS: dict[Kind, str] = {"goaway": "goAway", "drop": "drop"}
STEP_TIMEOUT = 120.0  # one step of the whole crowd (a turn each, a wave, a baseline)
LABEL = re.compile(r"^wave \w+ session (\d+)$")


@dataclass
class _Held:
    """One relive session of the crowd and its timestamped events."""

    index: int
    session: LiveSession
    watch: EventWatch


@dataclass
class _Wave:
    """What one wave measured."""

    kind: Kind
    raw_s: list[float | None] = field(default_factory=list)  # connect + setupComplete, or failed
    downtime_s: list[float] = field(default_factory=list)  # per session that came back
    reported_s: list[float] = field(default_factory=list)  # relive's own `Resumed.downtime_s`
    hit: int = 0  # the sessions' connections the emulator hit
    new_sessions: int = 0  # came back as a new session (the resumption failed)
    missing: int = 0  # not back within the step timeout
    wave_s: float = 0.0  # first hit to last hit
    # CPU seconds of (this process, the emulator's) over the baseline (its closes included)
    # and over the wave: they hold on a loaded machine where the wall-clock times do not.
    raw_cpu_s: tuple[float, float] = (0.0, 0.0)
    cpu_s: tuple[float, float] = (0.0, 0.0)
    not_ready: int = 0  # sessions that could not take their turn before the wave (failed)
    attempts: int = 0  # relive's connect attempts in the wave (one per session at best)
    refused: int = 0  # resumptions the emulator refused in the wave (handle in use, ...)
    # The client process's garbage collections over the baseline and over the wave, and the
    # objects its collector tracked per held session just before them (what a full one walks).
    raw_gc: Collections = field(default_factory=Collections)
    gc: Collections = field(default_factory=Collections)
    tracked_per_session: float = 0.0


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
    waves: list[_Wave] = []
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
                wave = _Wave(kind)
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
    return _report(sessions, stagger, time_left, load, waves, latency, limit_connects, gc_freeze)


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
    wave: _Wave,
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


def _report(
    sessions: int,
    stagger: float,
    time_left: float,
    load: float,
    waves: list[_Wave],
    latency: float,
    limit_connects: bool,
    gc_freeze: bool,
) -> Report:
    lines: list[Figure] = []
    counts: list[Figure] = []
    aims: list[Aim] = []
    for wave in waves:
        kind, label = wave.kind, _LABELS[wave.kind]
        raw = summarize([1000 * s for s in wave.raw_s if s is not None])
        raw_failed = Figure(
            f"{label}: raw connects that failed", wave.raw_s.count(None), key=f"{kind}.raw_failed"
        )
        down = summarize([1000 * s for s in wave.downtime_s])
        lines.append(
            _downtime(
                f"raw SDK connect+setup (before the {label} wave)", f"{kind}.raw_ms", raw, raw
            )
        )
        lines.append(
            _downtime(f"relive {label} downtime (app sees)", f"{kind}.downtime_ms", down, raw)
        )
        if wave.reported_s:
            own = summarize([1000 * s for s in wave.reported_s])
            lines.append(
                _downtime(f"relive {label} (Resumed.downtime_s)", f"{kind}.reported_ms", own, raw)
            )
        p50_ratio = Figure(
            f"{label}: downtime p50 / raw connect+setup p50",
            ratio(down.p50, raw.p50),
            key=f"{kind}.p50_ratio",
        )
        lost = Figure(
            f"{label}: sessions not back in {STEP_TIMEOUT:.0f} s",
            wave.missing,
            key=f"{kind}.not_back",
        )
        new = Figure(
            f"{label}: back as a new session", wave.new_sessions, key=f"{kind}.new_sessions"
        )
        not_ready = Figure(
            f"{label}: sessions not ready for the wave (failed or unanswered before it)",
            wave.not_ready,
            key=f"{kind}.not_ready",
        )
        n_raw = max(1, len(wave.raw_s) - wave.raw_s.count(None))
        n_back = max(1, len(wave.downtime_s))
        counts += [
            p50_ratio,
            *(
                Figure(
                    f"{label}: {who} CPU per {what}",
                    1000 * cpu[side] / n,
                    key=f"{kind}.{prefix}{who}_cpu_ms",
                    unit="ms",
                )
                for side, who in enumerate(("client", "emulator"))
                for what, cpu, n, prefix in (
                    ("raw connect+setup", wave.raw_cpu_s, n_raw, "raw_"),
                    ("relive reconnect", wave.cpu_s, n_back, ""),
                )
            ),
            Figure(
                f"{label}: client objects the collector tracks per held session (with the "
                "bench's event log)",
                wave.tracked_per_session,
                key=f"{kind}.tracked_per_session",
            ),
            Figure(f"{label}: session connections hit", wave.hit, key=f"{kind}.connections_hit"),
            Figure(f"{label}: first hit to last", wave.wave_s, key=f"{kind}.wave_s", unit="s"),
            Figure(f"{label}: connect attempts", wave.attempts, key=f"{kind}.connect_attempts"),
            Figure(
                f"{label}: resumptions refused by the server",
                wave.refused,
                key=f"{kind}.resumptions_refused",
            ),
            new,
            lost,
            not_ready,
            raw_failed,
        ]
        aims += [
            Aim.at_most(f"{label} downtime p50 / raw connect+setup p50", 1.2, p50_ratio),
            Aim.none(f"{label}: sessions not back", lost),
            Aim.none(f"{label}: sessions back as new ones", new),
            Aim.none(f"{label}: sessions not ready for the wave", not_ready),
        ]
    main = Table("", "per session", ["n", "p50 ms", "p95 ms", "max ms", "x raw p50"], lines)
    collections = collections_table(
        [
            (f"{_LABELS[w.kind]} {who}", f"{w.kind}.gc.{who}", window)
            for w in waves
            for who, window in (("raw", w.raw_gc), ("relive", w.gc))
        ]
    )
    return Report(
        title="relive bench wave",
        params={
            "sessions": sessions,
            "stagger_s": stagger,
            "goaway_time_left_s": time_left,
            "latency_s": latency,
            "limit_connects": limit_connects,
            "gc_freeze": gc_freeze,
            "emulator_gc": EMULATOR_GC,  # the emulator process's collector, for both sides
            "cpus": os.cpu_count(),
            "load_1m": load,
        },
        tables=[main, Table("the waves", "wave", ["value"], counts), collections],
        aims=aims,
        notes=[
            "downtime: that connection's goAway reached the client (sent + latency), or the "
            "emulator cut it -> the app reads Connected",
            "the baseline starts as many raw connects on the wave's schedule, just before it",
            "the client process runs a full collection before the baseline and before the wave"
            + (", then gc.freeze() (both sides alike)" if gc_freeze else ""),
        ],
        data={"sessions": sessions, "stagger_s": stagger},
    )


def _cpu(start: tuple[Usage, Usage], end: tuple[Usage, Usage]) -> tuple[float, float]:
    return (end[0].cpu_s - start[0].cpu_s, end[1].cpu_s - start[1].cpu_s)


def _downtime(text: str, key: str, s: Summary, raw: Summary) -> Figure:
    show = (s.n, s.p50, s.p95, s.max, ratio(s.p50, raw.p50))
    return Figure(text, s, key=key, show=show)
