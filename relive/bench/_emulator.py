"""`relive bench emulator`'s report: the emulator alone, in its own process, and with
`compare_tree` the emulator of another relive source tree beside it, in the same run.

The measuring is the emulator's (`relive.emulator._bench.measure`); this names each figure
once (its label, unit and the JSON key the bench has always used) and lays the figures out in
two tables: the emulator process's CPU (psutil, which holds on a busy machine) and the
wall-clock rates (which do not). Beside another tree, each figure is a row of this tree, the
other and their ratio, and each side's load average is a row too: the two sides run one after
the other, `other_first` says which went first (`--repeat` alternates it).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from relive import _loop
from relive._loop import LoopName
from relive.bench._common import machine_load
from relive.bench._report import Column, Figure, Report, Row, Table
from relive.emulator._bench import BenchSizes, measure

# (JSON key, label, unit) of each figure, per table.
CPU = (
    ("cpu_us_per_client_audio_chunk", "CPU per 20 ms audio chunk", "µs"),
    ("cpu_us_per_text_turn", "CPU per text turn", "µs"),
    ("cpu_us_per_server_message", "CPU per server message", "µs"),
    ("cpu_us_per_new_connection", "CPU per new connection", "µs"),
    ("emulator_cpu_s_text", "CPU measured, text phase", "s"),
    ("emulator_cpu_s_audio", "CPU measured, audio phase", "s"),
)
RATES = (
    ("sessions_held", "sessions held at once", ""),
    ("setup_seconds", "setup of every held session", "s"),
    ("turn_on_all_seconds", "one text turn on every held session", "s"),
    ("server_messages", "server messages of that turn", ""),
    ("server_messages_per_s_all_sessions", "server messages/s, every held session", ""),
    ("new_connections_per_s", "new connections/s (connect + setup + close)", ""),
    ("server_messages_per_s", "server messages/s, back-to-back turns", ""),
    ("client_audio_chunks_consumed_per_s", "audio chunks consumed/s (flood)", ""),
)
CPU_TITLE = "emulator process CPU (psutil: user + system)"
RATES_TITLE = "wall-clock figures (a busy machine skews them; the CPU ones hold)"


async def run_emulator(
    *,
    sessions: int = 1000,
    seconds: float = 3.0,
    concurrency: int = 50,
    stream_sessions: int = 32,
    tls: bool = False,
    loop: LoopName = "auto",
    compare_tree: Path | None = None,
    other_first: bool = False,
) -> Report:
    """One run of `relive bench emulator` as a report: this tree's emulator in its own process
    on the `loop` asked (and with `compare_tree`, that tree's just after it, or just before it
    when `other_first`)."""
    sizes = BenchSizes(sessions, seconds, concurrency, stream_sessions, tls, loop)
    params: dict[str, object] = {
        "sessions": sessions,
        "seconds": seconds,
        "concurrency": concurrency,
        "stream_sessions": stream_sessions,
        "tls": tls,
        "loop": "uvloop" if _loop.factory(loop) is not None else "asyncio",
    }
    notes = [
        "the emulator in its own process, driven by raw websockets clients from this one; "
        "CPU is that process's alone, read in psutil's 10 ms ticks (a phase needs a second or "
        "more of CPU to be read to 1%)",
    ]
    if compare_tree is None:
        figures = await measure(sizes)
        return Report(
            title="relive bench emulator",
            params={**params, "load_1m": machine_load()},
            tables=_tables(
                ["value"], lambda key, label, unit: Figure(label, figures[key], key=key, unit=unit)
            ),
            notes=notes,
        )
    sides: dict[str, dict[str, float]] = {}
    loads: dict[str, float] = {}
    for side in ("other", "this") if other_first else ("this", "other"):
        loads[side] = machine_load()
        sides[side] = await measure(sizes, compare_tree if side == "other" else None)
    this, other = sides["this"], sides["other"]

    def versus(key: str, label: str, unit: str) -> Row:
        ratio = this[key] / other[key] if other[key] else ""  # blank: no ratio to 0
        return Row(label, this[key], other[key], ratio, key=key, unit=unit)

    columns: list[Column | str] = [
        Column("this tree", "this"),
        Column("other tree", "other"),
        Column("this/other", "this_over_other"),
    ]
    load = Row(
        "load average, 1 min, at its start", loads["this"], loads["other"], "", key="load_1m"
    )
    return Report(
        title="relive bench emulator: this tree vs another",
        params={
            **params,
            "compare_tree": str(compare_tree),
            "load_1m": machine_load(),
        },
        data={"first": "other" if other_first else "this"},
        tables=_tables(columns, versus, load),
        notes=[
            *notes,
            "this/other: the ratio of the two runs made side by side (with --repeat, its "
            "median is the median of the per-run ratios; runs alternate which tree goes first)",
        ],
    )


def _tables(
    columns: list[Column | str], line: Callable[[str, str, str], Figure | Row], *extra: Row
) -> list[Table]:
    """The CPU table (the main one) and the wall-clock one, a `line` per figure."""
    return [
        Table("", CPU_TITLE, columns, [line(*spec) for spec in CPU]),
        Table(RATES_TITLE, "figure", columns, [*(line(*spec) for spec in RATES), *extra]),
    ]
