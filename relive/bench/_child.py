"""The emulator in a child process (multiprocessing, spawn), so its CPU and memory are its own.

The parent talks to it over a pipe: its URL, CA file and pid at start, then stats on request.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import time
from multiprocessing.connection import Connection
from typing import Any

from relive import _loop
from relive.emulator import Emulator, EmulatorSettings, EmulatorStats

ASK_TIMEOUT = 120.0


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
                elif command == "drop":
                    # CLOCK_MONOTONIC is one clock for every process of the machine.
                    conn.send((emu.faults.drop(), time.monotonic()))
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

    _loop.run(main())  # uvloop when installed, like the client side


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
        info = await self._ask(None, timeout=ASK_TIMEOUT)
        self.url, self.ca, self.pid = info["url"], info["ca"], int(info["pid"])
        return self

    async def _ask(self, command: object, timeout: float) -> Any:  # noqa: ASYNC109
        loop = asyncio.get_running_loop()
        if command is not None:
            self._conn.send(command)
        async with asyncio.timeout(timeout):
            return await loop.run_in_executor(None, self._conn.recv)

    async def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = await self._ask("stats", timeout=ASK_TIMEOUT)
        return result

    async def drop_all(self) -> tuple[int, float]:
        """Cut every open connection at once (a mass drop): how many, and `time.monotonic()`
        when they were cut."""
        cut, at = await self._ask("drop", timeout=ASK_TIMEOUT)
        return int(cut), float(at)

    async def wait_received(self, count: int) -> dict[str, Any]:
        """Stats once the emulator has received `count` messages in all (or after 30 s)."""
        result: dict[str, Any] = await self._ask(("wait_received", count), timeout=ASK_TIMEOUT)
        return result

    async def __aexit__(self, *exc: object) -> None:
        with contextlib.suppress(Exception):
            await self._ask("stop", timeout=ASK_TIMEOUT)
        await asyncio.get_running_loop().run_in_executor(None, self._process.join, 10.0)
        if self._process.is_alive():
            self._process.kill()
