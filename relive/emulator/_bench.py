"""`relive bench emulator`: how much the emulator carries in one process on this machine.

Three figures, each measured with raw `websockets` clients in the same process (so the client
side's cost is included; the emulator alone does better):
- sessions held at once: N connections set up and kept open, then one text turn on each;
- new connections per second: connect + setup + close, `concurrency` at a time;
- messages per second: server messages streamed during replies, and client audio chunks consumed.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import resource
import ssl
import time
from dataclasses import dataclass
from typing import Any

import websockets

from relive import _argtypes
from relive.emulator._emulator import Emulator
from relive.emulator._settings import EmulatorSettings

PATH = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent?key=bench"
SETUP = json.dumps(
    {
        "setup": {
            "model": "models/gemini-live-2.5-flash-preview",
            "generationConfig": {"responseModalities": ["TEXT"]},
        }
    }
)
SILENCE = json.dumps(
    {
        "realtimeInput": {
            "audio": {
                "data": base64.b64encode(bytes(640)).decode(),  # 20 ms of 16 kHz silence
                "mimeType": "audio/pcm;rate=16000",
            }
        }
    }
)


def _raise_fd_limit(wanted: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


@dataclass(frozen=True)
class _Target:
    url: str
    ssl: ssl.SSLContext | None


async def _open(target: _Target) -> websockets.ClientConnection:
    ws = await websockets.connect(
        target.url, ssl=target.ssl, ping_interval=None, compression=None, max_size=None
    )
    await ws.send(SETUP)
    await ws.recv()
    return ws


async def _turn(ws: websockets.ClientConnection, text: str) -> int:
    await ws.send(json.dumps({"realtimeInput": {"text": text}}))
    count = 0
    while True:
        message = json.loads(await ws.recv())
        count += 1
        if message.get("serverContent", {}).get("turnComplete"):
            return count


async def _held(url: _Target, sessions: int, concurrency: int) -> dict[str, Any]:
    gate = asyncio.Semaphore(concurrency)

    async def one() -> websockets.ClientConnection:
        async with gate:
            return await _open(url)

    started = time.perf_counter()
    conns = await asyncio.gather(*(one() for _ in range(sessions)))
    setup_s = time.perf_counter() - started
    started = time.perf_counter()
    counts = await asyncio.gather(*(_turn(ws, f"hello {i}") for i, ws in enumerate(conns)))
    turn_s = time.perf_counter() - started
    await asyncio.gather(*(ws.close() for ws in conns))
    return {
        "sessions_held": len(conns),
        "setup_seconds": round(setup_s, 3),
        "turn_on_all_seconds": round(turn_s, 3),
        "server_messages": sum(counts),
        "server_messages_per_s_all_sessions": round(sum(counts) / turn_s),
    }


async def _churn(url: _Target, seconds: float, concurrency: int) -> dict[str, Any]:
    done = 0
    stop = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < stop:
            ws = await _open(url)
            await ws.close()
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return {"new_connections": done, "new_connections_per_s": round(done / elapsed, 1)}


async def _stream(emu: Emulator, url: _Target, seconds: float, sessions: int) -> dict[str, Any]:
    conns = [await _open(url) for _ in range(sessions)]
    out = 0
    sent = 0
    stop = time.perf_counter() + seconds

    async def replies(ws: websockets.ClientConnection, i: int) -> None:
        nonlocal out
        n = 0
        while time.perf_counter() < stop:
            got = await _turn(ws, f"stream {i} {n}")
            out += got
            n += 1

    async def audio(ws: websockets.ClientConnection) -> None:
        nonlocal sent
        while time.perf_counter() < stop:
            for _ in range(50):
                await ws.send(SILENCE)
            sent += 50

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(replies(ws, i) for i, ws in enumerate(conns)))
    reply_s, reply_cpu = time.perf_counter() - started, time.process_time() - cpu
    stop = time.perf_counter() + seconds
    before = emu.stats.messages_received
    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(audio(ws) for ws in conns))
    await emu.wait_for(lambda s: s.messages_received >= before + sent, timeout=60)
    audio_s = time.perf_counter() - started  # until the emulator consumed every chunk
    audio_cpu = time.process_time() - cpu
    for ws in conns:
        await ws.close()
    # CPU of the whole process (emulator and its raw clients): holds where wall time does not.
    return {
        "server_messages_per_s": round(out / reply_s),
        "cpu_us_per_server_message": round(1e6 * reply_cpu / max(1, out), 1),
        "client_audio_chunks_consumed_per_s": round(sent / audio_s),
        "cpu_us_per_client_audio_chunk": round(1e6 * audio_cpu / max(1, sent), 1),
    }


async def run_emulator_bench(
    sessions: int = 1000,
    seconds: float = 3.0,
    concurrency: int = 50,
    stream_sessions: int = 32,
    tls: bool = False,
) -> dict[str, Any]:
    """Run the three measurements against an in-process emulator and return the figures."""
    _raise_fd_limit(2 * sessions + 256)
    settings = EmulatorSettings(chunk_interval=0.0, turn_complete_lag_factor=0.0)
    async with Emulator(settings, tls=tls) as emu:
        url = _Target(emu.ws_url + PATH, emu.ssl_context() if tls else None)
        held = await _held(url, sessions, concurrency)
        churn = await _churn(url, seconds, concurrency)
        stream = await _stream(emu, url, seconds, stream_sessions)
        received = emu.stats.messages_received
    return {
        "tls": tls,
        **held,
        **churn,
        **stream,
        "emulator_messages_received": received,
        "load_1m": _load(),
    }


def _load() -> float:
    """The 1-minute load average (shared machines skew the wall-clock figures)."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return float("nan")


def _print(figures: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(figures, indent=2))
        return
    width = max(len(k) for k in figures)
    for key, value in figures.items():
        print(f"{key:<{width}}  {value}")


def _run(args: argparse.Namespace) -> int:
    with contextlib.suppress(KeyboardInterrupt):
        figures = asyncio.run(
            run_emulator_bench(
                args.sessions, args.seconds, args.concurrency, args.stream_sessions, args.tls
            )
        )
        _print(figures, args.json)
    return 0


def register_bench(subparsers: Any) -> None:
    """Add `emulator` to the `relive bench` subcommands."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "emulator", help="sessions held, new connections/s and messages/s of the emulator"
    )
    count, seconds = _argtypes.positive(int), _argtypes.positive(float)
    p.add_argument("--sessions", type=count, default=1000, help="sessions held at once (1000)")
    p.add_argument("--seconds", type=seconds, default=3.0, help="length of each rate run (3)")
    p.add_argument("--concurrency", type=count, default=50, help="parallel connects (50)")
    p.add_argument("--stream-sessions", type=count, default=32, help="sessions streaming (32)")
    p.add_argument("--tls", action="store_true", help="over wss:// (as the Python SDK needs)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=_run)
