"""The session machine's one table, walked: every move it lists happens, through the one door."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

import pytest

from relive import Event, HandleStore, ManualClock, Policy, State
from relive.session._failures import Failure
from relive.session._machine import SessionMachine
from relive.session._models import GEMINI_31
from relive.session._states import EVENT_TRIGGERED_TRANSITIONS, TRANSITIONS, Action, Trigger
from tests.door import check_door
from tests.session.test_machine import DROP, answer, handle, live, make, msg, say
from tests.session.test_machine import sent_texts as sent
from tests.session.test_machine_refused import answered_without_handle_on_3_1

Move = tuple[State, Trigger, State]
MOVE = re.compile(r"session o/\w+: (\S+) -> (\S+) \((.+)\)")
FATAL = Failure("API key not valid", code=1008)
EXPIRED = Failure("resumption handle expired", code=1008)
TURN_COMPLETE = msg(server_content={"turn_complete": True})


@pytest.mark.parametrize("state", list(State))
@pytest.mark.parametrize("trigger", list(Trigger))
def test_the_door_moves_exactly_as_the_table_says(state: State, trigger: Trigger) -> None:
    m, _ = make()
    m._state = state
    check_door(m._go, lambda: m.state, EVENT_TRIGGERED_TRANSITIONS, trigger)
    assert EVENT_TRIGGERED_TRANSITIONS[state].get(trigger, state) in TRANSITIONS[state] | {state}


def stored() -> HandleStore:
    store = HandleStore()
    store.put("o", "text", "old")
    return store


def answered(m: SessionMachine) -> list[Event]:
    live(m)
    say(m, "one")
    sent(m)
    return answer(m, "a1", "h1")


def mid_turn_goaway(m: SessionMachine) -> list[Action]:
    live(m)
    say(m, "one")
    sent(m)
    m.server_message(1, msg(server_content={"model_turn": {"parts": [{"text": "a"}]}}))
    return m.server_message(1, msg(go_away={"time_left": "10s"}))


def rejected_while_live(m: SessionMachine) -> None:
    answered(m)
    m.closed(1, DROP)
    m.opened(2)
    m.closed(2, EXPIRED)


def wait_out(m: SessionMachine) -> list[Action]:
    assert isinstance(m.clock, ManualClock) and m.deadline is not None
    m.clock.set(m.deadline)
    return m.timer()


Steps = Callable[[SessionMachine], object]


def stale_handle_at_the_goaway_deadline(m: SessionMachine) -> list[Action]:
    answered_without_handle_on_3_1(m)
    m.server_message(1, msg(go_away={"time_left": "10s"}))
    assert m.state is State.DRAINING
    return wait_out(m)


def stale_handle_after_a_backoff(m: SessionMachine) -> list[Action]:
    m.rules = GEMINI_31
    live(m)
    say(m, "one")
    sent(m)
    m.server_message(1, handle("h1"))
    m.server_message(1, msg(server_content={"model_turn": {"parts": [{"text": "You said"}]}}))
    m.server_message(1, msg(server_content={"generation_complete": True}))
    m.closed(1, DROP)
    assert m.state is State.BACKING_OFF
    return wait_out(m)


# Each walk drives a fresh machine through its public inputs only.
WALKS: list[tuple[Policy, HandleStore | None, Steps]] = [
    # start with a stored handle, open, close
    (Policy(), stored(), lambda m: (m.start(), m.opened(1), m.close())),
    # connect, fail, back off, connect again, give up on a fatal error, close
    (
        Policy(),
        None,
        lambda m: (
            m.start(),
            m.failed(1, DROP),
            wait_out(m),
            m.failed(2, FATAL),
            m.close(),
        ),
    ),
    # close while connecting
    (Policy(), None, lambda m: (m.start(), m.close())),
    # resume fails, back off, resume again, the handle is refused: a new session
    (
        Policy(),
        stored(),
        lambda m: (m.start(), m.failed(1, DROP), wait_out(m), m.failed(2, EXPIRED)),
    ),
    # a refused handle with give_up
    (Policy(on_rejected_handle="give_up"), stored(), lambda m: (m.start(), m.failed(1, EXPIRED))),
    # close while resuming
    (Policy(), stored(), lambda m: (m.start(), m.close())),
    # a drop with a handle resumes; close while live
    (
        Policy(stable_after=0),
        None,
        lambda m: (answered(m), m.closed(1, DROP), m.opened(2), m.close()),
    ),
    # a drop before any handle connects anew
    (Policy(stable_after=0), None, lambda m: (live(m), m.closed(1, DROP))),
    # a live connection whose handle is refused: a new session, or giving up
    (Policy(stable_after=0), None, rejected_while_live),
    (Policy(on_rejected_handle="give_up", stable_after=0), None, rejected_while_live),
    # a drop right after setup backs off; close while backing off
    (Policy(stable_after=5), None, lambda m: (live(m), m.closed(1, DROP), m.close())),
    # goaway mid-turn drains; the turn ends and the fresh handle resumes
    (
        Policy(),
        None,
        lambda m: (
            mid_turn_goaway(m),
            m.server_message(1, TURN_COMPLETE),
            m.server_message(1, handle("h1")),
        ),
    ),
    # goaway before any handle: drain, then connect anew at once
    (Policy(), None, lambda m: (live(m), m.server_message(1, msg(go_away={"time_left": "10s"})))),
    # close while draining
    (Policy(), None, lambda m: (mid_turn_goaway(m), m.close())),
    # 3.1: a handle that lacks answers means a new session, when draining or backing off ends
    (Policy(), None, stale_handle_at_the_goaway_deadline),
    (Policy(stable_after=10), None, stale_handle_after_a_backoff),
]


def walk(
    policy: Policy, store: HandleStore | None, steps: Steps, caplog: pytest.LogCaptureFixture
) -> set[Move]:
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="relive.session"):
        steps(make(policy=policy, store=store)[0])
    moves = set()
    for record in caplog.records:
        if found := MOVE.fullmatch(record.getMessage()):
            before, after, trigger = found.groups()
            moves.add((State(before), Trigger(trigger), State(after)))
    return moves


def test_the_walks_make_every_move_in_the_table_and_no_other(
    caplog: pytest.LogCaptureFixture,
) -> None:
    made: set[Move] = set()
    for policy, store, steps in WALKS:
        made |= walk(policy, store, steps, caplog)
    table = {
        (state, trigger, target)
        for state, moves in EVENT_TRIGGERED_TRANSITIONS.items()
        for trigger, target in moves.items()
    }
    assert made <= table
    assert table - made == set()


def test_every_move_is_logged_with_its_trigger(caplog: pytest.LogCaptureFixture) -> None:
    m, _ = make()
    with caplog.at_level(logging.DEBUG, logger="relive.session"):
        live(m)
        m.close()
    assert caplog.messages[-2:] == [
        "session o/text: connecting -> live (opened)",
        "session o/text: live -> closed (close)",
    ]
