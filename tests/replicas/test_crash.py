"""A replica killed (SIGKILL) or Redis restarted during a call: the call goes on (issue 11)."""

from __future__ import annotations

import asyncio
import signal
import subprocess

import pytest
from playwright.async_api import Page

from tests.replicas.calls import call_until_turn, model_turns, next_turn_follows, start_call, stats
from tests.replicas.conftest import Cluster
from tests.web.conftest import CHROMIUM

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} missing (make system-deps)"),
    pytest.mark.timeout(120),
]


async def test_sigkill_mid_call_resumes_on_the_other_replica(cluster: Cluster, page: Page) -> None:
    r1, r2 = cluster.replicas
    await start_call(page)
    before = await call_until_turn(page, 2)
    r1.signal(signal.SIGKILL)
    assert await asyncio.to_thread(r1.wait, 10) == -signal.SIGKILL
    # The page sees its socket drop, reconnects through HAProxy to r2, which resumes from the
    # newest handle r1 stored (the emulator saw r1's connection close with the process).
    await next_turn_follows(page, before)
    s = await stats(page)
    assert s["welcomes"] == 2
    assert [t for t in s["toasts"] if "could not" in str(t)] == []  # resumed, not started anew
    assert cluster.emulator.stats.sessions == 1
    assert cluster.emulator.stats.resumptions >= 1
    assert r2.proc is not None and r2.proc.poll() is None


async def _page_record_written(port: int) -> None:
    """Return when some replica writes a page record (MONITOR shows every command)."""
    cli = ["redis-cli", "-p", str(port), "monitor"]
    monitor = await asyncio.create_subprocess_exec(*cli, stdout=subprocess.PIPE)
    assert monitor.stdout is not None
    try:
        while b"relive:page:" not in await monitor.stdout.readline():
            pass
    finally:
        monitor.kill()
        await monitor.wait()


async def test_redis_restart_during_a_call(cluster: Cluster, page: Page) -> None:
    r1, _ = cluster.replicas
    await start_call(page)
    before = await call_until_turn(page, 1)
    cluster.redis.stop()  # no persistence: it comes back empty
    await next_turn_follows(page, before)  # the call does not notice: sessions are in memory
    before = await model_turns(page)
    cluster.redis.start()
    await next_turn_follows(page, before)  # a handle update after Redis is back writes it again
    await asyncio.wait_for(_page_record_written(cluster.redis.port), 20)
    before = await model_turns(page)
    # What Redis lost came back: a drain now still moves the call to the other replica.
    r1.signal(signal.SIGTERM)
    assert await asyncio.to_thread(r1.wait, 15) == 0
    await next_turn_follows(page, before)
    s = await stats(page)
    assert s["toasts"] == []
    assert cluster.emulator.stats.sessions == 1
    log = r1.log.read_text()
    assert "shared store unreachable" in log and "shared store reachable again" in log
