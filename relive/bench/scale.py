"""`relive bench scale`: many concurrent call sessions streaming real-time audio through relive.

The emulator runs in a separate process (multiprocessing, spawn), so each side's CPU and memory
can be measured on its own with psutil. This process opens `sessions` relive call sessions
(at most `connect_concurrency` setups at a time), then holds them for `hold` seconds while one
ticker sends every session a 20 ms chunk every 20 ms, and each session sends a short text turn
every `turn_every` seconds (staggered), as in a conversation. Every session's events are read,
as an app would.

"Held" means a session stayed up (no `GaveUp`, no reconnect needed) to the end of the hold;
"kept real time" compares chunks the emulator consumed with chunks the app produced.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
from multiprocessing.connection import Connection
from typing import Any

from relive.bench.audio import audio_blob
from relive.bench.common import API_KEY, BENCH_SETTINGS, MODEL, call_config, client_for, user_turn
from relive.bench.report import Aim, Report, Section
from relive.bench.resources import ProcessMeter, Window
from relive.bench.stats import percentile, ratio
from relive.clock import Clock, MonotonicClock
from relive.emulator import Emulator, EmulatorSettings, EmulatorStats
from relive.session import GaveUp, HandleStore, LiveSession, Reconnecting, connect

CHUNK_S = 0.02
MIB = 1024 * 1024


def _serve(conn: Connection, settings: EmulatorSettings) -> None:
    """The emulator process: serve until told to stop, answering stats requests."""

    async def main() -> None:
        async with Emulator(settings, tls=True) as emu:
            conn.send({"url": emu.url, "ca": str(emu.ca_pem_path), "pid": os.getpid()})
            loop = asyncio.get_running_loop()
            while True:
                command = await loop.run_in_executor(None, conn.recv)
                if command == "stats":
                    conn.send(emu.stats.to_json())
                elif isinstance(command, tuple) and command[0] == "wait_received":
                    target = int(command[1])

                    def arrived(st: EmulatorStats, target: int = target) -> bool:
                        return st.messages_received >= target

                    with contextlib.suppress(TimeoutError):
                        await emu.wait_for(arrived, 30.0)
                    conn.send(emu.stats.to_json())
                else:
                    conn.send(emu.stats.to_json())
                    return

    asyncio.run(main())


class EmulatorProcess:
    """An emulator in a child process, with its URL, CA file and pid."""

    def __init__(self, settings: EmulatorSettings) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(target=_serve, args=(child, settings), daemon=True)
        self.url = ""
        self.ca = ""
        self.pid = 0

    async def __aenter__(self) -> EmulatorProcess:
        self._process.start()
        info = await self._ask(None, timeout=60.0)
        self.url, self.ca, self.pid = info["url"], info["ca"], int(info["pid"])
        return self

    async def _ask(self, command: object, timeout: float) -> Any:  # noqa: ASYNC109
        loop = asyncio.get_running_loop()
        if command is not None:
            self._conn.send(command)
        async with asyncio.timeout(timeout):
            return await loop.run_in_executor(None, self._conn.recv)

    async def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = await self._ask("stats", timeout=30.0)
        return result

    async def wait_received(self, count: int) -> dict[str, Any]:
        """Stats once the emulator has received `count` messages in all (or after 30 s)."""
        result: dict[str, Any] = await self._ask(("wait_received", count), timeout=60.0)
        return result

    async def __aexit__(self, *exc: object) -> None:
        with contextlib.suppress(Exception):
            await self._ask("stop", timeout=30.0)
        await asyncio.get_running_loop().run_in_executor(None, self._process.join, 10.0)
        if self._process.is_alive():
            self._process.kill()


async def _drain(session: LiveSession, state: dict[str, int]) -> None:
    async for event in session.events():
        if isinstance(event, Reconnecting):
            state["reconnects"] += 1
        elif isinstance(event, GaveUp):
            state["gave_up"] += 1


async def run_scale(
    *,
    sessions: int = 100,
    hold: float = 5.0,
    connect_concurrency: int = 20,
    turn_every: float = 2.0,
    clock: Clock | None = None,
) -> Report:
    """Hold `sessions` relive call sessions streaming real-time audio for `hold` seconds."""
    if sessions < 1 or hold <= 0 or connect_concurrency < 1 or turn_every <= 0:
        raise ValueError("sessions, hold, connect_concurrency and turn_every must be positive")
    clock = clock or MonotonicClock()
    me = ProcessMeter(clock=clock)
    state = {"reconnects": 0, "gave_up": 0}
    late: list[float] = []
    async with EmulatorProcess(BENCH_SETTINGS) as emu:
        them = ProcessMeter(emu.pid, clock=clock)
        client = client_for(emu.url, emu.ca, API_KEY)
        idle_me, idle_them = me.snapshot(), them.snapshot()
        gate = asyncio.Semaphore(connect_concurrency)
        opened: list[LiveSession] = []
        async with contextlib.AsyncExitStack() as stack:
            connect_start = clock.now()

            async def open_one(i: int) -> None:
                session = connect(
                    client,
                    model=MODEL,
                    config=call_config(),
                    mode="call",
                    handles=HandleStore(),
                    owner=f"scale-{i}",
                )
                async with gate:
                    await stack.enter_async_context(session)
                opened.append(session)

            results = await asyncio.gather(
                *(open_one(i) for i in range(sessions)), return_exceptions=True
            )
            connect_s = clock.now() - connect_start
            failed = sum(1 for r in results if isinstance(r, BaseException))
            drains = [asyncio.create_task(_drain(s, state)) for s in opened]
            before = await emu.stats()
            start_me, start_them = me.snapshot(), them.snapshot()
            produced = await _stream(opened, hold, turn_every, clock, late)
            end_me, end_them = me.snapshot(), them.snapshot()
            after = await emu.stats()
            drain_start = clock.now()
            target = before["messages_received"] + produced
            drained = await emu.wait_received(target)
            drain_s = clock.now() - drain_start
            live = sum(1 for s in opened if s.state.name == "LIVE")
            for task in drains:
                task.cancel()
            await asyncio.gather(*drains, return_exceptions=True)
    return _report(
        sessions=sessions,
        hold=hold,
        connect_s=connect_s,
        failed=failed,
        live=live,
        state=state,
        produced=produced,
        consumed=after["messages_received"] - before["messages_received"],
        delivered=drained["messages_received"] - before["messages_received"],
        drain_s=drain_s,
        late=late,
        me=ProcessMeter.window(start_me, end_me),
        them=ProcessMeter.window(start_them, end_them),
        idle_rss=(idle_me.rss_bytes, idle_them.rss_bytes),
    )


async def _stream(
    sessions: list[LiveSession], hold: float, turn_every: float, clock: Clock, late: list[float]
) -> int:
    """One ticker: every 20 ms a chunk to every session, a staggered turn now and then."""
    blob = audio_blob(0)
    ticks = max(1, round(hold / CHUNK_S))
    turn_ticks = max(1, round(turn_every / CHUNK_S))
    produced = 0
    start = clock.now()
    for n in range(ticks):
        due = start + n * CHUNK_S
        wait = due - clock.now()
        if wait > 0:
            await asyncio.sleep(wait)  # real-time pacing, not a wait for an event
        late.append(max(0.0, clock.now() - due))
        for i, session in enumerate(sessions):
            await session.send_realtime_input(audio=blob)
            produced += 1
            if (n + i) % turn_ticks == 0:
                await session.send_client_content(turns=user_turn(f"tick {n}"))
                produced += 1
    return produced


def _report(
    *,
    sessions: int,
    hold: float,
    connect_s: float,
    failed: int,
    live: int,
    state: dict[str, int],
    produced: int,
    consumed: int,
    delivered: int,
    drain_s: float,
    late: list[float],
    me: Window,
    them: Window,
    idle_rss: tuple[int, int],
) -> Report:
    held = live if state["gave_up"] == 0 else max(0, live - state["gave_up"])
    kept = ratio(consumed, produced)
    late_p99_ms = percentile(late, 99) * 1000
    real_time = kept >= 0.99 and late_p99_ms <= 100
    n = max(1, sessions - failed)
    rows: list[list[Any]] = [
        ["CPU, share of one core", me.cpu_share, them.cpu_share],
        ["CPU per session (% of a core)", 100 * me.cpu_share / n, 100 * them.cpu_share / n],
        ["RSS at the end (MiB)", me.rss_end_bytes / MIB, them.rss_end_bytes / MIB],
        [
            "RSS per session (KiB)",
            (me.rss_end_bytes - idle_rss[0]) / n / 1024,
            (them.rss_end_bytes - idle_rss[1]) / n / 1024,
        ],
    ]
    other: list[list[Any]] = [
        ["sessions asked for", sessions],
        ["sessions that failed to open", failed],
        ["sessions live at the end", live],
        ["reconnects during the hold", state["reconnects"]],
        ["gave up", state["gave_up"]],
        ["connect phase (s)", connect_s],
        ["messages produced by the app", produced],
        ["messages consumed by the emulator", consumed],
        ["consumed by the end of the hold / produced", kept],
        ["backlog drained after the hold (s)", drain_s],
        ["messages never delivered", produced - delivered],
        ["ticker lateness p50 (ms)", percentile(late, 50) * 1000],
        ["ticker lateness p99 (ms)", percentile(late, 99) * 1000],
    ]
    return Report(
        title="relive bench scale",
        params={"sessions": sessions, "hold_s": hold, "cpus": os.cpu_count()},
        headers=["during the hold", "relive (this process)", "emulator (child process)"],
        rows=rows,
        sections=[Section("sessions and audio", ["scale", "value"], other)],
        figures={
            "sessions": sessions,
            "held": held,
            "failed": failed,
            "connect_s": connect_s,
            "produced": produced,
            "consumed": consumed,
            "consumed_in_hold_ratio": kept,
            "real_time": real_time,
            "delivered": delivered,
            "drain_s": drain_s,
            "late_ms": {p: percentile(late, p) * 1000 for p in (50, 95, 99)},
            "relive": {
                "cpu_share": me.cpu_share,
                "rss_end_bytes": me.rss_end_bytes,
                "rss_idle_bytes": idle_rss[0],
            },
            "emulator": {
                "cpu_share": them.cpu_share,
                "rss_end_bytes": them.rss_end_bytes,
                "rss_idle_bytes": idle_rss[1],
            },
            **state,
        },
        aims=[
            Aim("call sessions live in one process", ">= 500", float(held), held >= 500),
            Aim(
                "real time kept (>= 0.99 consumed in the hold, ticks <= 100 ms late at p99)",
                "yes",
                float(real_time),
                real_time,
            ),
            Aim(
                "messages never delivered",
                "== 0",
                float(produced - delivered),
                produced == delivered,
                hard=True,
            ),
        ],
        notes=[
            "RSS per session: (RSS at the end - RSS before any session) / sessions",
            "a turn every few seconds per session keeps the replay journal short, as in a call",
        ],
    )
