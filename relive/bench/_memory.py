"""`relive bench memory`: Python memory per idle session and per silent call, relive vs raw SDK.

The emulator runs in a child process, so what `tracemalloc` counts here is the client's alone:
- idle: `sessions` sessions connected and set up, nothing sent (bytes per session);
- silent call: one call streaming `seconds` of quiet 20 ms chunks (no speech, so no turn is
  ever answered and nothing settles them), sent as fast as they go and all received by the
  emulator, every server message read: what the session holds at the end (bytes in all, and
  the journal's entries and bytes for relive).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import tracemalloc
from collections.abc import AsyncIterator
from typing import Any

from google import genai
from google.genai import types

from relive.bench._audio import CHUNK_MS, audio_blob
from relive.bench._child import EmulatorProcess
from relive.bench._common import BENCH_SETTINGS, MODEL, call_config, client_for, machine_load
from relive.bench._report import Figure, Report, Row, Table
from relive.session import HandleStore, LiveSession, connect

KIB = 1024


def _traced() -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


@contextlib.asynccontextmanager
async def _sessions(
    kind: str, client: genai.Client, config: types.LiveConnectConfig, n: int
) -> AsyncIterator[list[Any]]:
    async with contextlib.AsyncExitStack() as stack:
        out: list[Any] = []
        for i in range(n):
            if kind == "raw":
                out.append(
                    await stack.enter_async_context(
                        client.aio.live.connect(model=MODEL, config=config)
                    )
                )
            else:
                session = connect(
                    client, model=MODEL, config=config, handles=HandleStore(), owner=f"m{i}"
                )
                out.append(await stack.enter_async_context(session))
        yield out


async def _drain(kind: str, session: Any) -> None:
    """Read every server message, as an app would."""
    if kind == "raw":
        while True:
            async for _ in session.receive():
                pass
    else:
        async for _ in session.events():
            pass


async def run_memory(*, sessions: int = 50, seconds: float = 100.0) -> Report:
    """Bytes per idle session (`sessions` of each side) and of one silent `seconds` call."""
    if sessions < 1 or seconds <= 0:
        raise ValueError("sessions must be at least 1 and seconds positive")
    chunks = round(seconds * 1000 / CHUNK_MS)
    idle: dict[str, float] = {}
    call: dict[str, float] = {}
    journal: tuple[int, int] = (0, 0)
    tracemalloc.start()
    try:
        async with EmulatorProcess(BENCH_SETTINGS) as emu:
            client = client_for(emu.url, emu.ca)
            config = connect(client, model=MODEL, config=call_config()).config
            async with _sessions("raw", client, config, 1):
                pass  # warm up: imports, TLS context, pydantic schemas
            for kind in ("raw", "relive"):
                before = _traced()
                async with _sessions(kind, client, config, sessions):
                    idle[kind] = (_traced() - before) / sessions
            for kind in ("raw", "relive"):
                async with _sessions(kind, client, config, 1) as (session,):
                    reader = asyncio.create_task(_drain(kind, session))
                    start = (await emu.stats())["messages_received"]
                    before = _traced()
                    for seq in range(chunks):
                        await session.send_realtime_input(audio=audio_blob(seq))
                    await emu.wait_received(start + chunks)
                    call[kind] = _traced() - before
                    if isinstance(session, LiveSession):
                        journal = (len(session._machine.journal), session._machine.journal.bytes)
                    reader.cancel()
                    await asyncio.gather(reader, return_exceptions=True)
    finally:
        tracemalloc.stop()
    return Report(
        title="relive bench memory",
        params={"sessions": sessions, "seconds": seconds, "load_1m": machine_load()},
        tables=[
            Table(
                "",
                "Python memory (tracemalloc, this process)",
                ["raw SDK", "relive"],
                [
                    Row("per idle session (KiB)", *_kib("idle_bytes", idle)),
                    Row(
                        f"silent {seconds:g} s call, held at the end (KiB)",
                        *_kib("silent_call_bytes", call),
                    ),
                    Row("relive journal at the end: entries", "", journal[0]),
                    Row("relive journal at the end: KiB", "", journal[1] / KIB),
                ],
            )
        ],
        data={"journal": list(journal)},
        notes=[
            "emulator in a child process; every server message read; quiet chunks (no speech, "
            "no turn answered), sent as fast as they go and all received before measuring",
        ],
    )


def _kib(key: str, by_side: dict[str, float]) -> list[Figure]:
    """Each side's bytes as a figure at `key.side`, shown in KiB."""
    return [
        Figure(side, by_side[side], key=f"{key}.{side}", show=(by_side[side] / KIB,))
        for side in ("raw", "relive")
    ]
