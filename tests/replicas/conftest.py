"""Fixtures for the replica tests: Redis, a shared emulator, two `relive serve` replicas behind
HAProxy, and Debian's chromium with the fake microphone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page

from relive.bench._replicas import Balancer, Replica, balancer, reachable
from relive.emulator import Emulator
from relive.store import new_key
from tests.redis_server import RedisServer, free_port, running_redis
from tests.web.conftest import CHROMIUM, FAST, browser, fake_mic  # noqa: F401 (fixtures)

WAIT_MS = 20_000
# Every replica test drives Chromium on a call through real processes (each file's pytestmark).
MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} missing (make system-deps)"),
    pytest.mark.timeout(120),
]


@dataclass
class Cluster:
    redis: RedisServer
    emulator: Emulator
    replicas: list[Replica]
    lb: Balancer
    seal_key: Path  # the replicas' key ring: a test opens what they stored with it


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    with running_redis(tmp_path) as server:
        yield server


@pytest.fixture
async def cluster(redis_server: RedisServer, tmp_path: Path) -> AsyncIterator[Cluster]:
    key_file = tmp_path / "seal.key"
    key_file.write_text(new_key() + "\n")
    lb_port = free_port()
    async with Emulator(FAST, tls=True) as emu:
        assert emu.ca_pem_path is not None
        common = [
            "--store", redis_server.url,
            "--seal-key-file", str(key_file),
            "--emulator", emu.url,
            "--emulator-ca", str(emu.ca_pem_path),
            "--allowed-origin", f"http://127.0.0.1:{lb_port}",
            "--drain-timeout", "10",
            "--trusted-proxy", "127.0.0.1",  # HAProxy's X-Forwarded-For names the browser
            "-v",
        ]  # fmt: skip
        replicas = [
            Replica(name, free_port(), common, tmp_path / f"{name}.log") for name in ("r1", "r2")
        ]
        try:
            await asyncio.gather(*(asyncio.to_thread(r.start) for r in replicas))
            with balancer(replicas, tmp_path, lb_port) as lb:
                await asyncio.wait_for(reachable(lb.port), 10)
                yield Cluster(redis_server, emu, replicas, lb, key_file)
        finally:
            for r in replicas:
                r.stop()


@pytest.fixture
async def page(cluster: Cluster, browser: Browser) -> AsyncIterator[Page]:  # noqa: F811
    """A page of the app, opened through the load balancer and welcomed."""
    context = await browser.new_context(bypass_csp=True)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.set_default_timeout(WAIT_MS)
    await page.goto(cluster.lb.url + "/")
    await page.wait_for_function("() => window.reliveStats.welcomes >= 1")
    yield page
    await context.close()
    assert errors == [], f"errors on the page: {errors}"
