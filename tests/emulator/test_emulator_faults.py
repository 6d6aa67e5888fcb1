"""Each fault, from Python and over the HTTP control endpoint, seen through the real SDK."""

from __future__ import annotations

import asyncio
import json
import ssl
import urllib.request

import pytest
import websockets
from google.genai import errors
from websockets.exceptions import ConnectionClosedError

from relive.emulator import Emulator
from tests.emulator.sdk_helpers import (
    MODEL,
    next_handle,
    next_message,
    read_turn,
    resumable_config,
    say,
    text_config,
)
from tests.sdk_support import needs_http_post

DEV_PATH = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"


async def test_drop_aborts_without_close_frame(relive_emulator: Emulator) -> None:
    async with relive_emulator.client().aio.live.connect(model=MODEL, config=text_config()) as s:
        await say(s, "before")
        assert relive_emulator.faults.drop() == 1
        with pytest.raises(errors.APIError) as dropped:
            await next_message(s)
    assert dropped.value.code == 1006
    assert relive_emulator.stats.aborts == 1


async def test_drop_mid_turn_after_first_chunk(relive_emulator: Emulator) -> None:
    relive_emulator.faults.drop_mid_turn()
    chunks = 0
    async with relive_emulator.client().aio.live.connect(model=MODEL, config=text_config()) as s:
        await s.send_realtime_input(text="a reply that gets cut")
        with pytest.raises(errors.APIError) as dropped:
            async for message in s.receive():
                if message.server_content and message.server_content.model_turn:
                    chunks += 1
    assert dropped.value.code == 1006
    assert chunks == 1


async def test_resumed_session_does_not_continue_a_cut_reply(relive_emulator: Emulator) -> None:
    client = relive_emulator.client()
    async with client.aio.live.connect(model=MODEL, config=resumable_config()) as s:
        await say(s, "first")
        handle = await next_handle(s)  # the first handle comes after the first turn
        relive_emulator.faults.drop_mid_turn()
        await s.send_realtime_input(text="lost turn")
        with pytest.raises(errors.APIError):
            await read_turn(s)
    await relive_emulator.wait_for(lambda st: st.open_connections == 0)
    async with client.aio.live.connect(model=MODEL, config=resumable_config(handle)) as s:
        reply = await say(s, "again")
    assert reply.text == "You said: again. (turn 2, remembers 2)"  # snapshot before the lost turn


async def test_withheld_handles_leave_the_newest_one_older_than_the_answers(
    relive_emulator: Emulator,
) -> None:
    client, faults = relive_emulator.client(), relive_emulator.faults
    async with client.aio.live.connect(model=MODEL, config=resumable_config()) as s:
        await say(s, "first")
        handle = await next_handle(s)
        faults.withhold_handles()
        assert faults.armed == {"withhold_handles"}
        await say(s, "second")  # answered; no handle follows its turnComplete
        faults.withhold_handles(False)
        third = await say(s, "third")
        updates = [m.session_resumption_update for m in third.messages]
        assert [u for u in updates if u and u.resumable] == []  # none was held back for later
        assert await next_handle(s) != handle  # handles come again, after "third"
    await relive_emulator.wait_for(lambda st: st.open_connections == 0)
    async with client.aio.live.connect(model=MODEL, config=resumable_config(handle)) as s:
        reply = await say(s, "again")
    assert reply.text == "You said: again. (turn 2, remembers 2)"  # the answer to "second" lost


async def test_goaway_now_then_deadline(relive_emulator: Emulator) -> None:
    async with relive_emulator.client().aio.live.connect(model=MODEL, config=text_config()) as s:
        relive_emulator.faults.goaway_now(time_left=0.3)
        message = await next_message(s)
        assert message.go_away is not None and message.go_away.time_left == "0.3s"
        with pytest.raises(errors.APIError) as closed:
            await next_message(s)
    assert closed.value.code == 1008 and "after receiving a GoAway signal" in str(closed.value)


async def test_silent_after_goaway(relive_emulator: Emulator) -> None:
    relive_emulator.faults.silent_after_goaway(True)
    async with relive_emulator.client().aio.live.connect(model=MODEL, config=text_config()) as s:
        relive_emulator.faults.goaway_now(time_left=0.3)
        assert (await next_message(s)).go_away is not None
        await s.send_realtime_input(text="hello?")
        with pytest.raises(errors.APIError) as closed:
            message = await next_message(s)
            pytest.fail(f"expected silence, got {message}")
    assert closed.value.code == 1008


async def test_close_fault(relive_emulator: Emulator) -> None:
    async with relive_emulator.client().aio.live.connect(model=MODEL, config=text_config()) as s:
        relive_emulator.faults.close()
        with pytest.raises(errors.APIError) as closed:
            await next_message(s)
    assert closed.value.code == 1011 and "Internal error encountered." in str(closed.value)


async def test_refuse_next_resumption_once(relive_emulator: Emulator) -> None:
    client = relive_emulator.client()
    async with client.aio.live.connect(model=MODEL, config=resumable_config()) as s:
        await say(s, "first")
        handle = await next_handle(s)
    await relive_emulator.wait_for(lambda st: st.open_connections == 0)
    relive_emulator.faults.refuse_next_resumption()
    with pytest.raises(errors.APIError) as refused:
        async with client.aio.live.connect(model=MODEL, config=resumable_config(handle)):
            pass
    assert refused.value.code == 1008
    await relive_emulator.wait_for(lambda st: st.open_connections == 0)
    async with client.aio.live.connect(model=MODEL, config=resumable_config(handle)) as s:
        assert (await say(s, "ok")).text.startswith("You said: ok.")
    assert relive_emulator.stats.rejected_handles["refused"] == 1


