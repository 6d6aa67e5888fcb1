"""`relive bench failover`: calls through two `relive serve` replicas while one of them goes away.

Redis, the emulator (a child process) and two replicas behind HAProxy (`balance roundrobin`), as
deployed (`_replicas.py`). `calls` pages (`_page.PageClient`, the page protocol app.js speaks)
each start a call, send a 20 ms microphone chunk every 20 ms and a numbered chat message every
`turn_every` seconds (answered by the emulator, which quotes it). In each run:

1. the emulator sends every Live connection a `goAway`: the reconnect relive hides;
2. one replica is stopped (SIGTERM: it drains; or SIGKILL: it dies), and its pages move.

Downtime, per call, as the page sees it: from the first sign its call is not live (the call's
status leaving "live", the replica's `goaway`, or the socket closing, whichever comes first) to
the call's "live" status again (on the same socket after a goAway, on a new one after a move).
A move is reported as a ratio to the goAway reconnect of the same run.

Chat turns, counted in the model's conversations at the end (the emulator's state) and on the
pages: lost = sent, not in the conversation; duplicated = in it more than once; stuck = in it, its
answer never shown on the page. Audio (a tap in the emulator's process): chunks the page could not
send (no socket: app.js drops them too), chunks sent that never reached the model, and chunks
relive sent again after a resume.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from relive._clock import Clock, MonotonicClock
from relive.bench._common import BENCH_SETTINGS, machine_load
from relive.bench._microphones import Microphones
from relive.bench._page import PageClient
from relive.bench._page_state import Outage
from relive.bench._replicas import Cluster, bench_cluster
from relive.bench._report import Aim, Column, Report, Row, Table
from relive.bench._stats import percentile, ratio

Stop = Literal["term", "kill"]
SIGNALS: dict[Stop, signal.Signals] = {"term": signal.SIGTERM, "kill": signal.SIGKILL}
LABELS: dict[Stop, str] = {"term": "SIGTERM", "kill": "SIGKILL"}
GOAWAY_TIME_LEFT = 5.0  # the goAway's timeLeft: relive moves at the next safe point, well before
BACK_TIMEOUT = 60.0  # a call not live again this long after the event is stuck
TURN_TIMEOUT = 20.0  # a page waits this long for an answer before its next message
OPEN_CONCURRENCY = 20
SETTLE = 3.0  # after the last message: answers still on their way


@dataclass
class Run:
    """One run's outcome: which pages were hit and what they saw."""

    stop: Stop
    calls: int
    victims: int = 0
    goaway_s: list[float] = field(default_factory=list)  # per call, the goAway reconnect
    moved_s: list[float] = field(default_factory=list)  # per victim, the move
    not_back: int = 0  # victims (or goAway'd calls) not live again within BACK_TIMEOUT
    disturbed: int = 0  # calls on the other replica that saw an outage at the stop
    sent: int = 0
    lost: int = 0
    duplicated: int = 0
    stuck: int = 0
    chunks_made: int = 0
    chunks_unsent: int = 0
    chunks_undelivered: int = 0
    chunks_repeated: int = 0
    new_sessions: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    notices: Counter[str] = field(default_factory=Counter)
    late_s: list[float] = field(default_factory=list)
    ticks_skipped: int = 0
    loads: tuple[float, float] = (0.0, 0.0)


async def _talk(page: PageClient, every: float, stopped: asyncio.Event, sent: list[str]) -> None:
    """Numbered chat messages, one at a time: send, wait for its answer (bounded), pause."""
    rng = random.Random(page.index)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stopped.wait(), rng.uniform(0, every))  # staggered starts
    k = 0
    while not stopped.is_set():
        k += 1
        text = f"p{page.index} message {k}"
        await page.send_text(text)
        sent.append(text)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(page.wait_answered(text), TURN_TIMEOUT)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopped.wait(), every)


async def _back(pages: Sequence[PageClient], since: float) -> None:
    """Wait until each page is live again after an outage that began at or after `since`
    (at most `BACK_TIMEOUT`: the ones that are not are counted as stuck)."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.gather(*(p.wait_back(since) for p in pages)), BACK_TIMEOUT)


def _hit(page: PageClient, since: float) -> Outage | None:
    """The page's first outage that started at or after `since`."""
    return next((o for o in page.outages if o.start >= since), None)


