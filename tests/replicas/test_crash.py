"""A replica killed (SIGKILL) or Redis restarted during a call: the call goes on (issue 11)."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
from pathlib import Path

from playwright.async_api import Page, expect

from relive.store import Sealer, open_state
from relive.web._bridge import owner_of
from tests.replicas.calls import (
    call_until_turn,
    conversation,
    emulator_link,
    holding,
    model_turns,
    next_turn_follows,
    start_call,
    stats,
)
from tests.replicas.conftest import MARKS, Cluster

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "replicas"

pytestmark = MARKS


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


CHUNK_S = 0.04  # the page's audio chunks: 40 ms


async def _stored_session(cluster: Cluster, owner: str, mode: str) -> str | None:
    """The emulator session whose handle the store (Redis) holds for (owner, mode), or None
    when it holds none, read with the replicas' key."""
    state = open_state(cluster.redis.url, Sealer.from_file(cluster.seal_key), page_ttl=60)
    try:
        handle = await state.get_handle(owner, mode)
        # The emulator (in this process) tells whose it is: looked up at once, before a newer
        # handle of the same session could push it out of those the emulator keeps.
        issued = cluster.emulator._registry._handles.get(handle) if handle is not None else None
        return issued.session_id if issued is not None else None
    finally:
        await state.close()


def _gap(audio_log: list[list[float]], killed_at: float) -> dict[str, float]:
    """What the user heard around the crash: the model's reply under way was cut after
    `cut_reply_ms` of audio; the next model audio came `silence_ms` after the kill."""
    before = [(t, ms) for t, ms in audio_log if t <= killed_at]
    after = [t for t, _ in audio_log if t > killed_at]
    start = edge = killed_at  # the reply under way: frames less than 300 ms apart up to the kill
    for t, _ in reversed(before):
        if edge - t > 300:
            break
        start = edge = t
    cut = sum(ms for t, ms in before if t >= start)
    return {
        "cut_reply_ms": round(cut),
        "silence_ms": round(after[0] - killed_at) if after else -1,
    }


async def test_sigkill_while_the_user_speaks_and_types_loses_no_input(
    cluster: Cluster, page: Page
) -> None:
    await start_call(page)
    await call_until_turn(page, 2)
    holder, other = await holding(cluster, page)
    await page.click("#tab-text")
    chat = page.locator("#transcript-text .turn.model")
    await page.fill("#text-input", "before")
    await page.press("#text-input", "Enter")
    await expect(chat.nth(0)).to_contain_text("(turn 1,")
    before = await model_turns(page)
    await page.fill("#text-input", "during")
    await page.press("#text-input", "Enter")  # typed, and the mic streams on: then the crash
    chat_before = emulator_link(cluster, "TEXT").machine.session_id
    owner = owner_of((await stats(page))["pageId"])
    killed_at = await page.evaluate("() => performance.now()")
    holder.signal(signal.SIGKILL)
    assert await asyncio.to_thread(holder.wait, 10) == -signal.SIGKILL
    # What the dead replica left for the chat: read before the other one can resume it (the
    # page is not there yet: its claim waits for the dead replica's heartbeat to lapse), and
    # the other one stores no handle of the old session unless it resumed it.
    chat_stored = await _stored_session(cluster, owner, "text")
    await expect(chat.nth(1)).to_contain_text(re.compile(r"during\W+\(turn 2,"))
    await page.fill("#text-input", "after")
    await page.press("#text-input", "Enter")
    await expect(chat.nth(2)).to_contain_text(re.compile(r"after\W+\(turn 3,"))
    await next_turn_follows(page, before)  # the call goes on, every earlier turn still shown
    await page.click("#tab-call")
    await page.click("#call-mute")  # the user stops: every chunk made is counted now
    s = await stats(page)
    made = s["audioChunksCaptured"]
    # Every chunk the page made reached the emulator's conversation: those the dead replica's
    # stored handle covered, and the rest, sent again to the other replica.
    await conversation(cluster, "AUDIO", lambda c: c.audio_seconds >= made * CHUNK_S - 1e-6)
    call_session = emulator_link(cluster, "AUDIO").machine.session_id
    assert call_session is not None
    await page.click("#call-hangup")  # the emulator keeps the call's final state
    await cluster.emulator.wait_for(lambda st: st.open_connections == 1, timeout=10)
    chunks = cluster.emulator._registry._sessions[call_session].latest.audio_seconds / CHUNK_S
    chat_state = await conversation(cluster, "TEXT", lambda c: c.user_turns >= 3)
    chat_resumed = emulator_link(cluster, "TEXT").machine.session_id == chat_before
    figures = {
        "chunks_made": made,
        "chunks_lost": max(0, made - round(chunks)),
        "chunks_twice": max(0, round(chunks) - made),
        "inputs_resent": s["inputsResent"],
        "inputs_dropped": s["inputsDropped"],
        **_gap(s["audioLog"], killed_at),
    }
    print(f"sigkill mid-call: {figures}")  # the figures (shown with -s; the file stays)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "sigkill-gap.json").write_text(json.dumps(figures, indent=2) + "\n")
    assert figures["chunks_lost"] == 0 and s["inputsDropped"] == 0
    # Audio Live may have had when it issued the handle, sent within the in-flight window
    # before it (at most 1 s; 3x the measured round trip), is not counted covered: sent again,
    # it is heard twice. Nothing tells which (`lastConsumedClientMessageIndex` is Vertex's).
    assert figures["chunks_twice"] <= 1.0 / CHUNK_S
    assert s["welcomes"] == 2  # the page moved to the other replica
    # Chat messages are exact: an unanswered one is never covered, an answered one never resent.
    assert [t.text for t in chat_state.turns if t.role == "user"] == ["before", "during", "after"]
    # Resumed, or (no handle stored) made up again from every message the page kept, from the
    # first: either way the page is not told the conversation could not be resumed.
    assert [t for t in s["toasts"] if "could not" in str(t)] == []
    # The call and the chat, each resumed; unless the crash came before the chat's first
    # handle was stored (a 2.5 model sends none before its first turn is over): then the chat
    # started anew, and the page sent again every message it kept, "before" too. It started
    # anew only then: the chat resumed exactly when Redis held a handle of its session.
    assert chat_resumed == (chat_stored is not None and chat_stored == chat_before)
    assert cluster.emulator.stats.sessions == (2 if chat_resumed else 3)
    assert other.proc is not None and other.proc.poll() is None
