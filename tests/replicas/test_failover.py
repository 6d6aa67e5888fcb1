"""Calls survive a replica going away: two `relive serve` replicas behind HAProxy, sharing Redis
and one emulator, a real browser on a call through the load balancer (issue 11)."""

from __future__ import annotations

import asyncio
import json
import secrets
import signal
from typing import Any

import pytest
import websockets
from playwright.async_api import Page

from tests.replicas.calls import (
    STREAMING,
    back_in_pool,
    call_until_turn,
    holding,
    model_turns,
    next_turn_follows,
    start_call,
    stats,
    turn_number,
)
from tests.replicas.conftest import MARKS, Cluster

pytestmark = MARKS


async def test_sigterm_mid_call_moves_the_call_to_the_other_replica(
    cluster: Cluster, page: Page
) -> None:
    r1, r2 = cluster.replicas
    await start_call(page)
    before = await call_until_turn(page, 2)
    r1.signal(signal.SIGTERM)
    assert await asyncio.to_thread(r1.wait, 15) == 0  # drained and exited within its timeout
    await next_turn_follows(page, before)
    s = await stats(page)
    assert s["goaways"] == 1
    assert s["toasts"] == []
    assert await page.locator(".toast").count() == 0
    assert cluster.emulator.stats.sessions == 1  # resumed on r2: never a new conversation
    assert cluster.emulator.stats.resumptions >= 1
    assert r2.proc is not None and r2.proc.poll() is None


async def test_sigterm_while_the_model_answers_keeps_that_answer(
    cluster: Cluster, page: Page
) -> None:
    await start_call(page)
    await call_until_turn(page, 2)
    holder, _ = await holding(cluster, page)
    await page.wait_for_selector(STREAMING)  # an answer under way: the drain lets it finish
    answering = max(map(turn_number, await model_turns(page))) + 1
    holder.signal(signal.SIGTERM)
    assert await asyncio.to_thread(holder.wait, 15) == 0
    # The drain closed the session at the answer's generationComplete, before its turnComplete
    # (which trails by the playback time): the other replica shows that answer all the same.
    after = await call_until_turn(page, answering + 1)
    assert answering in map(turn_number, after)
    assert (await stats(page))["toasts"] == []
    assert cluster.emulator.stats.sessions == 1


async def test_rolling_restart_during_one_call(cluster: Cluster, page: Page) -> None:
    r1, r2 = cluster.replicas
    await start_call(page)
    before = await call_until_turn(page, 1)
    for replica in (r1, r2):  # each one drained, then back (a deploy of both)
        replica.signal(signal.SIGTERM)
        assert await asyncio.to_thread(replica.wait, 15) == 0
        await next_turn_follows(page, before)
        before = await model_turns(page)
        await asyncio.to_thread(replica.start)
        await back_in_pool(cluster, replica)  # as a rollout waits for readiness (maxUnavailable 0)
    s = await stats(page)
    assert s["goaways"] == 2
    assert s["toasts"] == []
    assert cluster.emulator.stats.sessions == 1


async def _hello(url: str, origin: str, page_id: str, secret: str | None) -> tuple[Any, ...]:
    """One socket's hello on `url`: ("welcome", the message) or ("closed", code)."""
    async with websockets.connect(url, origin=websockets.Origin(origin)) as ws:
        await ws.send(json.dumps({"type": "hello", "page": page_id, "secret": secret}))
        try:
            return ("welcome", json.loads(await ws.recv()))
        except websockets.ConnectionClosed as closed:
            assert closed.rcvd is not None
            return ("closed", closed.rcvd.code)


async def test_a_page_resumes_only_with_its_secret_on_either_replica(cluster: Cluster) -> None:
    origin = cluster.lb.url
    r1, r2 = (f"ws://127.0.0.1:{r.port}/ws" for r in cluster.replicas)
    page_id = secrets.token_hex(16)
    kind, welcome = await _hello(r1, origin, page_id, None)
    assert kind == "welcome" and welcome["fresh"] is True
    secret = welcome["secret"]
    for url in (r2, r1):
        assert await _hello(url, origin, page_id, "not-" + secret) == ("closed", 4403)
        assert await _hello(url, origin, page_id, None) == ("closed", 4403)
    kind, again = await _hello(r2, origin, page_id, secret)
    assert kind == "welcome" and again["fresh"] is False  # made on r1, known on r2
    # Only --allowed-origin gets in from another origin: the handshake itself is refused.
    with pytest.raises(websockets.InvalidStatus, match="403"):
        await _hello(r2, "http://evil.example", secrets.token_hex(16), None)
