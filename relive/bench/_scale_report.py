"""The report of `relive bench scale`: what the hold measured, as figures, tables and aims.

Kept apart from the run (`relive.bench._scale`) so each stays short: the run fills one
`ScaleRun`, and `scale_report` turns it into the two tables (per process, sessions and audio).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any, Literal

from relive.bench._common import machine_load
from relive.bench._report import Aim, Column, Figure, Report, Row, Table
from relive.bench._resources import Window
from relive.bench._stats import percentile, ratio

MIB = 1024 * 1024
Side = Literal["relive", "raw"]


@dataclass
class ScaleRun:
    """What one scale run saw (`back_s`: seconds until each session was back after a mass drop;
    `mass_drop` tells whether one was done)."""

    side: Side
    sessions: int
    hold: float
    chunk_ms: int
    connect_s: float
    failed: int
    live: int
    counts: dict[str, int]
    produced: int
    sustained: float
    received: int  # frames the emulator received in the hold: setups and replays too
    consumed: int  # the app's messages received in the hold, each once
    delivered: int  # the same by the end of the drain
    drain_s: float
    late: list[float]
    me: Window
    them: Window
    idle_rss: tuple[int, int]
    mass_drop: bool = False
    cut: int = 0
    back_s: list[float] = field(default_factory=list)


def _per_process(r: ScaleRun) -> Table:
    me, them = r.me, r.them
    n = max(1, r.sessions - r.failed)
    label = "relive" if r.side == "relive" else "raw SDK"
    return Table(
        "",
        "during the hold",
        [
            Column(f"{label} (this process)", "client"),
            Column("emulator (child process)", "emulator"),
        ],
        [
            Row("CPU, share of one core", me.cpu_share, them.cpu_share, key="cpu_share"),
            Row(
                "CPU per session (% of a core)",
                100 * me.cpu_share / n,
                100 * them.cpu_share / n,
                key="cpu_per_session_pct",
            ),
            Row(
                "CPU per message (the emulator's: per frame received, replays too)",
                1e6 * ratio(me.cpu_s, r.produced),
                1e6 * ratio(them.cpu_s, r.received),
                key="cpu_per_message_us",
                unit="µs",
            ),
            Row(
                "RSS at the end",
                me.rss_end_bytes / MIB,
                them.rss_end_bytes / MIB,
                key="rss_end_mib",
                unit="MiB",
            ),
            Row(
                "RSS per session",
                (me.rss_end_bytes - r.idle_rss[0]) / n / 1024,
                (them.rss_end_bytes - r.idle_rss[1]) / n / 1024,
                key="rss_per_session_kib",
                unit="KiB",
            ),
        ],
    )


def _late_ms(r: ScaleRun, p: float) -> float:
    return percentile(r.late, p) * 1000 if r.late else 0.0


def _mass_drop(r: ScaleRun) -> list[Figure]:
    back = r.back_s or [math.nan]
    return [
        Figure("mass drop: sessions cut at once", r.cut, key="mass_drop.cut"),
        Figure("mass drop: connected again", len(r.back_s), key="mass_drop.back"),
        Figure(
            "mass drop: back after, p50",
            percentile(back, 50) * 1000,
            key="mass_drop.back_ms.50",
            unit="ms",
        ),
        Figure(
            "mass drop: back after, p99",
            percentile(back, 99) * 1000,
            key="mass_drop.back_ms.99",
            unit="ms",
        ),
        Figure(
            "mass drop: all back after", max(back) * 1000, key="mass_drop.all_back_ms", unit="ms"
        ),
    ]


def scale_report(r: ScaleRun) -> Report:
    """The report of one scale run."""
    held = max(0, r.live - r.counts["gave_up"])
    in_hold = ratio(r.consumed, r.produced)
    # What reached the server in the hold, against what real time would have produced in it:
    # the audio the far end actually got in time (sustained alone counts what the app sent).
    delivered_rt = r.sustained * in_hold
    real_time = delivered_rt >= 0.99 and _late_ms(r, 99) <= 100
    # Counted by the emulator once each: a message replayed after a reconnect arrives twice.
    undelivered = Figure("messages never delivered", r.produced - r.delivered, key="undelivered")
    lines = [
        Figure("sessions asked for", r.sessions, key="sessions"),
        Figure("sessions that failed to open", r.failed, key="failed"),
        Figure("sessions live at the end", r.live, key="live"),
        Figure("reconnects during the hold", r.counts["reconnects"], key="reconnects"),
        Figure("gave up", r.counts["gave_up"], key="gave_up"),
        Figure("connect phase", r.connect_s, key="connect_s", unit="s"),
        Figure("real time sustained (ticks done / due)", r.sustained, key="sustained"),
        Figure(
            "real time delivered (received by the emulator in the hold / due)",
            delivered_rt,
            key="delivered_real_time",
        ),
        Figure("ticker lateness p50", _late_ms(r, 50), key="late_ms.50", unit="ms"),
        Figure("ticker lateness p99", _late_ms(r, 99), key="late_ms.99", unit="ms"),
        Figure("messages produced by the app", r.produced, key="produced"),
        Figure("consumed by the end of the hold / produced", in_hold, key="consumed_in_hold_ratio"),
        Figure("backlog drained after the hold", r.drain_s, key="drain_s", unit="s"),
        Figure(
            "frames the emulator received in the hold (setups, replays)",
            r.received,
            key="received",
        ),
        undelivered,
        *(_mass_drop(r) if r.mass_drop else []),
    ]
    label = "relive" if r.side == "relive" else "raw SDK"
    data: dict[str, Any] = {
        "side": r.side,
        "chunk_ms": r.chunk_ms,
        "held": held,
        "real_time": real_time,
        "delivered": r.delivered,
        "late_ms": {"95": _late_ms(r, 95)},
        "client": {"rss_end_bytes": r.me.rss_end_bytes, "rss_idle_bytes": r.idle_rss[0]},
        "emulator": {"rss_end_bytes": r.them.rss_end_bytes, "rss_idle_bytes": r.idle_rss[1]},
    }
    return Report(
        title=f"relive bench scale ({label})",
        params={
            "side": r.side,
            "sessions": r.sessions,
            "hold_s": r.hold,
            "chunk_ms": r.chunk_ms,
            "cpus": os.cpu_count(),
            "load_1m": machine_load(),
        },
        tables=[_per_process(r), Table("sessions and audio", "scale", ["value"], lines)],
        data=data,
        aims=[
            Aim.at_least("call sessions live in one process", 500, held),
            Aim.holds("real time kept (delivered >= 0.99, ticks <= 100 ms late at p99)", real_time),
            Aim.none("messages never delivered", undelivered),
        ],
        notes=[
            "RSS per session: (RSS at the end - RSS before any session) / sessions",
            "CPU share: CPU seconds / wall seconds of the hold, per process (2 = both cores)",
        ],
    )
