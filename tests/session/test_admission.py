"""The adaptive bound on connects in flight: first come first served, small when connects
queue on the CPU, out of the way when they wait on the network (sans-I/O with a manual clock;
then sessions against the emulator over real sockets)."""

from __future__ import annotations

import asyncio
import statistics
from functools import partial
from typing import Any

import pytest
from google.genai import types

import relive as rs
from relive import ManualClock, MonotonicClock
from relive.emulator import Emulator
from relive.session._admission import (
    _BY_CLOCK,
    _BY_LOOP,
    Admission,
    ConnectLimit,
    SessionTurns,
    Turn,
    admission_for,
)
from tests.session.helpers import MODEL, Chat

CPU = 0.002  # a connect's CPU time in the models below


def _crowd(
    limit: ConnectLimit[int] | None, n: int, rtt: float, step: float = 0.0005
) -> list[float]:
    """`n` connects asked at once, each needing `CPU` seconds of one shared CPU (processor
    sharing among those in their CPU phase) and then `rtt` seconds on the network; when each
    finished, from the start. `limit` None: every connect starts at once."""
    now = 0.0
    cpu: dict[int, float] = {}  # connect -> CPU work left
    net: dict[int, float] = {}  # connect -> when its answer arrives
    began: dict[int, float] = {}
    finished: dict[int, float] = {}

    def start(i: int) -> None:
        began[i], cpu[i] = now, CPU

    for i in range(n):
        if limit is None or limit.ask(i):
            start(i)
    while len(finished) < n:
        now += step
        for i in list(cpu):
            cpu[i] -= step / len(cpu) if cpu else 0
        for i in [i for i, left in cpu.items() if left <= 0]:
            del cpu[i]
            net[i] = now + rtt
        for i in [i for i, at in net.items() if at <= now]:
            del net[i]
            finished[i] = now
            if limit is not None:
                for j in limit.done(now, now - began[i]):
                    start(j)
    return sorted(finished.values())


def _warm(limit: ConnectLimit[int], took: float) -> ConnectLimit[int]:
    """One connect timed alone before the crowd (a process's sessions connect one by one)."""
    assert limit.ask(-1)
    assert limit.done(0.0, took) == []
    return limit


def test_cpu_bound_the_median_connect_is_back_in_about_half_the_time() -> None:
    free = _crowd(None, 400, rtt=CPU)
    limit = _warm(ConnectLimit(), 2 * CPU)
    bounded = _crowd(limit, 400, rtt=CPU)
    assert statistics.median(bounded) < 0.6 * statistics.median(free)
    assert bounded[-1] < 1.2 * free[-1]  # the same work: nothing much later
    assert limit.limit < 40  # learnt: connects queue on the CPU


def test_latency_bound_the_bound_gets_out_of_the_way() -> None:
    free = _crowd(None, 300, rtt=0.2)
    limit = _warm(ConnectLimit(), 0.2 + CPU)
    bounded = _crowd(limit, 300, rtt=0.2)
    assert limit.limit >= 300  # a 200 ms round trip: all 300 wait on the network together
    assert statistics.median(bounded) <= 1.05 * statistics.median(free)
    assert bounded[-1] <= 1.05 * free[-1]


def test_connects_are_admitted_in_arrival_order_up_to_the_bound() -> None:
    limit: ConnectLimit[str] = ConnectLimit(initial=2, least=2, most=2)
    assert [limit.ask(t) for t in "abcde"] == [True, True, False, False, False]
    assert limit.in_flight == 2 and limit.waiting == 3
    assert limit.withdraw("d") and not limit.withdraw("a")  # a is in flight, not waiting
    assert limit.done(1.0, None) == ["c"]  # a failure frees the slot and teaches nothing
    assert limit.floor is None
    assert limit.done(2.0, 0.01) == ["e"]
    assert limit.done(2.0, 0.01) == [] and limit.done(2.0, 0.01) == []
    assert limit.in_flight == 0


def test_a_slow_connect_shrinks_the_bound_at_most_by_half_but_never_below_least() -> None:
    limit: ConnectLimit[int] = ConnectLimit(initial=64, least=4, tolerance=2.0, cost=0.01)
    _warm(limit, 0.010)
    assert limit.limit == 64
    for i in range(64):
        limit.ask(i)
    limit.done(1.0, 0.030)  # 3x the floor: queueing; shrink by 2/3
    assert limit.limit == pytest.approx(64 * 2 / 3)
    limit.done(1.0, 10.0)  # far slower: at most halved
    assert limit.limit == pytest.approx(64 / 3)
    for _ in range(20):
        limit.done(1.0, 10.0)
    assert limit.limit == 4


