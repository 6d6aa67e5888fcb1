"""The emulator on a ManualClock: ten-minute lifetimes and two-hour handle ttls without waiting."""

from __future__ import annotations

import pytest
from google.genai import errors

from relive import ManualClock
from relive.emulator import Emulator, EmulatorSettings
from relive.emulator._handles import HandleRegistry, HandleRejectedError
from relive.emulator._model import Conversation
from tests.emulator.sdk_helpers import MODEL, next_handle, next_message, resumable_config, say

INSTANT = EmulatorSettings(chunk_interval=0.0, turn_complete_lag_factor=0.0)  # real defaults else


async def test_real_lifetime_and_goaway_lead_on_manual_clock() -> None:
    clock = ManualClock()
    async with Emulator(INSTANT, clock=clock) as emu:
        async with emu.client().aio.live.connect(model=MODEL, config=resumable_config()) as s:
            assert (await say(s, "hi")).text == "You said: hi. (turn 1, remembers 1)"
            await next_handle(s)  # after the first turn, as the 2.x models do
            emu.advance(539.0)
            assert emu.stats.goaways_sent == 0
            emu.advance(1.0)
            message = await next_message(s)
            while message.go_away is None:
                message = await next_message(s)
            assert message.go_away.time_left == "50s"
            emu.advance(50.0)
            with pytest.raises(errors.APIError) as closed:
                await next_message(s)
        assert closed.value.code == 1008


async def test_handle_ttl_two_hours_after_the_session_ends() -> None:
    clock = ManualClock()
    async with Emulator(INSTANT, clock=clock) as emu:
        client = emu.client()
        async with client.aio.live.connect(model=MODEL, config=resumable_config()) as s:
            await say(s, "hi")
            handle = await next_handle(s)
        await emu.wait_for(lambda st: st.open_connections == 0)
        emu.advance(7199.0)
        async with client.aio.live.connect(model=MODEL, config=resumable_config(handle)) as s:
            assert (await say(s, "still valid")).text.startswith("You said: still valid.")
        await emu.wait_for(lambda st: st.open_connections == 0)
        emu.advance(7200.5)
        with pytest.raises(errors.APIError) as expired:
            async with client.aio.live.connect(model=MODEL, config=resumable_config(handle)):
                pass
        assert expired.value.code == 1008 and "session not found" in str(expired.value)


def test_a_session_keeps_only_its_newest_handles() -> None:
    """Each handle holds a snapshot: a session keeps its newest `kept_per_session`, whatever
    the turns; an older one is refused as not found."""
    clock = ManualClock()
    tokens = (f"handle-{n:04d}-0123456789abcdef" for n in range(10_000))
    registry = HandleRegistry(
        clock, ttl=100.0, token_factory=lambda: next(tokens), kept_per_session=4
    )
    session = registry.new_session()
    registry.attach(session)
    issued = [registry.issue(session, "key", Conversation()) for _ in range(10)]
    assert registry.handle_count == 4
    registry.detach(session, Conversation())
    for old in issued[:6]:
        with pytest.raises(HandleRejectedError) as refused:
            registry.resolve(old, "key")
        assert refused.value.kind == "invalid"
    assert [registry.resolve(t, "key")[0] for t in issued[6:]] == [session] * 4
    other = registry.new_session()
    registry.attach(other)
    for _ in range(1000):
        registry.issue(other, "key", Conversation())
    assert registry.handle_count == 4 + 4
