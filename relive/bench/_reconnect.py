"""`relive bench reconnect`: how long a reconnect takes, and whether the user's audio survives it.

Downtime is measured where the app sees it: from the last server message on the old connection
(the `goAway` itself for a planned reconnect; the moment the emulator cut the socket for an
unplanned drop, since nothing can arrive after it) to `Connected` on the new one, which relive
emits on the new connection's `setupComplete`. The baseline is a bare connect+setup with the raw
SDK, same emulator, interleaved with the reconnects.

Throughout, the app streams numbered 20 ms chunks in real time. The emulator's connections are
tapped to see which chunks arrived where; the session's final state says how much audio the
conversation holds. Audio missing from it is the gap the user would hear (target 0).
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from typing import Any, Literal

from relive._clock import Clock, MonotonicClock
from relive.bench._audio import CHUNK_MS, audio_blob, delivery
from relive.bench._common import (
    API_KEY,
    BENCH_SETTINGS,
    call_session,
    machine_load,
    raw_connect_setup,
    user_turn,
)
from relive.bench._hog import CpuHog
from relive.bench._pacing import AudioPacer
from relive.bench._report import Aim, Figure, Report, Table
from relive.bench._stats import Summary, ratio, summarize
from relive.bench._tap import AudioTap
from relive.bench._watch import EventWatch, go_away, resumable_update
from relive.emulator import Emulator
from relive.session import (
    Connected,
    LiveSession,
    NewSession,
    Resumed,
    TurnComplete,
)

Kind = Literal["goaway", "drop"]
STEP_TIMEOUT = 15.0


def _schedule(planned: int, unplanned: int) -> list[Kind]:
    """Alternate goAway and drop so drift on the machine hits both alike."""
    out: list[Kind] = []
    for i in range(max(planned, unplanned)):
        if i < planned:
            out.append("goaway")
        if i < unplanned:
            out.append("drop")
    return out


class _Run:
    def __init__(self, emu: Emulator, session: LiveSession, clock: Clock) -> None:
        self.emu = emu
        self.session = session
        self.clock = clock
        self.watch = EventWatch(session, clock)
        self.downtime_ms: dict[Kind, list[float]] = {"goaway": [], "drop": []}
        self.reported_ms: dict[Kind, list[float]] = {"goaway": [], "drop": []}
        self.turns = 0

    async def turn(self) -> None:
        """One user turn, answered, and the fresh resumable handle that follows it."""
        self.turns += 1
        mark = len(self.watch)
        await self.session.send_client_content(
            turns=user_turn(f"turn {self.turns}"), turn_complete=True
        )
        done, _ = await self.watch.wait_for(
            lambda e: isinstance(e, TurnComplete), after=mark, timeout=STEP_TIMEOUT
        )
        await self.watch.wait_for(resumable_update, after=done, timeout=STEP_TIMEOUT)

    async def reconnect(self, kind: Kind) -> None:
        mark = len(self.watch)
        if kind == "goaway":
            self.emu.faults.goaway_now(10.0)
            index, last = await self.watch.wait_for(go_away, after=mark, timeout=STEP_TIMEOUT)
            start = last.at
        else:
            start = self.clock.now()
            self.emu.faults.drop()
            index = mark
        _, first = await self.watch.wait_for(
            lambda e: isinstance(e, Connected), after=index, timeout=STEP_TIMEOUT
        )
        _, resumed = await self.watch.wait_for(
            lambda e: isinstance(e, Resumed), after=index, timeout=STEP_TIMEOUT
        )
        assert isinstance(resumed.event, Resumed)
        self.downtime_ms[kind].append((first.at - start) * 1000)
        self.reported_ms[kind].append(resumed.event.downtime_s * 1000)
        # No wait for a handle here: 2.x models send the next one after the next turn.


async def run_reconnect(
    *,
    planned: int = 50,
    unplanned: int = 50,
    baseline: int = 100,
    chunks_between: int = 5,
    seed: int = 0,
    plot: str | None = None,
    clock: Clock | None = None,
    hog: int = 0,
) -> Report:
    """Measure `planned` goAway and `unplanned` drop reconnects against `baseline` raw setups.

    Each connection carries a user turn and then `chunks_between` audio chunks (20 ms each)
    before it is cut, so audio is always flowing when a reconnect starts. `hog` busy processes
    spin beside the run (`CpuHog`).
    """
    if min(planned, unplanned, baseline) < 1:
        raise ValueError("planned, unplanned and baseline must each be at least 1")
    if chunks_between < 0:
        raise ValueError(f"chunks_between must be >= 0, got {chunks_between}")
    clock = clock or MonotonicClock()
    rng = random.Random(seed)
    with CpuHog(hog):
        measured = await _measure(planned, unplanned, baseline, chunks_between, rng, clock)
    params = {
        "planned": planned,
        "unplanned": unplanned,
        "baseline": len(measured.raw_ms),
        "chunks_between": chunks_between,
        "seed": seed,
        "hog": hog,
        "load_1m": machine_load(),
    }
    return _report(params, measured, plot)


@dataclass(frozen=True)
class _Measured:
    """What one reconnect run saw, for the report."""

    raw_ms: list[float]
    run: _Run
    audio: dict[str, int]
    reordered_on_a_connection: int
    held_chunks: int
    new_sessions: int
    metrics: dict[str, Any]


async def _measure(
    planned: int,
    unplanned: int,
    baseline: int,
    chunks_between: int,
    rng: random.Random,
    clock: Clock,
) -> _Measured:
    raw_ms: list[float] = []
    schedule = _schedule(planned, unplanned)
    async with Emulator(BENCH_SETTINGS) as emu:
        tap = AudioTap(emu)
        client = emu.client(api_key=API_KEY)
        session = call_session(client, "bench-reconnect")
        async with session:
            run = _Run(emu, session, clock)

            async def send_chunk(seq: int) -> None:
                await session.send_realtime_input(audio=audio_blob(seq))

            pacer = AudioPacer(send_chunk, clock=clock)
            pacer.start()
            try:
                for i, kind in enumerate(schedule):
                    await run.turn()
                    await pacer.wait_sent(len(pacer.sent) + chunks_between)
                    # A random phase against the 20 ms chunk clock (pacing, not waiting).
                    await asyncio.sleep(rng.uniform(0.0, pacer.interval))
                    await run.reconnect(kind)
                    # Spread the raw baselines evenly between the reconnects.
                    while len(raw_ms) < baseline * (i + 1) // len(schedule):
                        raw_ms.append(1000 * await raw_connect_setup(client, session.config, clock))
            finally:
                sent = await pacer.stop()
            # A last answered turn: the server has consumed everything sent before it.
            await run.turn()
            held = _audio_in_session(emu)
            new_sessions = sum(1 for s in run.watch.seen if isinstance(s.event, NewSession))
            metrics = session.metrics.to_dict()
            await run.watch.aclose()
    return _Measured(
        raw_ms=raw_ms,
        run=run,
        audio=delivery(sent, tap.received()),
        reordered_on_a_connection=tap.out_of_order_within_connections(),
        held_chunks=held,
        new_sessions=new_sessions,
        metrics=metrics,
    )


def _audio_in_session(emu: Emulator) -> int:
    """Audio chunks in the conversation state of the newest open emulator connection."""
    return round(emu.session_audio_seconds() * 1000 / CHUNK_MS)


def _report(params: dict[str, Any], m: _Measured, plot: str | None) -> Report:
    raw = summarize(m.raw_ms)

    def downtime(label: str, key: str, s: Summary) -> Figure:
        show = (s.n, s.p50, s.p95, s.p99, s.max, ratio(s.p50, raw.p50))
        return Figure(label, s, key=f"downtime.{key}", show=show)

    lines = [downtime("raw SDK connect+setup", "raw_connect_setup_ms", raw)]
    for kind, label in (("goaway", "goAway"), ("drop", "drop")):
        app = summarize(m.run.downtime_ms[kind])  # type: ignore[index]
        own = summarize(m.run.reported_ms[kind])  # type: ignore[index]
        lines.append(downtime(f"relive {label} (app sees)", f"relive_{kind}_ms", app))
        lines.append(
            downtime(f"relive {label} (Resumed.downtime_s)", f"relive_{kind}_reported_ms", own)
        )
    main = Table(
        "",
        "downtime",
        ["n", "p50 ms", "p95 ms", "p99 ms", "max ms", "x raw p50"],
        lines,
    )
    audio, sent = m.audio, m.audio["sent"]
    missing = max(0, sent - m.held_chunks)
    extra = max(0, m.held_chunks - sent)
    new_sessions = Figure("new sessions instead of resumes", m.new_sessions, key="new_sessions")
    audio_table = Table(
        "audio streamed through the reconnects",
        "audio",
        ["value"],
        [
            Figure("chunks sent by the app (20 ms each)", sent, key="audio.sent"),
            Figure(
                "sent while disconnected (buffered)",
                m.metrics.get("buffered", 0),
                key="audio.buffered",
            ),
            Figure("never reached the emulator", audio["lost"], key="audio.lost"),
            Figure("first arrivals out of order", audio["out_of_order"], key="audio.out_of_order"),
            Figure(
                "out of order on one connection",
                m.reordered_on_a_connection,
                key="audio.reordered_on_a_connection",
            ),
            Figure(
                "resent on a new connection (replay)", audio["duplicated"], key="audio.duplicated"
            ),
            Figure("chunks in the session's final state", m.held_chunks, key="audio.held_chunks"),
            Figure(
                "missing from the state (gap heard, ms)",
                missing,
                key="audio.missing_chunks",
                show=(missing * CHUNK_MS,),
            ),
            Figure(
                "extra in the state (heard twice, ms)",
                extra,
                key="audio.extra_chunks",
                show=(extra * CHUNK_MS,),
            ),
        ],
    )
    aims = [
        Aim.at_most(
            "goAway downtime p50 / raw connect+setup p50",
            1.5,
            ratio(main.figure("downtime.relive_goaway_ms").value.p50, raw.p50),
        ),
        Aim.at_most(
            "drop downtime p50 / raw connect+setup p50",
            1.5,
            ratio(main.figure("downtime.relive_drop_ms").value.p50, raw.p50),
        ),
        Aim.none("audio gap heard (ms)", (missing + audio["lost"]) * CHUNK_MS),
        Aim.none("audio heard twice (ms)", extra * CHUNK_MS),
        Aim.none(
            "audio out of order (chunks)", audio["out_of_order"] + m.reordered_on_a_connection
        ),
        Aim.none("new sessions instead of resumes", new_sessions),
    ]
    notes = [
        "downtime: goAway = goAway received -> Connected; drop = socket cut -> Connected",
        "ratio column: p50 of the row / p50 of the raw SDK connect+setup, same run",
    ]
    samples = {
        "raw_connect_setup": m.raw_ms,
        "relive_goaway": m.run.downtime_ms["goaway"],
        "relive_drop": m.run.downtime_ms["drop"],
    }
    if plot:
        from relive.bench._plot import plot_downtime  # matplotlib only when a plot is asked for

        plot_downtime(
            {
                "relive goAway": samples["relive_goaway"],
                "relive drop": samples["relive_drop"],
                "raw SDK connect+setup": samples["raw_connect_setup"],
            },
            plot,
        )
        notes.append(f"plot: {plot}")
    return Report(
        title="relive bench reconnect",
        params=params,
        tables=[main, audio_table],
        data={
            "samples_ms": samples,
            "audio": {"received": audio["received"]},
            "session_metrics": m.metrics,
            "turns": m.run.turns,
        },
        aims=aims,
        notes=notes,
    )
