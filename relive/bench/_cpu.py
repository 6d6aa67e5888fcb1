"""`relive bench cpu`: CPU time per message, relive against the raw SDK, for both processes.

Wall-clock rates on a shared 2-core machine swing with whatever else runs; the CPU time a
process spends per message does not. The emulator runs in a child process, so this process's
CPU (`time.process_time`) is the client's alone and the child's (psutil) is the server's. Rounds
alternate which side goes first; each side's figure is the median (and min) over the rounds, the
ratio the median of the per-round relive/raw ratios. Per side and round:
- text: `turns` user turns one after another, each read to `turnComplete`;
- audio: `chunks` 20 ms chunks sent as fast as they go, then one answered turn (counted in).
Both sides send relive's setup and read every server message.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from dataclasses import dataclass, field

from relive.bench._child import EmulatorProcess
from relive.bench._common import (
    BENCH_SETTINGS,
    MODEL,
    client_for,
    machine_load,
    text_config,
)
from relive.bench._overhead import open_side
from relive.bench._report import Aim, Column, Report, Row, Table
from relive.bench._stats import percentile, ratio
from relive.session import connect

SIDES = ("raw", "relive")


@dataclass
class _CpuFigures:
    """Microseconds of CPU per message, one value per round."""

    text_client: list[float] = field(default_factory=list)
    text_server: list[float] = field(default_factory=list)
    audio_client: list[float] = field(default_factory=list)
    audio_server: list[float] = field(default_factory=list)


class _CpuMeter:
    """CPU seconds of this process and of the emulator's."""

    def __init__(self, pid: int) -> None:
        import psutil

        self._child = psutil.Process(pid)

    def now(self) -> tuple[float, float]:
        times = self._child.cpu_times()
        return time.process_time(), times.user + times.system


async def run_cpu(*, turns: int = 200, chunks: int = 2000, rounds: int = 3) -> Report:
    """`rounds` alternating blocks per side of `turns` text turns and `chunks` audio chunks."""
    if min(turns, chunks, rounds) < 1:
        raise ValueError("turns, chunks and rounds must each be at least 1")
    figures = {side: _CpuFigures() for side in SIDES}
    seqs = itertools.count()
    async with EmulatorProcess(BENCH_SETTINGS) as emu:
        meter = _CpuMeter(emu.pid)
        client = client_for(emu.url, emu.ca)
        config = connect(client, model=MODEL, config=text_config(), mode="text").config
        for r in range(rounds):
            for kind in SIDES if r % 2 == 0 else SIDES[::-1]:
                fig = figures[kind]
                async with open_side(kind, client, config) as side:
                    await side.turn("warm up")
                    c0, s0 = meter.now()
                    for i in range(turns):
                        await side.turn(f"turn {i}")
                    c1, s1 = meter.now()
                    fig.text_client.append((c1 - c0) / turns * 1e6)
                    fig.text_server.append((s1 - s0) / turns * 1e6)
                    for _ in range(chunks):
                        await side.send_audio(next(seqs))
                    await side.turn("flush")
                    c2, s2 = meter.now()
                    fig.audio_client.append((c2 - c1) / chunks * 1e6)
                    fig.audio_server.append((s2 - s1) / chunks * 1e6)
                await asyncio.sleep(0)
    return _report(turns, chunks, rounds, figures)


def _report(turns: int, chunks: int, rounds: int, figures: dict[str, _CpuFigures]) -> Report:
    raw, rel = figures["raw"], figures["relive"]

    def per_round(a: list[float], b: list[float]) -> list[float]:
        return [ratio(x, y) for x, y in zip(a, b, strict=True)]

    def row(label: str, key: str) -> Row:
        a, b = getattr(raw, key), getattr(rel, key)
        return Row(
            label,
            percentile(a, 50),
            min(a),
            percentile(b, 50),
            min(b),
            percentile(per_round(b, a), 50),
            key=f"{key}_us",
            unit="µs",
        )

    main = Table(
        "",
        "CPU per message",
        [
            Column("raw median", "median.raw"),
            Column("raw min", "min.raw"),
            Column("relive median", "median.relive"),
            Column("relive min", "min.relive"),
            Column("relive/raw (median round)", "ratio"),
        ],
        [
            row("client CPU per text turn", "text_client"),
            row("client CPU per audio chunk", "audio_client"),
            row("emulator CPU per text turn", "text_server"),
            row("emulator CPU per audio chunk", "audio_server"),
        ],
    )
    return Report(
        title="relive bench cpu",
        params={
            "turns": turns,
            "chunks": chunks,
            "rounds": rounds,
            "loop": _loop_name(),
            "load_1m": machine_load(),
        },
        tables=[main],
        data={
            "text_ratio_per_round": per_round(rel.text_client, raw.text_client),
            "audio_ratio_per_round": per_round(rel.audio_client, raw.audio_client),
            **{
                side: {
                    "text_client_us": f.text_client,
                    "text_server_us": f.text_server,
                    "audio_client_us": f.audio_client,
                    "audio_server_us": f.audio_server,
                }
                for side, f in figures.items()
            },
        },
        aims=[
            Aim.at_most(
                "client CPU per text turn, relive/raw", 0.8, main.figure("ratio.text_client_us")
            ),
            Aim.at_most(
                "client CPU per audio chunk, relive/raw", 0.5, main.figure("ratio.audio_client_us")
            ),
        ],
        notes=[
            "client = this process (time.process_time), emulator = its child process (psutil); "
            "both read every server message",
            f"{rounds} rounds alternating which side goes first; the ratio is the median of "
            "the per-round ratios",
        ],
    )


def _loop_name() -> str:
    with contextlib.suppress(RuntimeError):
        return type(asyncio.get_running_loop()).__module__.split(".")[0]
    return "none"
