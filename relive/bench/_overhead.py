"""`relive bench overhead`: what relive costs per message, against the raw SDK session.

Same emulator, same run, blocks alternating raw/relive and relive/raw so drift on a noisy
machine hits both sides alike. Per side and block:
- text turns one after another: send a user turn, wait for `turnComplete` (turns/s, latency);
- a flood of audio chunks, then one answered turn to know they were all consumed (chunks/s);
- audio chunks one at a time: app send -> the emulator's connection receiving it (latency).
Both sides use the config relive sends (resumption and sliding-window compression on).
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from google import genai
from google.genai import types

from relive._clock import Clock, MonotonicClock
from relive.bench._audio import audio_blob
from relive.bench._common import (
    API_KEY,
    BENCH_SETTINGS,
    MODEL,
    machine_load,
    text_config,
    user_turn,
)
from relive.bench._report import Aim, Column, Report, Row, Table
from relive.bench._stats import percentile, ratio
from relive.bench._tap import AudioTap
from relive.emulator import Emulator
from relive.session import HandleStore, LiveSession, TurnComplete, connect

STEP_TIMEOUT = 15.0


class _Side(Protocol):
    name: str

    async def send_audio(self, seq: int) -> None: ...

    async def turn(self, text: str) -> None: ...


class _Raw:
    name = "raw SDK"

    def __init__(self, session: Any) -> None:
        self._s = session

    async def send_audio(self, seq: int) -> None:
        await self._s.send_realtime_input(audio=audio_blob(seq))

    async def turn(self, text: str) -> None:
        await self._s.send_client_content(turns=user_turn(text), turn_complete=True)
        async for _ in self._s.receive():  # the SDK's receive() ends at turnComplete
            pass


class _Relive:
    name = "relive"

    def __init__(self, session: LiveSession) -> None:
        self._s = session
        self._events = session.events().__aiter__()

    async def send_audio(self, seq: int) -> None:
        await self._s.send_realtime_input(audio=audio_blob(seq))

    async def turn(self, text: str) -> None:
        await self._s.send_client_content(turns=user_turn(text), turn_complete=True)
        async for event in self._events:
            if isinstance(event, TurnComplete):
                return
        raise EOFError("the relive session ended during a turn")


@dataclass
class _Figures:
    turn_s: list[float] = field(default_factory=list)
    turns_elapsed: float = 0.0
    flood_chunks: int = 0
    flood_elapsed: float = 0.0
    chunk_s: list[float] = field(default_factory=list)
    round_turns_per_s: list[float] = field(default_factory=list)
    round_chunks_per_s: list[float] = field(default_factory=list)

    @property
    def turns_per_s(self) -> float:
        return ratio(len(self.turn_s), self.turns_elapsed)

    @property
    def chunks_per_s(self) -> float:
        return ratio(self.flood_chunks, self.flood_elapsed)


@contextlib.asynccontextmanager
async def open_side(
    kind: str, client: genai.Client, config: types.LiveConnectConfig
) -> AsyncIterator[_Side]:
    if kind == "raw":
        async with client.aio.live.connect(model=MODEL, config=config) as raw:
            yield _Raw(raw)
    else:
        session = connect(
            client, model=MODEL, config=config, mode="text", handles=HandleStore(), owner="bench"
        )
        async with session:
            yield _Relive(session)


async def run_overhead(
    *, turns: int = 100, chunks: int = 1000, rounds: int = 4, clock: Clock | None = None
) -> Report:
    """`rounds` alternating blocks of `turns` text turns and `chunks` audio chunks per side."""
    if min(turns, chunks, rounds) < 1:
        raise ValueError("turns, chunks and rounds must each be at least 1")
    clock = clock or MonotonicClock()
    pingpong = min(chunks, 200)
    seqs = itertools.count()
    figures = {"raw": _Figures(), "relive": _Figures()}
    async with Emulator(BENCH_SETTINGS) as emu:
        tap = AudioTap(emu, clock)
        client = emu.client(api_key=API_KEY)
        # Both sides send exactly the setup relive sends (resumption + compression on).
        config = connect(client, model=MODEL, config=text_config(), mode="text").config
        for r in range(rounds):
            order = ("raw", "relive") if r % 2 == 0 else ("relive", "raw")
            for kind in order:
                fig = figures[kind]
                async with open_side(kind, client, config) as side:
                    await side.turn("warm up")
                    start = clock.now()
                    for i in range(turns):
                        t0 = clock.now()
                        await side.turn(f"turn {i}")
                        fig.turn_s.append(clock.now() - t0)
                    fig.turns_elapsed += clock.now() - start
                    fig.round_turns_per_s.append(ratio(turns, clock.now() - start))

                    start = clock.now()
                    for _ in range(chunks):
                        await side.send_audio(next(seqs))
                    await side.turn("flush")
                    fig.flood_elapsed += clock.now() - start
                    fig.round_chunks_per_s.append(ratio(chunks, clock.now() - start))
                    fig.flood_chunks += chunks

                    for _ in range(pingpong):
                        seq = next(seqs)
                        t0 = clock.now()
                        await side.send_audio(seq)
                        await tap.wait_for_seq(seq, timeout=STEP_TIMEOUT)
                        fig.chunk_s.append(tap.arrived_at[seq] - t0)
    return _report(turns, chunks, rounds, pingpong, figures["raw"], figures["relive"])


def _report(
    turns: int, chunks: int, rounds: int, pingpong: int, raw: _Figures, rel: _Figures
) -> Report:
    def row(label: str, key: str, raw_value: float, relive_value: float, unit: str = "") -> Row:
        return Row(
            label, raw_value, relive_value, ratio(relive_value, raw_value), key=key, unit=unit
        )

    def latencies(what: str, key: str, samples: Callable[[_Figures], list[float]]) -> list[Row]:
        return [
            row(
                f"{what} latency p{p}",
                f"{key}.{p}",
                percentile(samples(raw), p) * 1000,
                percentile(samples(rel), p) * 1000,
                unit="ms",
            )
            for p in (50, 99)
        ]

    def median_round(what: str, rounds: list[float]) -> Row:
        # Each round pairs a raw and a relive block run back to back; the median of the
        # per-round ratios shrugs off a round spoiled by another process on the machine.
        label = f"{what} throughput, median of per-round ratios"
        return Row(label, "", "", percentile(rounds, 50), key=f"{what}_throughput_median_round")

    text_rounds = [
        ratio(a, b) for a, b in zip(rel.round_turns_per_s, raw.round_turns_per_s, strict=True)
    ]
    audio_rounds = [
        ratio(a, b) for a, b in zip(rel.round_chunks_per_s, raw.round_chunks_per_s, strict=True)
    ]
    main = Table(
        "",
        "per message",
        [Column("raw SDK", "raw"), Column("relive", "relive"), Column("relive/raw", "ratio")],
        [
            row(
                "text turns/s (one after another)", "turns_per_s", raw.turns_per_s, rel.turns_per_s
            ),
            *latencies("text turn", "turn_latency_ms", lambda f: f.turn_s),
            row("audio chunks/s (flood)", "chunks_per_s", raw.chunks_per_s, rel.chunks_per_s),
            *latencies("audio chunk", "chunk_latency_ms", lambda f: f.chunk_s),
            median_round("text", text_rounds),
            median_round("audio", audio_rounds),
        ],
    )
    return Report(
        title="relive bench overhead",
        params={
            "turns": turns,
            "chunks": chunks,
            "rounds": rounds,
            "one_at_a_time": pingpong,
            "load_1m": machine_load(),
        },
        tables=[main],
        data={
            "text_ratio_per_round": text_rounds,
            "audio_ratio_per_round": audio_rounds,
            **{
                side: {
                    "turn_latency_ms": {"95": percentile(f.turn_s, 95) * 1000},
                    "chunk_latency_ms": {"95": percentile(f.chunk_s, 95) * 1000},
                    "turns": len(f.turn_s),
                    "round_turns_per_s": f.round_turns_per_s,
                    "round_chunks_per_s": f.round_chunks_per_s,
                    "chunks": f.flood_chunks + len(f.chunk_s),
                }
                for side, f in (("raw", raw), ("relive", rel))
            },
        },
        aims=[
            Aim.at_least(
                "text throughput relive/raw (median round)",
                0.9,
                main.figure("ratio.text_throughput_median_round"),
            ),
            Aim.at_least(
                "audio throughput relive/raw (median round)",
                0.9,
                main.figure("ratio.audio_throughput_median_round"),
            ),
        ],
        notes=[
            "turn latency: send -> turnComplete seen by the app; chunk latency: app send -> "
            "the emulator's connection receiving it (same process, same clock)",
            f"{rounds} rounds, alternating which side goes first; emulator in this process",
        ],
    )