async def _one_run(
    stop: Stop, calls: int, hold: float, turn_every: float, clock: Clock, where: Path
) -> Run:
    run = Run(stop, calls)
    load_start = machine_load()
    async with bench_cluster(where, BENCH_SETTINGS, max_pages=max(200, 2 * calls)) as cluster:
        pages = [PageClient(cluster.url, i, clock=clock) for i in range(calls)]
        gate = asyncio.Semaphore(OPEN_CONCURRENCY)

        async def open_page(page: PageClient) -> None:
            async with gate:
                page.start()
                await asyncio.wait_for(page.wait_live(), BACK_TIMEOUT)

        mic = Microphones(pages, clock, turn_every)
        stopped = asyncio.Event()
        sent: list[str] = []
        talkers: list[asyncio.Task[None]] = []
        try:
            await asyncio.gather(*(open_page(p) for p in pages))
            mic.start()
            talkers = [asyncio.create_task(_talk(p, turn_every, stopped, sent)) for p in pages]
            await asyncio.sleep(hold)  # the calls go on a while: this is what is measured
            # Each call and chat answered once: each has a handle to resume (the 2.5 profile's
            # first comes after the first turn; a session without one would start anew).
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    asyncio.gather(*(p.wait_answered_in({"call", "text"}) for p in pages)),
                    BACK_TIMEOUT,
                )
            await _goaway_phase(cluster, pages, run, clock)
            await asyncio.sleep(hold)
            await _stop_phase(cluster, pages, run, clock)
            await asyncio.sleep(hold)
        finally:
            stopped.set()
            for talker in talkers:  # one may wait for a socket that never comes back
                talker.cancel()
            await asyncio.gather(*talkers, return_exceptions=True)
            await mic.stop()
        await _settle(pages, sent)
        await _quiet(cluster)
        heard = await cluster.emulator.heard()
        stats = await cluster.emulator.stats()
        for page in pages:
            await page.close()
    _tally(run, pages, sent, heard, stats, mic)
    run.loads = (load_start, machine_load())
    return run


async def _goaway_phase(cluster: Cluster, pages: list[PageClient], run: Run, clock: Clock) -> None:
    since = clock.now()
    await cluster.emulator.goaway_all(GOAWAY_TIME_LEFT)
    await _back(pages, since)
    for page in pages:
        outage = _hit(page, since)
        if outage is None or outage.seconds is None:
            run.not_back += 1
        else:
            run.goaway_s.append(outage.seconds)


async def _stop_phase(cluster: Cluster, pages: list[PageClient], run: Run, clock: Clock) -> None:
    victim = cluster.replicas[0]
    victims = [p for p in pages if p.replica == victim.name]
    others = [p for p in pages if p.replica != victim.name]
    run.victims = len(victims)
    since = clock.now()
    victim.signal(SIGNALS[run.stop])
    await _back(victims, since)
    for page in victims:
        outage = _hit(page, since)
        if outage is None or outage.seconds is None or page.replica == victim.name:
            run.not_back += 1
        else:
            run.moved_s.append(outage.seconds)
    run.disturbed = sum(1 for p in others if _hit(p, since) is not None)
    with contextlib.suppress(Exception):
        await asyncio.to_thread(victim.wait, 30)


async def _settle(pages: list[PageClient], sent: list[str]) -> None:
    """Give answers still on their way a moment (bounded) after the last message."""
    by_page = {p.index: p for p in pages}
    waits = [by_page[int(t.split()[0][1:])].wait_answered(t) for t in sent]
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.gather(*waits), SETTLE + TURN_TIMEOUT)


async def _quiet(cluster: Cluster) -> None:
    """Wait (at most `SETTLE` s) until the emulator takes in no more messages: the last chunks
    the pages sent are still on their way through a replica when the microphones stop."""
    last = -1
    for _ in range(round(SETTLE / 0.1)):
        now = int((await cluster.emulator.stats())["messages_received"])
        if now == last:
            return
        last = now
        await asyncio.sleep(0.1)  # polling the child's counter: it has no event to wait on


