"""A page's socket cut from a replica that stays up: the page lands on the other replica, which
takes the page's lease; the first lets go, so one replica at a time drives the page's Live
session, also when the page bounces back and forth (real processes; HAProxy cuts the socket)."""

from __future__ import annotations

import asyncio

from playwright.async_api import Page

from relive.bench._replicas import Replica
from tests.replicas.calls import (
    back_in_pool,
    holding,
    model_turns,
    next_turn_follows,
    start_call,
    stats,
)
from tests.replicas.conftest import MARKS, Cluster

pytestmark = MARKS

LET_GO = "moved to another replica: its sessions here are closed"


async def _line(replica: Replica, text: str, times: int) -> None:
    """Return once `replica`'s log (-v) has `text` on `times` lines."""
    async with asyncio.timeout(20):
        while True:  # the process says so only there
            if replica.log.read_text().count(text) >= times:
                return
            await asyncio.sleep(0.05)


async def test_a_page_cut_from_a_live_replica_moves_and_that_replica_lets_go(
    cluster: Cluster, page: Page
) -> None:
    emu = cluster.emulator
    await start_call(page)
    await next_turn_follows(page, [])
    here, there = await holding(cluster, page)
    for move in range(1, 4):  # to the other replica, back, and over again
        before = await model_turns(page)
        await asyncio.to_thread(cluster.lb.cut, here)  # `here` stays up; only the socket drops
        await next_turn_follows(page, before)  # the call goes on where the page landed
        await _line(here, LET_GO, (move + 1) // 2)  # the replica it left closed its session
        s = await stats(page)
        assert s["welcomes"] == move + 1
        assert [t for t in s["toasts"] if "could not" in str(t)] == []  # resumed, not anew
        await emu.wait_for(lambda st: st.open_connections == 1, timeout=10)  # one replica drives
        assert emu.stats.sessions == 1  # one conversation throughout
        assert emu.stats.rejected_handles == {}  # never resumed while the other held it (1011)
        assert 1011 not in emu.stats.closes
        await asyncio.to_thread(cluster.lb.restore, here)
        await back_in_pool(cluster, here)
        here, there = there, here
    assert there.log.read_text().count(LET_GO) == 2 and here.log.read_text().count(LET_GO) == 1
    for replica in cluster.replicas:
        assert replica.proc is not None and replica.proc.poll() is None
