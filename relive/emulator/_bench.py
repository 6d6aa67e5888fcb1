"""The measuring of `relive bench emulator`: what the emulator carries, its CPU per message.

The emulator runs in its own process (`_bench_server.py`); raw `websockets` clients in this one
drive it, so the emulator's CPU (psutil's `cpu_times` of that process, user + system) is its own.
CPU time per message holds on a busy machine where wall-clock rates do not; each phase runs
long enough (seconds of CPU) that psutil's 10 ms tick is under 1% of it. Phases, each on a
fresh set of connections:
- held: N sessions set up and kept open, then one text turn on each;
- churn: connect + setup + close, `concurrency` at a time (new connections/s);
- text: `stream_sessions` sessions doing back-to-back text turns (CPU per turn, per message);
- audio: the same sessions sending 20 ms chunks of 16 kHz PCM as fast as they go (VAD on),
  then one text turn each so every chunk is known consumed; that turn's CPU (from the text
  phase) is taken out.

`measure(sizes, tree)` runs the phases once against the emulator of another relive source
tree when `tree` is given (e.g. `git worktree add ../old COMMIT`), so a before / after
comparison is one run at one load. The report, `--compare-tree`, `--repeat` and the flags are
the bench's (`relive/bench/_emulator.py`, `relive/bench/_cli/_emulator.py`): the emulator does
not depend on the bench.
"""

from __future__ import annotations

import asyncio
import base64
import json
import resource
import ssl
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import websockets

from relive import _extras, _loop

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
# Replies streamed at once: the bench measures the emulator's work, not its pacing.
SETTINGS = {"chunk_interval": 0.0, "turn_complete_lag_factor": 0.0}
SERVER_SCRIPT = Path(__file__).with_name("_bench_server.py")
THIS_TREE = Path(__file__).resolve().parents[2]  # the directory holding this `relive`