def _tally(
    run: Run,
    pages: list[PageClient],
    sent: list[str],
    heard: dict[str, dict[Any, int]],
    stats: dict[str, Any],
    mic: Microphones,
) -> None:
    held = heard["held"]  # the model's conversations at the end: the turns it holds
    answered = {t for p in pages for t in p.answered}
    run.sent = len(sent)
    run.lost = sum(1 for t in sent if held.get(t, 0) == 0)
    run.duplicated = sum(max(0, held.get(t, 0) - 1) for t in sent)
    run.stuck = sum(1 for t in sent if held.get(t, 0) > 0 and t not in answered)
    run.chunks_made = sum(mic.made)
    run.chunks_unsent = sum(mic.made[p.index] - p.stats.chunks_sent for p in pages)
    delivered = sum(heard["chunks"].get(p.index, 0) for p in pages)
    run.chunks_undelivered = max(0, sum(p.stats.chunks_sent for p in pages) - delivered)
    run.chunks_repeated = sum(heard["repeats"].values())
    run.new_sessions = max(0, int(stats["sessions"]) - 2 * len(pages))  # a call and a chat each
    for page in pages:
        run.errors.update(page.stats.errors)
        run.notices.update(page.stats.notices)
    run.late_s = mic.late_s
    run.ticks_skipped = mic.skipped


async def run_failover(
    *,
    calls: int = 100,
    stops: Sequence[Stop] = ("term", "kill"),
    hold: float = 5.0,
    turn_every: float = 2.0,
    plot: str | None = None,
    clock: Clock | None = None,
) -> Report:
    """One run per stop in `stops` (a fresh cluster each), `calls` calls each; see the module."""
    if calls < 2 or hold <= 0 or turn_every <= 0:
        raise ValueError("calls must be at least 2 (one per replica); hold, turn_every > 0")
    if not stops or any(s not in SIGNALS for s in stops):
        raise ValueError(f"stops must be some of {', '.join(SIGNALS)}")
    clock = clock or MonotonicClock()
    runs = []
    for stop in stops:
        with tempfile.TemporaryDirectory(prefix="relive-failover-") as where:
            runs.append(await _one_run(stop, calls, hold, turn_every, clock, Path(where)))
    if plot:
        from relive.bench._plot import plot_downtime

        series: dict[str, list[float]] = {}
        for r in runs:
            series[f"goAway reconnect ({LABELS[r.stop]} run)"] = [s * 1000 for s in r.goaway_s]
            series[f"{LABELS[r.stop]}: moved to the other replica"] = [s * 1000 for s in r.moved_s]
        plot_downtime(series, plot, title="Call downtime: a replica stopped vs a Gemini goAway")
    return _report(runs, calls, hold, turn_every)


def _ms(values: list[float], p: float) -> float:
    return percentile(values, p) * 1000 if values else float("nan")


