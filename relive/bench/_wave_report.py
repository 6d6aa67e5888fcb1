"""The report of `relive bench wave` (`_wave.py`): what each wave measured, as figures.

Split from the run itself, which holds the sessions and fires the waves: this only turns each
`Wave`'s numbers into the downtime table (against the raw connect+setup baseline), the per-wave
figures and aims, and the garbage-collection table.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Literal

from relive.bench._gcmeter import Collections, collections_table
from relive.bench._report import Aim, Figure, Report, Table
from relive.bench._stats import Summary, ratio, summarize
from relive.emulator._collector import DESCRIPTION as EMULATOR_GC

Kind = Literal["goaway", "drop"]
KINDS: tuple[Kind, ...] = ("goaway", "drop")
_LABELS: dict[Kind, str] = {"goaway": "goAway", "drop": "drop"}


@dataclass
class Wave:
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


def report(
    sessions: int,
    stagger: float,
    time_left: float,
    load: float,
    waves: list[Wave],
    latency: float,
    limit_connects: bool,
    gc_freeze: bool,
    step_timeout: float,
) -> Report:
    """The report of the run, from each wave's `Wave` (`step_timeout`: how long a session had to
    come back)."""
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
            f"{label}: sessions not back in {step_timeout:.0f} s",
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


def _downtime(text: str, key: str, s: Summary, raw: Summary) -> Figure:
    show = (s.n, s.p50, s.p95, s.max, ratio(s.p50, raw.p50))
    return Figure(text, s, key=key, show=show)