def _raise_fd_limit(wanted: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


@dataclass(frozen=True)
class _Target:
    url: str
    ssl: ssl.SSLContext | None


class _Server:
    """The emulator in a child process (of this tree, or of `tree` when given)."""

    def __init__(self, tree: Path | None, tls: bool, loop: _loop.LoopName) -> None:
        self.tree = (tree or THIS_TREE).resolve()
        self.tls, self.loop = tls, loop
        self.target = _Target("", None)
        self.pid = 0
        self._proc: asyncio.subprocess.Process | None = None
        self._cpu: Callable[[], float] = lambda: 0.0

    async def __aenter__(self) -> _Server:
        _extras.require("relive bench emulator", "bench")  # psutil, for the child's CPU
        tree = str(self.tree)
        loop = "uvloop" if _loop.factory(self.loop) is not None else "asyncio"
        options = json.dumps({"settings": SETTINGS, "tls": self.tls, "loop": loop})
        boot = (
            f"import sys, runpy; sys.path.insert(0, {tree!r}); "
            f"runpy.run_path({str(SERVER_SCRIPT)!r}, run_name='__main__')"
        )
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            boot,
            options,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        try:
            await self._started()
        except BaseException:
            await self.__aexit__()
            raise
        return self

    async def _started(self) -> None:
        import psutil

        assert self._proc is not None and self._proc.stdout is not None
        line = await asyncio.wait_for(self._proc.stdout.readline(), 120.0)
        if not line:
            raise RuntimeError(f"the emulator process exited ({await self._proc.wait()})")
        info = json.loads(line)
        if Path(info["tree"]) != self.tree:  # both resolved
            raise RuntimeError(
                f"the emulator process ran relive from {info['tree']}, not {self.tree}"
            )
        context = None
        if self.tls:
            context = ssl.create_default_context(cafile=info["ca"])
        self.target = _Target(info["url"] + PATH, context)
        self.pid = int(info["pid"])
        child = psutil.Process(self.pid)

        def cpu() -> float:
            times = child.cpu_times()
            return float(times.user + times.system)

        self._cpu = cpu

    def cpu(self) -> float:
        """The emulator process's CPU seconds so far (user + system)."""
        return self._cpu()

    async def __aexit__(self, *exc: object) -> None:
        if self._proc is None:
            return
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        try:
            await asyncio.wait_for(self._proc.wait(), 30.0)
        except TimeoutError:
            self._proc.kill()
            await self._proc.wait()


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


async def _held(server: _Server, sessions: int, concurrency: int) -> dict[str, float]:
    gate = asyncio.Semaphore(concurrency)

    async def one() -> websockets.ClientConnection:
        async with gate:
            return await _open(server.target)

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


async def _churn(server: _Server, seconds: float, concurrency: int) -> dict[str, float]:
    done = 0
    stop = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < stop:
            ws = await _open(server.target)
            await ws.close()
            done += 1

    started, cpu = time.perf_counter(), server.cpu()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed, cpu = time.perf_counter() - started, server.cpu() - cpu
    return {
        "new_connections_per_s": round(done / elapsed, 1),
        "cpu_us_per_new_connection": round(1e6 * cpu / max(1, done), 1),
    }


async def _stream(server: _Server, seconds: float, sessions: int) -> dict[str, float]:
    conns = [await _open(server.target) for _ in range(sessions)]
    out = turns = sent = 0
    stop = time.perf_counter() + seconds

    async def replies(ws: websockets.ClientConnection, i: int) -> None:
        nonlocal out, turns
        while time.perf_counter() < stop:
            got = await _turn(ws, f"stream {i} {turns}")  # `out += await` would lose counts
            out += got
            turns += 1

    async def audio(ws: websockets.ClientConnection, i: int) -> None:
        nonlocal sent
        while time.perf_counter() < stop:
            for _ in range(50):
                await ws.send(SILENCE)
            sent += 50
        await _turn(ws, f"end {i}")  # answered after every chunk before it was consumed

    started, cpu = time.perf_counter(), server.cpu()
    await asyncio.gather(*(replies(ws, i) for i, ws in enumerate(conns)))
    reply_s, reply_cpu = time.perf_counter() - started, server.cpu() - cpu
    per_turn = reply_cpu / max(1, turns)
    stop = time.perf_counter() + seconds
    started, cpu = time.perf_counter(), server.cpu()
    await asyncio.gather(*(audio(ws, i) for i, ws in enumerate(conns)))
    audio_s = time.perf_counter() - started  # until the emulator consumed every chunk
    audio_cpu = server.cpu() - cpu - per_turn * len(conns)
    for ws in conns:
        await ws.close()
    return {
        "server_messages_per_s": round(out / reply_s),
        "cpu_us_per_text_turn": round(1e6 * per_turn, 1),
        "cpu_us_per_server_message": round(1e6 * reply_cpu / max(1, out), 1),
        "client_audio_chunks_consumed_per_s": round(sent / audio_s),
        "cpu_us_per_client_audio_chunk": round(1e6 * max(0.0, audio_cpu) / max(1, sent), 1),
        "emulator_cpu_s_text": round(reply_cpu, 2),
        "emulator_cpu_s_audio": round(audio_cpu, 2),
    }


@dataclass(frozen=True)
class BenchSizes:
    """How big each phase is."""

    sessions: int = 1000
    seconds: float = 3.0
    concurrency: int = 50
    stream_sessions: int = 32
    tls: bool = False
    loop: _loop.LoopName = "auto"


async def measure(sizes: BenchSizes, tree: Path | None = None) -> dict[str, float]:
    """Every phase once, against a fresh emulator process of `tree` (this tree when None): each
    figure at its key (`cpu_us_per_client_audio_chunk`, `new_connections_per_s`, ...)."""
    _raise_fd_limit(2 * sizes.sessions + 256)
    async with _Server(tree, sizes.tls, sizes.loop) as server:
        held = await _held(server, sizes.sessions, sizes.concurrency)
        churn = await _churn(server, sizes.seconds, sizes.concurrency)
        stream = await _stream(server, sizes.seconds, sizes.stream_sessions)
    return {**held, **churn, **stream}
