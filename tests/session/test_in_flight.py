"""The in-flight rule: a resumption handle settles only what a pong received before it
acknowledged (no wall time), with the time rule where pongs cannot decide."""

from __future__ import annotations

from google.genai import types

import relive as rs
from relive.emulator import Emulator
from relive.session import _inputs as inputs
from relive.session._inflight import MAX_PINGS_OUT, SPARSE_PING_EVERY
from relive.session._journal import Entry
from relive.session._machine import SessionMachine
from relive.session._models import GEMINI_38
from tests.session.helpers import MODEL
from tests.session.test_machine import DROP, answer, handle, live, make, say

BLOB = types.Blob(data=b"\0\0" * 320, mime_type="audio/pcm;rate=16000")


def _write(m: SessionMachine) -> Entry:
    """The app sends a chunk and the driver writes it to connection 1's socket."""
    m.submit(inputs.realtime_input({"audio": BLOB}))
    entry = m.take_next(1)
    assert entry is not None
    m.written(1, entry.index)
    return entry


def _replayed_after_a_drop(m: SessionMachine) -> list[int]:
    m.closed(1, DROP)
    m.opened(2)
    out = []
    while (entry := m.take_next(2)) is not None:
        out.append(entry.index)
    return out


def test_a_client_descheduled_before_it_reads_the_handle_replays_what_crossed_it() -> None:
    m, clock = make(mode="call")
    live(m)
    _write(m)
    mark = m.pinged(1)
    clock.advance(0.002)
    m.ponged(1, mark)  # pongs come back in 2 ms
    clock.advance(0.02)
    late = _write(m)
    m.pinged(1)  # its ping goes out right behind it...
    clock.advance(0.5)  # ...then the process is descheduled before it reads the handle
    # The server issued the handle before it read `late` (its pong comes after the handle).
    # Half a second after the write, the time rule (3 x 2 ms) took `late` as held and lost it.
    m.server_message(1, handle("h1"))
    assert _replayed_after_a_drop(m) == [late.index]


def test_what_a_pong_before_the_handle_acknowledged_is_settled_however_slow() -> None:
    m, clock = make(mode="call")
    live(m)
    for _ in range(2):
        _write(m)
        mark = m.pinged(1)
        clock.advance(0.3)  # a loaded machine: 300 ms round trips
        m.ponged(1, mark)
    clock.advance(0.001)
    # The time rule kept the last 900 ms (3 x 300 ms) unsettled: both chunks would be sent
    # again though the handle holds them (heard twice). The pongs prove the server had them.
    m.server_message(1, handle("h1"))
    assert _replayed_after_a_drop(m) == []


def test_slow_pongs_leave_it_to_the_time_rule() -> None:
    m, clock = make(mode="call")
    live(m)
    _write(m)
    mark = m.pinged(1)
    clock.advance(8.0)  # as the real Developer API has been reported to answer pings
    m.ponged(1, mark)
    _write(m)
    m.pinged(1)
    clock.advance(2.0)
    late = _write(m)
    clock.advance(0.1)
    # Waiting for pongs would replay seconds the handle holds; the time rule (at most 1 s)
    # settles the chunk of 2.1 s ago and keeps the one of 100 ms ago.
    m.server_message(1, handle("h1"))
    assert _replayed_after_a_drop(m) == [late.index]


def test_a_ping_goes_behind_every_write_a_handle_may_follow() -> None:
    m, _ = make(mode="call")
    live(m)
    say(m, "hi")  # a turn under way: its handle may follow any write
    turn = m.take_next(1)
    assert turn is not None
    m.written(1, turn.index)
    assert m.probe_due(1, idle=False)  # none out: right behind the write
    m.pinged(1)
    assert not m.probe_due(1, idle=True)  # nothing written since
    _write(m)
    assert not m.probe_due(1, idle=False)  # one out: not behind every write of a burst...
    assert m.probe_due(1, idle=True)  # ...but behind the last, before the sender sleeps
    for _ in range(MAX_PINGS_OUT - 1):
        m.pinged(1)
        _write(m)
    assert not m.probe_due(1, idle=True)  # as many out as may be
    m.ponged(1, turn.index)
    assert m.probe_due(1, idle=True)
    assert not m.probe_due(2, idle=True)  # not the current connection


