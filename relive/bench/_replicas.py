"""Several `relive serve` replicas as users deploy them: subprocesses sharing a real
`redis-server` and one relive emulator, with Debian's HAProxy in front (its config generated here).

One launcher for `relive bench failover` / `relive bench replica` and the replica tests
(`tests/replicas`), so both start the parts the same way. `require_tools()` names what is missing.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from relive.bench._child import EmulatorProcess
from relive.emulator import EmulatorSettings
from relive.store import new_key

REDIS = shutil.which("redis-server") or "/usr/bin/redis-server"
REDIS_CLI = shutil.which("redis-cli") or "/usr/bin/redis-cli"
HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
# The response header HAProxy adds to each page socket's handshake: which replica took it.
REPLICA_HEADER = "x-relive-replica"

Balance = Literal["first", "roundrobin"]


class ToolMissingError(RuntimeError):
    """A program the replicas need (redis-server, haproxy) is not installed."""


def require_tools(*names: str) -> None:
    """Raise `ToolMissingError` naming every missing program of `names` (default: both)."""
    paths = {"redis-server": REDIS, "haproxy": HAPROXY}
    missing = [name for name in names or paths if not Path(paths[name]).exists()]
    if missing:
        raise ToolMissingError(
            f"{' and '.join(missing)} not found on PATH: install Debian's "
            f"{' '.join(missing)} (apt-get install {' '.join(missing)}, or `make system-deps`)"
        )


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# -- Redis ---------------------------------------------------------------------------------------


@dataclass
class RedisServer:
    """A `redis-server` on a loopback port, no persistence (relive needs none)."""

    port: int
    dir: Path
    proc: subprocess.Popen[str]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def cli(self, *args: str) -> str:
        """`redis-cli` against this server (what an operator would type)."""
        out = subprocess.run(
            [REDIS_CLI, "-p", str(self.port), *args], capture_output=True, text=True, timeout=10
        )
        return out.stdout

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)

    def start(self) -> None:
        """(Re)start on the same port and directory; returns once it accepts connections."""
        self.proc = _spawn_redis(self.port, self.dir)


def _spawn_redis(port: int, where: Path) -> subprocess.Popen[str]:
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
    """A fresh `redis-server` on a free loopback port, killed at the end."""
    require_tools("redis-server")
    port = free_port()
    server = RedisServer(port, where, _spawn_redis(port, where))
    try:
        yield server
    finally:
        with contextlib.suppress(Exception):
            server.proc.kill()
            server.proc.wait(timeout=10)


# -- replicas ------------------------------------------------------------------------------------


@dataclass
class Replica:
    """One `relive serve` process; `start()` again after a stop brings it back on its port."""

    name: str
    port: int
    args: list[str]
    log: Path
    proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        """Start it and return once it listens (blocking: call it in a thread from asyncio)."""
        env = {k: v for k, v in os.environ.items() if k != "GEMINI_API_KEY"}
        with self.log.open("a") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "relive.cli", "serve", "--port", str(self.port), *self.args],
                stdout=subprocess.PIPE,
                stderr=out,
                text=True,
                env=env,
            )
        assert self.proc.stdout is not None
        for line in self.proc.stdout:  # the line it prints once it listens
            if line.startswith("relive serve: http://"):
                return
        raise RuntimeError(f"{self.name} did not start: {self.log.read_text()[-2000:]}")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def signal(self, sig: signal.Signals) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def wait(self, timeout: float) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout=timeout)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


# -- the load balancer ---------------------------------------------------------------------------


@dataclass
class Balancer:
    port: int
    config: Path
    admin_socket: Path  # HAProxy's runtime API (`stats socket ... level admin`)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def admin(self, command: str) -> str:
        """One command of HAProxy's runtime API (what `socat` would send); its answer."""
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(10)
            s.connect(str(self.admin_socket))
            s.sendall(command.encode() + b"\n")
            answer = b""
            while chunk := s.recv(4096):
                answer += chunk
        return answer.decode()

    def cut(self, replica: Replica) -> None:
        """Take `replica` out of the pool (maintenance) and shut its open sessions down, as a
        network fault between the balancer and a replica that stays up: its page sockets drop
        and reconnect elsewhere."""
        for command in (f"set server relive/{replica.name} state maint",
                        f"shutdown sessions server relive/{replica.name}"):  # fmt: skip
            if answer := self.admin(command).strip():
                raise RuntimeError(f"haproxy refused {command!r}: {answer}")

    def is_up(self, replica: Replica) -> bool:
        """Whether HAProxy counts `replica` up (in the pool, its health check passing)."""
        rows = [row.split(",") for row in self.admin("show stat").splitlines()]
        return any(r[:2] == ["relive", replica.name] and r[17:18] == ["UP"] for r in rows)

    def restore(self, replica: Replica) -> None:
        """Put `replica` back in the pool (its health checks decide again)."""
        if answer := self.admin(f"set server relive/{replica.name} state ready").strip():
            raise RuntimeError(f"haproxy refused to restore {replica.name}: {answer}")