def test_near_the_floor_the_bound_grows_only_while_someone_waits() -> None:
    limit: ConnectLimit[int] = ConnectLimit(initial=4, least=4, cost=0.01)
    _warm(limit, 0.005)
    assert limit.limit == 4  # nobody waited: no evidence the bound held anything back
    for i in range(6):
        limit.ask(i)
    limit.done(1.0, 0.006)
    assert limit.limit == 5


def test_the_floor_is_learnt_again_when_stale_rising_at_most_twofold() -> None:
    limit: ConnectLimit[int] = ConnectLimit(floor_window=60.0)
    _warm(limit, 0.010)
    limit.ask(1)
    limit.done(30.0, 0.050)
    assert limit.floor == 0.010  # fresh: kept
    limit.ask(2)
    limit.done(100.0, 0.050)
    assert limit.floor == 0.020  # stale: rises, slowly


def test_a_long_floor_keeps_enough_connects_in_flight_to_keep_the_cpu_busy() -> None:
    limit: ConnectLimit[int] = ConnectLimit(least=4, cost=0.002)
    _warm(limit, 0.300)  # a 300 ms round trip to the service
    assert limit.limit == pytest.approx(450)  # their CPU fits in 3x the round trip
    for i in range(500):
        limit.ask(i)
    limit.done(1.0, 5.0)  # even a very slow one does not starve the pipe
    assert limit.limit == pytest.approx(450)


def test_bad_bounds_are_refused() -> None:
    with pytest.raises(ValueError, match="least"):
        ConnectLimit(initial=1, least=2)
    with pytest.raises(ValueError, match="tolerance"):
        ConnectLimit(tolerance=0.5)


async def test_turns_are_served_in_order_and_one_given_up_leaves_the_queue() -> None:
    clock = ManualClock()
    admission = Admission(clock, ConnectLimit(initial=1, least=1, most=1))
    a, b, c, d = (admission.turn() for _ in range(4))
    assert a.admitted and not b.admitted and admission.limit.waiting == 3
    waiter = asyncio.create_task(b.wait())
    await asyncio.sleep(0)
    waiter.cancel()  # a waiter that stops waiting leaves the turn where it is
    await asyncio.wait([waiter])
    assert admission.limit.waiting == 3
    b.end(None)  # b gives up while waiting: it leaves the queue
    assert admission.limit.waiting == 2
    with pytest.raises(ConnectionError, match="given up"):
        await b.wait()
    clock.advance(0.01)
    a.end(0.01)
    assert c.admitted and not d.admitted
    await c.wait()
    c.end(None)  # a failed reconnect frees its slot and teaches nothing
    assert d.admitted and admission.limit.floor == 0.01
    d.end(0.0)
    d.end(5.0)  # ending twice is a no-op
    assert admission.limit.in_flight == 0 and admission.limit.waiting == 0
    assert admission.limit.floor == 0.001  # d took no time: the least floor counts


async def test_an_early_socket_opened_in_a_long_drain_passes_the_turn_on() -> None:
    """At a goAway the next socket opens in the session's turn; if the old connection still
    drains once it is open (the model mid-answer), the turn goes to the next session rather
    than be held for the drain. A turn the reconnect has begun in is kept to its end."""
    clock = ManualClock()
    admission = _BY_CLOCK[clock] = Admission(clock, ConnectLimit(initial=1, least=1, most=1))
    turns = SessionTurns(clock)
    async with turns.early()():  # the socket opens in the session's turn
        assert admission.limit.in_flight == 1
    assert turns.next is None and admission.limit.in_flight == 0  # passed on
    gate = turns.early()
    begun = turns.take()  # the reconnect begins while the socket opens: the same turn
    async with gate():
        pass
    assert not begun.ended and admission.limit.in_flight == 1
    assert turns.take() is not begun  # the next reconnect asks anew
    turns.early()
    turns.close()  # the session ends: a turn asked and not taken is given up
    assert admission.limit.waiting == 1  # only the one taken above still waits


async def test_sessions_of_one_clock_share_one_admission() -> None:
    clock = ManualClock()
    assert admission_for(clock) is admission_for(clock)
    assert admission_for(clock) is not admission_for(ManualClock())


