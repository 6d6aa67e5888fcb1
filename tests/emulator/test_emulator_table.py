"""The emulator connection's tables, walked: every move they list happens, through the one door."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

import pytest

from relive.emulator import _closes as closes
from relive.emulator._conn_core import TRACE
from relive.emulator._states import (
    EVENT_TRIGGERED_TRANSITIONS,
    TURN_TRANSITIONS,
    State,
    Trigger,
    TurnState,
    TurnTrigger,
)
from tests.door import check_door
from tests.emulator.emulator_harness import Harness, Service

MOVE = re.compile(r"connection \d+: (.+) -> (.+) \((.+)\)")
TOOLS = [{"functionDeclarations": [{"name": "get_weather"}]}]
Move = tuple[str, str, str]


def table() -> set[Move]:
    moves: set[Move] = set()
    for state, triggers in EVENT_TRIGGERED_TRANSITIONS.items():
        moves |= {(state.value, t.value, new.value) for t, new in triggers.items()}
    for turn, turn_triggers in TURN_TRANSITIONS.items():
        moves |= {(turn.value, t.value, new.value) for t, new in turn_triggers.items()}
    return moves


CASES = [(s, t) for s in State for t in Trigger] + [(s, t) for s in TurnState for t in TurnTrigger]


@pytest.mark.parametrize(("before", "trigger"), CASES)
def test_the_door_moves_a_connection_and_its_turn_exactly_as_the_tables_say(
    before: State | TurnState, trigger: Trigger | TurnTrigger
) -> None:
    machine = Service().connect().machine
    if isinstance(before, State):
        assert isinstance(trigger, Trigger)
        machine._state = before
        check_door(machine._go, lambda: machine.state, EVENT_TRIGGERED_TRANSITIONS, trigger)
    else:
        assert isinstance(trigger, TurnTrigger)
        machine._turn = before
        check_door(machine._go, lambda: machine.turn, TURN_TRANSITIONS, trigger)


def say(conn: Harness, text: str) -> Harness:
    return conn.send({"realtimeInput": {"text": text}})


def answer_the_tool(conn: Harness) -> Harness:
    call = conn.sent[-1]["toolCall"]["functionCalls"][0]
    response = {"id": call["id"], "name": "get_weather", "response": {"t": 1}}
    return conn.send({"toolResponse": {"functionResponses": [response]}})


def drop_mid_turn(conn: Harness) -> None:
    conn.service.faults.drop_mid_turn = True
    say(conn, "hello there")
    conn.run_turn()
    assert conn.aborted


def goaway_now(conn: Harness, seconds: float) -> None:
    conn.apply(conn.machine.go_away_now(seconds))


def spoken_then_closed(c: Harness) -> None:
    say(c.setup(), "hi")
    c.run_turn()
    c.apply(c.machine.close_now(closes.DEADLINE))


def barge_in(c: Harness) -> None:
    say(c.setup(), "a long story please")
    c.advance(0.0)
    say(c, "stop")


def tool_answered(c: Harness) -> None:
    say(c.setup(tools=TOOLS), "weather in Paris?")
    answer_the_tool(c)


def tool_interrupted(c: Harness) -> None:
    say(c.setup(tools=TOOLS), "weather in Paris?")
    say(c, "never mind")


def goaway_twice_then_deadline_then_lost(c: Harness) -> None:
    goaway_now(c.setup(), 5.0)
    goaway_now(c, 1.0)
    c.advance(2.0)
    c.lose()


def goaway_then_dropped_mid_turn(c: Harness) -> None:
    goaway_now(c.setup(), 5.0)
    drop_mid_turn(c)


def goaway_then_lost(c: Harness) -> None:
    goaway_now(c.setup(), 5.0)
    c.lose()


# Each walk drives a fresh connection through its inputs (frames, timers, faults, socket loss).
WALKS: list[Callable[[Harness], object]] = [
    lambda c: c.setup().lose(),
    lambda c: say(c, "too early"),  # closed before setup
    Harness.lose,  # lost before setup
    spoken_then_closed,
    barge_in,
    tool_answered,
    tool_interrupted,
    goaway_twice_then_deadline_then_lost,
    goaway_then_dropped_mid_turn,
    lambda c: drop_mid_turn(c.setup()),
    goaway_then_lost,
]


def test_the_walks_make_every_move_in_the_tables_and_no_other(
    caplog: pytest.LogCaptureFixture,
) -> None:
    made: set[Move] = set()
    for steps in WALKS:
        caplog.clear()
        with caplog.at_level(TRACE, logger="relive.emulator"):
            steps(Service().connect())
        for record in caplog.records:
            if found := MOVE.fullmatch(record.getMessage()):
                before, after, trigger = found.groups()
                made.add((before, trigger, after))
    assert made <= table()
    assert table() - made == set()


def test_moves_are_logged_below_debug(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="relive.emulator"):
        Service().connect().setup().lose()
    assert not [m for m in caplog.messages if MOVE.fullmatch(m)]
    with caplog.at_level(TRACE, logger="relive.emulator"):
        Service().connect().setup().lose()
    assert [m for m in caplog.messages if MOVE.fullmatch(m)] == [
        "connection 1: awaiting setup -> open (setup)",
        "connection 1: open -> closed (lost)",
    ]
