"""A real Debian `redis-server` on a free loopback port, for the store and replica tests."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REDIS = shutil.which("redis-server") or "/usr/bin/redis-server"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class RedisServer:
    port: int
    dir: Path
    proc: subprocess.Popen[str]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def cli(self, *args: str) -> str:
        """`redis-cli` against this server (what an operator would type)."""
        cli = shutil.which("redis-cli") or "/usr/bin/redis-cli"
        out = subprocess.run(
            [cli, "-p", str(self.port), *args], capture_output=True, text=True, timeout=10
        )
        return out.stdout

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)

    def start(self) -> None:
        """(Re)start on the same port and directory; returns once it accepts connections."""
        self.proc = _spawn(self.port, self.dir)


def _spawn(port: int, where: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [REDIS, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(where),
         "--save", "", "--appendonly", "no", "--loglevel", "notice"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    for line in proc.stdout:  # its own "ready" line: no polling, no sleep
        if "Ready to accept connections" in line:
            return proc
    raise RuntimeError(f"redis-server exited with {proc.wait()} before it was ready")


@contextlib.contextmanager
def running_redis(where: Path) -> Iterator[RedisServer]:
    if not Path(REDIS).exists():
        pytest.fail("redis-server is missing: `make system-deps` installs it")
    port = free_port()
    server = RedisServer(port, where, _spawn(port, where))
    try:
        yield server
    finally:
        with contextlib.suppress(Exception):
            server.proc.kill()
            server.proc.wait(timeout=10)