class _Watched(ConnectLimit[Turn]):
    """A fixed bound that notes the most connects it had in flight at once."""

    def __init__(self, bound: int) -> None:
        super().__init__(initial=bound, least=bound, most=bound)
        self.most_in_flight = 0
        self.asked = 0

    def ask(self, token: Turn) -> bool:
        self.asked += 1
        admitted = super().ask(token)
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        return admitted

    def done(self, now: float, took: float | None) -> list[Turn]:
        admitted = super().done(now, took)
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        return admitted


def _session(emu: Emulator, i: int, **policy: Any) -> rs.LiveSession:
    return rs.connect(
        emu.client(),
        model=MODEL,
        config=types.LiveConnectConfig(response_modalities=[types.Modality.TEXT]),
        mode="text",
        handles=rs.HandleStore(),
        owner=f"crowd-{i}",
        policy=rs.Policy(**{"limit_connects": True, **policy}),
    )


@pytest.mark.timeout(60)
async def test_a_crowd_of_sessions_connects_and_reconnects_through_the_bound(
    relive_emulator: Emulator,
) -> None:
    bound = _Watched(3)
    _BY_LOOP[asyncio.get_running_loop()] = Admission(MonotonicClock(), bound)
    sessions = [_session(relive_emulator, i, stable_after=0) for i in range(12)]
    chats = [Chat(s) for s in await _start_all(sessions)]
    assert bound.asked == 12 and bound.most_in_flight == 3  # the bound held, and was used
    for chat in chats:
        assert await chat.ask("hello") == (1, 1)  # a resumable handle before the drop
    relive_emulator.faults.drop()
    for chat in chats:
        await chat.wait(partial(_resumed, chat), timeout=30)
    assert bound.asked == 24 and bound.most_in_flight == 3 and bound.in_flight == 0
    for chat in chats:
        await chat.close()


@pytest.mark.timeout(60)
async def test_without_the_bound_every_connect_starts_at_once(relive_emulator: Emulator) -> None:
    bound = _Watched(1)
    _BY_LOOP[asyncio.get_running_loop()] = Admission(MonotonicClock(), bound)
    sessions = await _start_all(
        [_session(relive_emulator, i, limit_connects=False) for i in range(4)]
    )
    assert bound.asked == 0
    for session in sessions:
        await session.close()


class _Tally(_Watched):
    """A fixed bound that notes, as each turn ends, how many of `sessions` are live, and how
    many hold a connection (the new one, or the old one not closed yet)."""

    def __init__(self, bound: int) -> None:
        super().__init__(bound)
        self.sessions: list[rs.LiveSession] = []
        self.live_at_end: list[int] = []
        self.holding_at_end: list[int] = []

    def done(self, now: float, took: float | None) -> list[Turn]:
        self.live_at_end.append(sum(s.state is rs.State.LIVE for s in self.sessions))
        self.holding_at_end.append(sum(s._conn is not None for s in self.sessions))
        return super().done(now, took)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("fault", ["drop", "goaway"])
async def test_a_turn_covers_the_whole_reconnect(relive_emulator: Emulator, fault: str) -> None:
    """The turn lasts from the socket's open through setupComplete, the old connection's close
    included: with one turn at a time, each session is live again before the next one begins
    (a bound on socket opens alone lets the next ones in while the first one's setup and
    close still share the CPU), and every reconnect is timed whole."""
    bound = _Tally(1)
    _BY_LOOP[asyncio.get_running_loop()] = Admission(MonotonicClock(), bound)
    bound.sessions = [_session(relive_emulator, i, stable_after=0) for i in range(4)]
    chats = [Chat(s) for s in await _start_all(bound.sessions)]
    assert bound.live_at_end == [1, 2, 3, 4]
    for chat in chats:
        assert await chat.ask("hello") == (1, 1)  # a resumable handle before the wave
    if fault == "drop":
        relive_emulator.faults.drop()
    else:
        relive_emulator.faults.goaway_now(time_left=10.0)
    for chat in chats:
        await chat.wait(partial(_resumed, chat), timeout=30)
    # Each turn of the wave ended with one more session live, none further along.
    assert bound.asked == 8 and bound.in_flight == 0 and bound.most_in_flight == 1
    assert bound.live_at_end[4:] == [1, 2, 3, 4]
    if fault == "goaway":  # each old connection was closed in its session's turn, not before
        assert bound.holding_at_end[4:] == [4, 4, 4, 4]
    for chat in chats:
        await chat.close()


def _resumed(chat: Chat) -> bool:
    return any(isinstance(e, rs.Resumed) for e in chat.events)


async def _start_all(sessions: list[rs.LiveSession]) -> list[rs.LiveSession]:
    await asyncio.gather(*(s.start() for s in sessions))
    return sessions
