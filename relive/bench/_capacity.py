"""`relive bench replica`: how many calls one `relive serve` process holds at real time.

One replica (with Redis and the emulator in a child process, as deployed, no load balancer) takes
N calls from pages (`_page.PageClient`: the page protocol app.js speaks), each sending a 20 ms
chunk every 20 ms and a spoken turn every `turn_every` seconds. For each N of a ramp, on a fresh
replica, for `hold` seconds:

- delivered real time: the chunks made during the hold that reached the emulator by its end /
  the chunks real time asks for (N x hold / 20 ms); the ramp stops after the first N below
  `FLOOR` (0.95);
- the replica's CPU per call-second: its CPU seconds in the hold / the seconds of call audio it
  delivered in it. On a shared machine the wall-clock figure falls with the load; this one
  holds better (it rises a little when few calls are spread thin: less batching per wake-up),
  and 1 / it is the calls one core carries.
The pages' own ticker (`sustained`) and each process's share of a core say who fell behind.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from relive._clock import Clock, MonotonicClock
from relive.bench._common import BENCH_SETTINGS, machine_load
from relive.bench._microphones import Microphones
from relive.bench._page import PageClient
from relive.bench._replicas import bench_cluster
from relive.bench._report import Aim, Column, Figure, Report, Row, Table
from relive.bench._resources import ProcessMeter
from relive.bench._stats import percentile, ratio

FLOOR = 0.95  # delivered real time below this: the replica no longer keeps up
OPEN_CONCURRENCY = 20
OPEN_TIMEOUT = 120.0


@dataclass(frozen=True)
class Step:
    """One N of the ramp."""

    calls: int
    opened: int
    delivered: float  # chunks at the emulator in the hold / chunks due
    sustained: float  # the pages' ticks done / due
    replica_cpu_share: float
    replica_cpu_per_call_s: float  # CPU seconds per second of call audio delivered
    pages_cpu_share: float
    emulator_cpu_share: float
    late_p99_ms: float
    load: float

    @property
    def calls_per_core(self) -> float:
        return ratio(1.0, self.replica_cpu_per_call_s)


async def _step(calls: int, hold: float, turn_every: float, clock: Clock, where: Path) -> Step:
    load = machine_load()
    async with bench_cluster(where, BENCH_SETTINGS, replicas=1, max_pages=calls + 10) as cluster:
        replica = ProcessMeter(cluster.replicas[0].pid, clock=clock)
        emulator = ProcessMeter(cluster.emulator.pid, clock=clock)
        me = ProcessMeter(clock=clock)
        pages = [PageClient(cluster.url, i, clock=clock) for i in range(calls)]
        gate = asyncio.Semaphore(OPEN_CONCURRENCY)

        async def open_page(page: PageClient) -> bool:
            async with gate:
                page.start()
                try:
                    await asyncio.wait_for(page.wait_live(), OPEN_TIMEOUT)
                except TimeoutError:
                    return False
                return True

        opened = sum(await asyncio.gather(*(open_page(p) for p in pages)))
        mic = Microphones(pages, clock, turn_every)
        mic.start()
        try:
            await asyncio.sleep(min(2.0, hold / 2))  # warm up: every page's audio flowing
            first = list(mic.made)
            starts = replica.snapshot(), emulator.snapshot(), me.snapshot()
            ticks = len(mic.late_s)
            await asyncio.sleep(hold)  # what is measured: `hold` seconds of real-time calls
            ends = replica.snapshot(), emulator.snapshot(), me.snapshot()
            ticks = min(len(mic.late_s) - ticks, round(hold / 0.020))
            ranges = {p.index: (first[p.index], mic.made[p.index]) for p in pages}
            arrived = await cluster.emulator.arrived(ranges, ends[0].wall_s)
        finally:
            await mic.stop()
            for page in pages:
                await page.close()
    r, e, m = (ProcessMeter.window(a, b) for a, b in zip(starts, ends, strict=True))
    due = calls * r.wall_s / 0.020
    return Step(
        calls=calls,
        opened=opened,
        delivered=ratio(arrived, due),
        sustained=ratio(ticks, r.wall_s / 0.020),
        replica_cpu_share=r.cpu_share,
        replica_cpu_per_call_s=ratio(r.cpu_s, arrived * 0.020),
        pages_cpu_share=m.cpu_share,
        emulator_cpu_share=e.cpu_share,
        late_p99_ms=percentile(mic.late_s, 99) * 1000 if mic.late_s else 0.0,
        load=load,
    )


async def run_replica(
    *,
    calls: Sequence[int] = (50, 100, 200, 300),
    hold: float = 10.0,
    turn_every: float = 2.0,
    clock: Clock | None = None,
) -> Report:
    """Ramp the calls on one replica (a fresh one per step) until it falls below `FLOOR`."""
    if not calls or any(n < 1 for n in calls) or hold <= 0 or turn_every <= 0:
        raise ValueError("calls must be positive counts; hold and turn_every > 0")
    clock = clock or MonotonicClock()
    steps: list[Step] = []
    for n in sorted(calls):
        with tempfile.TemporaryDirectory(prefix="relive-replica-") as where:
            steps.append(await _step(n, hold, turn_every, clock, Path(where)))
        if steps[-1].delivered < FLOOR:
            break
    return _report(steps, hold, turn_every)


def _report(steps: list[Step], hold: float, turn_every: float) -> Report:
    kept_up = [s for s in steps if s.delivered >= FLOOR and s.opened == s.calls]
    # The busiest step that kept up: its cost per chunk is the least spread thin.
    per_core = (kept_up or steps)[-1].calls_per_core

    def row(label: str, key: str, values: list[Any], unit: str = "") -> Row:
        return Row(label, *values, key=key, unit=unit)

    main = Table(
        "",
        "one relive serve process",
        [Column(f"{s.calls} calls", f"calls_{s.calls}") for s in steps],
        [
            row("calls live", "live", [s.opened for s in steps]),
            row("delivered real time", "delivered", [s.delivered for s in steps]),
            row("pages' ticks done / due", "sustained", [s.sustained for s in steps]),
            row("ticker late, p99", "late_p99_ms", [s.late_p99_ms for s in steps], "ms"),
            row("replica CPU", "replica_cpu_share", [s.replica_cpu_share for s in steps], "cores"),
            row(
                "replica CPU per call-second",
                "replica_cpu_per_call_us",
                [1e6 * s.replica_cpu_per_call_s for s in steps],
                "µs",
            ),
            row("calls one core carries", "calls_per_core", [s.calls_per_core for s in steps]),
            row("pages' CPU", "pages_cpu_share", [s.pages_cpu_share for s in steps], "cores"),
            row(
                "emulator CPU", "emulator_cpu_share", [s.emulator_cpu_share for s in steps], "cores"
            ),
            row("load average (1 min)", "load_1m", [s.load for s in steps]),
        ],
    )
    summary = Table(
        "what one replica holds",
        "figure",
        ["value"],
        [
            Figure(
                f"calls held at >= {FLOOR:g} real time",
                max((s.calls for s in kept_up), default=0),
                key="held_at_real_time",
            ),
            Figure(
                "calls one core carries (busiest step that kept up)", per_core, key="calls_per_core"
            ),
        ],
    )
    return Report(
        title="relive bench replica",
        params={
            "hold_s": hold,
            "turn_every_s": turn_every,
            "chunk_ms": 20,
            "cpus": os.cpu_count(),
            "load_1m": steps[0].load,
        },
        tables=[main, summary],
        aims=[
            Aim.at_least(
                f"calls one replica holds at >= {FLOOR:g} real time",
                300,
                summary.figure("held_at_real_time"),
            ),
            Aim.at_least("calls one core carries", 300, summary.figure("calls_per_core")),
        ],
        notes=[
            "delivered real time: chunks made in the hold that reached the emulator by its end "
            "/ (N x hold / 20 ms)",
            "CPU per call-second: the replica's CPU seconds / the seconds of call audio it "
            "delivered; calls one core carries = 1 / it",
            "the pages and the emulator share this machine's cores with the replica",
        ],
    )
