"""A page socket that blips onto another replica: the first one gives the page up at once (the
page's lease in the shared store), so one Live session runs per page, resumed from the newest
handle (in process: two backends over one store and one emulator)."""

from __future__ import annotations

import asyncio

from relive.emulator import Emulator
from relive.store import MemoryKV
from relive.web._lease import BEAT_TTL, HANDOFF_WAIT
from tests.web.conftest import FAST
from tests.web.test_drain import a_chat_on_one_of_two, chat, new_page, page_socket, replica
from tests.web.test_socket import hello


async def test_a_page_that_moves_is_given_up_by_the_replica_it_left() -> None:
    async with a_chat_on_one_of_two() as pair:
        emu, one, two, ws, page = pair.emu, pair.one, pair.two, pair.ws, pair.page
        await ws.close()  # a blip: the page's sessions run on here while it is away
        await emu.wait_for(lambda s: s.open_connections == 1)  # (only the chat's, still open)
        moved = await page_socket(pair.url2)  # the load balancer sent it to the other replica
        started = asyncio.get_running_loop().time()
        welcome = await hello(moved, page, pair.secret)
        waited = asyncio.get_running_loop().time() - started
        assert welcome["fresh"] is False
        assert page not in one._registry  # given up: its sessions there are closed
        assert waited < HANDOFF_WAIT  # it was given up, not waited out
        assert await chat(moved, "gamma", 3) == "You said: gamma. (turn 3, remembers 3)"
        assert emu.stats.sessions == 1  # one conversation, resumed once, never two at a time
        assert emu.stats.open_connections == 1
        assert two.leases is not None
        assert await two.shared.state.page_owner(page) == two.leases.replica  # type: ignore[union-attr]
        await moved.close()


async def test_a_claimer_does_not_wait_for_a_replica_that_is_gone() -> None:
    kv = MemoryKV()
    async with Emulator(FAST, tls=True) as emu, replica(emu, kv) as (_, url1):
        ws, page, secret = await new_page(url1)
        await chat(ws, "alpha", 1)
        await ws.close()
    # That replica is gone without giving anything up (as a crash); its heartbeat lapses.
    async with Emulator(FAST, tls=True) as emu, replica(emu, kv) as (_, url2):
        moved = await page_socket(url2)
        started = asyncio.get_running_loop().time()
        await hello(moved, page, secret)
        assert asyncio.get_running_loop().time() - started < BEAT_TTL + 0.5
        await moved.close()
