"""An answer given on a replica that then crashes, before a handle held it: the other replica's
session has it (the model sees it, the page shows it once, the turns numbered on), with real
processes: two `relive serve` replicas behind HAProxy, Redis, the emulator, Chromium (issue 11)."""

from __future__ import annotations

import asyncio
import json
import signal

from playwright.async_api import Page

from relive.store import Sealer, open_state
from relive.web._bridge import owner_of
from tests.replicas.calls import (
    call_until_turn,
    conversation,
    holding,
    model_turns,
    start_call,
    stats,
    turn_number,
)
from tests.replicas.conftest import MARKS, Cluster

pytestmark = MARKS


async def _stored_answer(cluster: Cluster, owner: str) -> str:
    """Return the newest answer the call's stored record keeps beside its handle, as one the
    handle lacks, once there is one (read from Redis with the replicas' key)."""
    state = open_state(cluster.redis.url, Sealer.from_file(cluster.seal_key), page_ttl=60)
    try:
        async with asyncio.timeout(20):
            while True:  # the replica writes it when the answer settles (no event says so here)
                record = await state.get_record(owner, "call")
                exchanges = json.loads(record[1]).get("exchanges", []) if record else []
                if exchanges:
                    return str(exchanges[-1][1])
                await asyncio.sleep(0.05)
    finally:
        await state.close()


async def test_an_answer_the_dead_replicas_handle_lacks_is_restored(
    cluster: Cluster, page: Page
) -> None:
    faults = cluster.emulator.faults
    await start_call(page)
    await call_until_turn(page, 2)
    holder, other = await holding(cluster, page)
    owner = owner_of((await stats(page))["pageId"])
    # From now on Live sends no handle: the stored one stays older than the answers that follow.
    faults.withhold_handles()
    answer = await _stored_answer(cluster, owner)
    lacked = turn_number(answer)
    assert lacked >= 3
    await call_until_turn(page, lacked)  # the page shows it (it came before the record did)
    holder.signal(signal.SIGKILL)
    assert await asyncio.to_thread(holder.wait, 10) == -signal.SIGKILL
    faults.withhold_handles(False)
    # The page reconnects through HAProxy to the other replica, which resumes the handle that
    # lacks the answer and sends the exchange as history: the model's count goes on from it.
    await call_until_turn(page, lacked + 1)
    shown = [turn_number(t) for t in await model_turns(page)]
    assert shown.count(lacked) == 1  # the lacked answer, shown once
    assert shown == sorted(set(shown))  # each turn once, numbered on (none numbered again)
    held = await conversation(cluster, "AUDIO", lambda c: c.user_turns > lacked)
    model_said = [t.text for t in held.turns if t.role == "model"]
    assert sum(f"(turn {lacked}," in text for text in model_said) == 1  # the model has it, once
    s = await stats(page)
    assert s["welcomes"] == 2
    assert [t for t in s["toasts"] if "could not" in str(t)] == []  # resumed, not started anew
    assert cluster.emulator.stats.sessions == 1
    assert cluster.emulator.stats.resumptions >= 1
    assert other.proc is not None and other.proc.poll() is None