def haproxy_config(
    port: int, replicas: list[Replica], balance: Balance = "first", admin: Path | None = None
) -> str:
    """HAProxy in front of the replicas: WebSockets pass through (`timeout tunnel`), `/readyz`
    decides who takes new connections. `balance first` keeps every new page on the first ready
    replica (a test knows which one holds it); `roundrobin` spreads them (the bench). Each
    response names the replica that served it (`REPLICA_HEADER`).

    Health: a dead replica is out at the first connection it refuses (`observe layer4 ...
    mark-down`; the check, every 100 ms, says so too) and a socket sent to it goes to another
    (`option redispatch 1`: every retry). A busy one stays in: a check may take 2 s (`timeout
    check`; without it the check's timeout is `inter`) and it takes 3 missed checks. With a
    100 ms timeout and `fall 1` the survivor of a SIGKILL, busy resuming 50 calls, was marked
    down too: HAProxy answered 503 and the pages backed off for seconds. A retry waits
    min(`timeout connect`, 1 s) when one server is left, hence 500 ms here (loopback).
    `admin`: a unix socket for the runtime API (a test takes a replica out of the pool with it)."""
    servers = "\n".join(f"    server {r.name} 127.0.0.1:{r.port}" for r in replicas)
    stats = f"\n    stats socket {admin} mode 600 level admin" if admin is not None else ""
    return f"""global
    maxconn 4096{stats}
defaults
    mode http
    timeout connect 500ms
    timeout client 30s
    timeout server 30s
    timeout tunnel 1h
    timeout check 2s
    option redispatch 1
    retries 3
frontend web
    bind 127.0.0.1:{port}
    default_backend relive
backend relive
    balance {balance}
    option forwardfor
    option httpchk GET /readyz
    http-check expect status 200
    http-response set-header {REPLICA_HEADER} %s
    default-server check inter 100ms fall 3 rise 1 observe layer4 error-limit 1 on-error mark-down
{servers}
"""


@contextlib.contextmanager
def balancer(
    replicas: list[Replica], where: Path, port: int, balance: Balance = "first"
) -> Iterator[Balancer]:
    """HAProxy on `port` in front of `replicas`, its config checked (`haproxy -c`) first."""
    require_tools("haproxy")
    config = where / "haproxy.cfg"
    admin = where / "haproxy.sock"
    config.write_text(haproxy_config(port, replicas, balance, admin))
    check = subprocess.run([HAPROXY, "-c", "-f", str(config)], capture_output=True, text=True)
    if check.returncode != 0:
        raise RuntimeError(f"haproxy refused its config: {check.stderr + check.stdout}")
    lb = Balancer(port, config, admin)
    with (where / "haproxy.log").open("a") as log:
        lb.proc = subprocess.Popen(
            [HAPROXY, "-db", "-f", str(config)], stdout=subprocess.DEVNULL, stderr=log
        )
    try:
        yield lb
    finally:
        lb.proc.terminate()
        lb.proc.wait(timeout=10)


# -- all of it, for a bench ----------------------------------------------------------------------


@dataclass
class Cluster:
    """Redis, the emulator (a child process), the replicas and, with two or more, HAProxy."""

    redis: RedisServer
    emulator: EmulatorProcess
    replicas: list[Replica]
    url: str  # where pages go: the load balancer, or the one replica


@contextlib.asynccontextmanager
async def bench_cluster(
    where: Path, settings: EmulatorSettings, *, replicas: int = 2, max_pages: int = 2000
) -> AsyncIterator[Cluster]:
    """Start Redis, a tapped emulator, `replicas` x `relive serve` and (for two or more)
    HAProxy with `balance roundrobin` in front; stop them all at the end."""
    require_tools("redis-server", *(["haproxy"] if replicas > 1 else []))
    key_file = where / "seal.key"
    key_file.write_text(new_key() + "\n")
    lb_port = free_port()
    with running_redis(where) as redis:
        async with EmulatorProcess(settings, tap=True) as emu:
            origins = [f"http://127.0.0.1:{lb_port}"]
            ports = [free_port() for _ in range(replicas)]
            origins += [f"http://127.0.0.1:{port}" for port in ports]
            common = [
                "--store", redis.url,
                "--seal-key-file", str(key_file),
                "--emulator", emu.url,
                "--emulator-ca", emu.ca,
                *(arg for origin in origins for arg in ("--allowed-origin", origin)),
                "--trusted-proxy", "127.0.0.1",
                "--max-pages", str(max_pages),
                "--max-pages-per-client", str(max_pages),
                "-v",
            ]  # fmt: skip
            started = [
                Replica(f"r{i + 1}", port, common, where / f"r{i + 1}.log")
                for i, port in enumerate(ports)
            ]
            try:
                await asyncio.gather(*(asyncio.to_thread(r.start) for r in started))
                if replicas == 1:
                    yield Cluster(redis, emu, started, f"http://127.0.0.1:{ports[0]}")
                    return
                with balancer(started, where, lb_port, "roundrobin") as lb:
                    await asyncio.wait_for(reachable(lb.port), 10)
                    yield Cluster(redis, emu, started, lb.url)
            finally:
                for r in started:
                    r.stop()


async def reachable(port: int) -> None:
    """Return once something accepts connections on `port` (HAProxy binds right after start)."""
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        return
