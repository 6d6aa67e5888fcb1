"""Several `relive serve` replicas as users deploy them: subprocesses sharing a real redis-server
and a relive emulator, with Debian's HAProxy in front (its config generated here)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"


@dataclass
class Replica:
    """One `relive serve` process; `start()` again after a stop brings it back on its port."""

    name: str
    port: int
    args: list[str]
    log: Path
    proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if k != "GEMINI_API_KEY"}
        out = self.log.open("a")
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
        raise AssertionError(f"{self.name} did not start: {self.log.read_text()[-2000:]}")

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


@dataclass
class Balancer:
    port: int
    config: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def haproxy_config(port: int, replicas: list[Replica]) -> str:
    """HAProxy in front of the replicas: WebSockets pass through (`timeout tunnel`), `/readyz`
    decides who takes new connections, `balance first` keeps every new page on the first ready
    replica (so the test knows which one holds it)."""
    servers = "\n".join(
        f"    server {r.name} 127.0.0.1:{r.port} check inter 100ms fall 1 rise 1" for r in replicas
    )
    return f"""global
    maxconn 512
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    timeout tunnel 1h
    option redispatch
    retries 3
frontend web
    bind 127.0.0.1:{port}
    default_backend relive
backend relive
    balance first
    option forwardfor
    option httpchk GET /readyz
    http-check expect status 200
{servers}
"""


@contextlib.contextmanager
def balancer(replicas: list[Replica], where: Path, port: int) -> Iterator[Balancer]:
    config = where / "haproxy.cfg"
    config.write_text(haproxy_config(port, replicas))
    check = subprocess.run([HAPROXY, "-c", "-f", str(config)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr + check.stdout
    lb = Balancer(port, config)
    lb.proc = subprocess.Popen([HAPROXY, "-db", "-f", str(config)], stdout=subprocess.DEVNULL)
    try:
        yield lb
    finally:
        lb.proc.terminate()
        lb.proc.wait(timeout=10)