async def test_latency_delays_every_message(relive_emulator: Emulator) -> None:
    loop = asyncio.get_running_loop()
    async with relive_emulator.client().aio.live.connect(model=MODEL, config=text_config()) as s:
        relive_emulator.faults.set_latency(0.25)
        started = loop.time()
        await say(s, "slow")
        assert loop.time() - started >= 0.25


@pytest.mark.relive_emulator(tls=False)
async def test_late_pongs_trip_the_client_keepalive(relive_emulator: Emulator) -> None:
    relive_emulator.faults.set_ping_delay(0.5)
    url = relive_emulator.ws_url + DEV_PATH + "?key=k"
    async with websockets.connect(url) as ws:
        loop = asyncio.get_running_loop()
        started = loop.time()
        await (await ws.ping())
        assert loop.time() - started >= 0.5
    # A client whose ping timeout is shorter than the delay closes itself with 1011.
    async with websockets.connect(url, ping_interval=0.05, ping_timeout=0.1) as ws:
        with pytest.raises(ConnectionClosedError) as closed:
            await ws.recv()
    assert closed.value.sent is not None and closed.value.sent.code == 1011
    assert "keepalive ping timeout" in closed.value.sent.reason


def _http(url: str, ctx: ssl.SSLContext, method: str = "POST") -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5, context=ctx) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@needs_http_post
async def test_control_endpoint(relive_emulator: Emulator) -> None:
    base = relive_emulator.url + "/emulator"
    ctx = relive_emulator.ssl_context()
    async with relive_emulator.client().aio.live.connect(model=MODEL, config=text_config()) as s:
        status, body = await asyncio.to_thread(
            _http, base + "/faults/goaway_now?time_left=0.2", ctx
        )
        assert (status, body) == (200, {"sent": 1})
        message = await next_message(s)
        assert message.go_away is not None and message.go_away.time_left == "0.2s"
    status, stats = await asyncio.to_thread(_http, base + "/stats", ctx, "GET")
    assert status == 200 and stats["goaways_sent"] == 1 and stats["connections_opened"] == 1
    status, log = await asyncio.to_thread(_http, base + "/events?after=0", ctx, "GET")
    kinds = [e["kind"] for e in log["events"]]  # type: ignore[attr-defined]
    assert status == 200 and kinds[0] == "connection_opened" and "goaway" in kinds
    last = log["last_seq"]
    status, later = await asyncio.to_thread(_http, f"{base}/events?after={last}", ctx, "GET")
    assert later["events"] == []
    assert (await asyncio.to_thread(_http, base + "/faults/nope", ctx))[0] == 404
    assert (await asyncio.to_thread(_http, base + "/faults/latency?seconds=x", ctx))[0] == 400
    assert (await asyncio.to_thread(_http, base + "/faults/latency?seconds=0.1", ctx))[0] == 200
    assert relive_emulator.faults.latency == 0.1
    assert (await asyncio.to_thread(_http, base + "/faults/withhold_handles", ctx))[0] == 200
    assert relive_emulator.faults.armed == {"withhold_handles"}
    for name in ("drop_mid_turn", "refuse_next_resumption", "expire_all_handles", "reset"):
        assert (await asyncio.to_thread(_http, f"{base}/faults/{name}", ctx))[0] == 200
    assert relive_emulator.faults.latency == 0.0 and relive_emulator.faults.armed == frozenset()


async def test_faults_read_back_what_is_set(relive_emulator: Emulator) -> None:
    faults = relive_emulator.faults
    assert faults.armed == frozenset() and faults.latency == faults.ping_delay == 0.0
    faults.drop_mid_turn()
    faults.refuse_next_resumption()
    faults.silent_after_goaway()
    faults.set_latency(0.2)
    faults.set_ping_delay(0.3)
    assert faults.armed == {"drop_mid_turn", "refuse_next_resumption", "silent_after_goaway"}
    assert faults.latency == 0.2 and faults.ping_delay == 0.3
    faults.silent_after_goaway(False)
    assert faults.armed == {"drop_mid_turn", "refuse_next_resumption"}
    faults.reset()
    assert faults.armed == frozenset() and faults.latency == faults.ping_delay == 0.0


async def test_what_the_sessions_hold_reads_back(relive_emulator: Emulator) -> None:
    assert relive_emulator.user_turns_held() == [] and relive_emulator.session_audio_seconds() == 0
    async with relive_emulator.client().aio.live.connect(model=MODEL, config=text_config()) as s:
        await say(s, "one")
        await say(s, "two")
        assert relive_emulator.user_turns_held() == ["one", "two"]
        assert relive_emulator.session_audio_seconds() == 0.0  # text only
        (opened,) = [e for e in relive_emulator.events if e.kind == "connection_opened"]
        assert relive_emulator.session_of(opened.data["conn"]) == "s-1"  # the first session
    await relive_emulator.wait_for(lambda stats: stats.open_connections == 0)
    assert relive_emulator.session_of(opened.data["conn"]) is None