def _rows(runs: list[Run]) -> list[Row]:
    """The main table: one row per figure, one column per run (keyed `term` / `kill`)."""

    def row(label: str, key: str, *cells: Any, unit: str = "") -> Row:
        return Row(label, *cells, key=key, unit=unit)

    rows = [row("calls on the stopped replica", "victims", *(r.victims for r in runs))]
    downtimes = (
        ("goAway reconnect", "goaway", "goaway_s"),
        ("moved to the other replica", "moved", "moved_s"),
    )
    for label, key, samples in downtimes:
        for p, name in ((50, "p50"), (95, "p95"), (100, "max")):
            cells = (_ms(getattr(r, samples), p) for r in runs)
            rows.append(row(f"{label}, {name}", f"{key}_{name}_ms", *cells, unit="ms"))
    for p, name in ((50, "p50"), (95, "p95")):
        rows.append(
            row(
                f"move / goAway reconnect, {name}",
                f"ratio_{name}",
                *(ratio(_ms(r.moved_s, p), _ms(r.goaway_s, p)) for r in runs),
            )
        )
    rows += [
        row("calls not live again (stuck)", "not_back", *(r.not_back for r in runs)),
        row("calls on the other replica disturbed", "disturbed", *(r.disturbed for r in runs)),
        row("turns sent", "sent", *(r.sent for r in runs)),
        row("turns lost (not in the model's conversation)", "lost", *(r.lost for r in runs)),
        row("turns duplicated (in it twice)", "duplicated", *(r.duplicated for r in runs)),
        row("turns stuck (answer never shown)", "stuck", *(r.stuck for r in runs)),
        row("conversations started anew", "new_sessions", *(r.new_sessions for r in runs)),
        row("mic chunks made", "chunks_made", *(r.chunks_made for r in runs)),
        row(
            "mic chunks never sent (no socket, or over the page's bound)",
            "chunks_unsent",
            *(r.chunks_unsent for r in runs),
        ),
        row(
            "chunks sent, never reached the model",
            "chunks_undelivered",
            *(r.chunks_undelivered for r in runs),
        ),
        row(
            "chunks sent to the model again (a resume)",
            "chunks_repeated",
            *(r.chunks_repeated for r in runs),
        ),
        row("mic ticker late, p99", "late_p99_ms", *(_ms(r.late_s, 99) for r in runs), unit="ms"),
        row(
            "mic ticks skipped (the pages' process > 100 ms late)",
            "ticks_skipped",
            *(r.ticks_skipped for r in runs),
        ),
        row("load average (1 min) at the start", "load_start", *(r.loads[0] for r in runs)),
        row("load average (1 min) at the end", "load_end", *(r.loads[1] for r in runs)),
    ]
    return rows


def _report(runs: list[Run], calls: int, hold: float, turn_every: float) -> Report:
    main = Table(
        "",
        "per call",
        [Column(f"{LABELS[r.stop]} run", r.stop) for r in runs],
        _rows(runs),
    )
    told = Table(
        "what the pages were told",
        "run",
        ["errors", "toasts"],
        [Row(LABELS[r.stop], _counts(r.errors), _counts(r.notices)) for r in runs],
    )
    aims: list[Aim] = []
    for r in runs:
        label = LABELS[r.stop]
        if r.stop == "term":
            aims.append(
                Aim.at_most(
                    f"{label} move p50 / goAway reconnect p50",
                    2.0,
                    main.figure(f"{r.stop}.ratio_p50"),
                )
            )
        aims += [
            Aim.none(f"{label}: turns lost", main.figure(f"{r.stop}.lost")),
            Aim.none(f"{label}: turns duplicated", main.figure(f"{r.stop}.duplicated")),
            Aim.none(f"{label}: turns stuck", main.figure(f"{r.stop}.stuck")),
            Aim.none(f"{label}: calls not live again", main.figure(f"{r.stop}.not_back")),
        ]
    return Report(
        title="relive bench failover",
        params={
            "calls": calls,
            "replicas": 2,
            "hold_s": hold,
            "turn_every_s": turn_every,
            "cpus": os.cpu_count(),
            "load_1m": runs[0].loads[0],
        },
        tables=[main, told],
        aims=aims,
        notes=[
            "downtime: from the first sign on the page that its call is not live (status, "
            "goaway, socket closed) to its call's 'live' status again",
            f"goAway: the emulator's, timeLeft {GOAWAY_TIME_LEFT:g} s, to every Live connection",
            "turns lost/duplicated: the chat messages in the emulator's conversations at the end; "
            "stuck: in them, but the page never showed the answer",
            "chunks sent again: relive's resend after a resume of audio the old connection got "
            "after the handle (the resumed conversation lacks it), or the page's of what the new "
            "replica lacked; not a duplicate in the conversation",
        ],
        data={
            "samples_ms": {
                r.stop: {
                    "goaway": [s * 1000 for s in r.goaway_s],
                    "moved": [s * 1000 for s in r.moved_s],
                }
                for r in runs
            },
            "told": {r.stop: {"errors": dict(r.errors), "notices": dict(r.notices)} for r in runs},
        },
    )


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counter.items())) or "none"