def test_no_handle_likely_means_sparse_pings() -> None:
    m, clock = make(mode="call")
    live(m)
    assert not m.probe_due(1, idle=True)  # nothing written
    _write(m)
    assert m.probe_due(1, idle=True)  # the first: a round trip for the time rule
    mark = m.pinged(1)
    m.ponged(1, mark)
    clock.advance(0.02)
    _write(m)
    assert not m.probe_due(1, idle=True)  # streaming, no turn: a pong per chunk would be waste
    clock.advance(SPARSE_PING_EVERY)
    assert m.probe_due(1, idle=True)


def test_after_an_answered_turn_pings_stay_dense_until_its_handle_but_not_on_3_8() -> None:
    for rules, dense in ((None, True), (GEMINI_38, False)):
        m, clock = make(mode="call")
        if rules is not None:
            m.rules = rules  # 3.8: no handle follows a turn (it names the latest state)
        live(m)
        say(m, "hi")
        turn = m.take_next(1)
        assert turn is not None
        m.written(1, turn.index)
        m.ponged(1, m.pinged(1))
        answer(m, "hello", None)
        clock.advance(0.02)
        _write(m)
        m.ponged(1, m.pinged(1))
        _write(m)
        # 2.x: the answered turn's handle is still to come, so every write is pinged;
        # 3.8: none is awaited, so a pong per chunk would be waste.
        assert m.probe_due(1, idle=True) is dense, rules


def test_a_handle_outside_a_turn_makes_every_write_pinged_from_then() -> None:
    m, clock = make(mode="call")
    live(m)
    first = _write(m)
    mark = m.pinged(1)
    m.ponged(1, mark)
    clock.advance(0.02)
    second = _write(m)
    # 3.1 sends handles while input streams, whatever the turns: this one may hold `second`,
    # whose write has no ping behind it. Replayed, never lost; and pinged from now on.
    m.server_message(1, handle("h1"))
    assert m.probe_due(1, idle=True)
    m.closed(1, DROP)
    m.opened(2)
    assert [m.take_next(2) for _ in range(2)] == [second, None]
    assert first.index < second.index


def test_a_fixed_margin_sends_no_pings_and_ignores_pongs() -> None:
    m, clock = make(mode="call", policy=rs.Policy(stable_after=0, in_flight_margin=0.01))
    live(m)
    _write(m)
    assert not m.probe_due(1, idle=True)
    mark = m.pinged(1)
    clock.advance(0.5)
    m.ponged(1, mark)
    late = _write(m)
    clock.advance(0.005)
    m.server_message(1, handle("h1"))  # 5 ms < the fixed 10 ms: `late` may have crossed it
    assert _replayed_after_a_drop(m) == [late.index]


async def test_the_driver_pings_behind_its_writes(relive_emulator: Emulator) -> None:
    config = types.LiveConnectConfig(response_modalities=[types.Modality.AUDIO])
    async with rs.connect(relive_emulator.client(), model=MODEL, config=config) as session:
        await session.send_realtime_input(audio=BLOB)  # the first write: a ping behind it
        await session.send_realtime_input(text="hello")  # a turn: a ping behind it too
        async for event in session.events():  # the pongs came back before the answer did
            if isinstance(event, rs.TurnComplete):
                break
        flight = session._machine._conn.flight
        assert flight.written == flight.pinged == flight.acked == 2
        assert not flight.pings_out and len(flight.round_trips) >= 1
        assert 0 <= flight.round_trips[0] < 1.0
