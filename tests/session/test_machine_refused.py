"""The machine when the server will not resume: the silent-drop lock-out, the goAway deadline
close, and the 3.x models that take no history mid-session. ManualClock, no sockets."""

from __future__ import annotations

from relive import Connected, GaveUp, ManualClock, NewSession, Policy, Reconnecting, Resumed, State
from relive.session._failures import Failure
from relive.session._machine import SessionMachine
from relive.session._models import GEMINI_31, GEMINI_38
from relive.session._states import Action, Connect
from tests.session.test_machine import (
    DROP,
    answer,
    emitted,
    handle,
    history_texts,
    live,
    make,
    msg,
    say,
    sent_texts,
    text_chunk,
)

# What the real service answers a resumption while it still holds the old connection.
HELD = Failure("Internal error encountered.", code=1011)
GOAWAY_CLOSE = Failure(
    "Connection aborted because the client failed to close the connection after receiving a "
    "GoAway signal once the session durat",
    code=1008,
)


def answered_then_dropped(m: SessionMachine) -> None:
    """One answered exchange with its handle, a second turn sent, then a silent drop."""
    live(m)
    say(m, "one")
    sent_texts(m)
    answer(m, "You said: one.", "h1")
    say(m, "two")
    sent_texts(m)
    assert Connect(2, "h1") in m.closed(1, DROP)


def refuse_until_it_gives_in(m: SessionMachine, clock: ManualClock) -> tuple[list[Action], float]:
    """Refuse every resumption (1011) until the machine stops asking; returns its last actions."""
    start = clock.now()
    acts = m.failed(m.conn_id, HELD)
    while not emitted(acts):
        assert m.state is State.BACKING_OFF and m.deadline is not None
        clock.set(m.deadline)
        (connect,) = m.timer()
        assert connect == Connect(m.conn_id, "h1")
        acts = m.failed(m.conn_id, HELD)
    return acts, clock.now() - start


def test_a_resumption_refused_for_too_long_starts_a_seeded_new_session() -> None:
    m, clock = make(mode="call", policy=Policy(stable_after=0, resume_refused_for=10))
    answered_then_dropped(m)
    acts, waited = refuse_until_it_gives_in(m, clock)
    (notice,) = emitted(acts)
    assert isinstance(notice, NewSession) and notice.seeded
    assert notice.notice == "The call could not be resumed, so a new one was started."
    assert "refused to resume" in notice.reason and "1011" in notice.reason
    assert 10 <= waited < 10 + Policy().backoff_max  # bounded: not the server's 15 minutes
    assert Connect(m.conn_id, None) in acts and m.handle is None
    # The transcript is kept; the new session gets it as history, then the unanswered turn.
    assert [t.text for t in m.transcript.turns] == ["one", "You said: one.", "two"]
    assert emitted(m.opened(m.conn_id)) == [Connected(resumed=False)]
    assert history_texts(m.take_history(m.conn_id)) == [
        ("user", "one"),
        ("model", "You said: one."),
    ]
    assert sent_texts(m) == ["two"]
    assert m.metrics.new_sessions == 1 and m.metrics.rejected_handles == 0


def test_a_refusal_that_clears_is_an_ordinary_resume() -> None:
    m, clock = make(policy=Policy(stable_after=0, resume_refused_for=10))
    answered_then_dropped(m)
    m.failed(2, HELD)  # the old connection's close had not reached the server yet
    clock.set(m.deadline or 0)
    assert m.timer() == [Connect(3, "h1")]
    evs = emitted(m.opened(3))
    assert evs[0] == Connected(resumed=True, history=evs[0].history)  # type: ignore[union-attr]
    assert isinstance(evs[1], Resumed)
    assert sent_texts(m) == ["two"] and m.metrics.new_sessions == 0


def test_refusals_after_setup_complete_count_too() -> None:
    # Seen with a handle of another model: setupComplete, then 1011.
    m, clock = make(policy=Policy(stable_after=0, resume_refused_for=3))
    answered_then_dropped(m)
    while True:
        m.opened(m.conn_id)
        acts = m.closed(m.conn_id, HELD)
        if emitted(acts):
            break
        assert m.state is State.BACKING_OFF and m.deadline is not None
        clock.set(m.deadline)
        m.timer()
    (notice,) = emitted(acts)
    assert isinstance(notice, NewSession) and notice.seeded and clock.now() >= 3


def test_a_refused_resumption_gives_up_when_the_policy_says_so() -> None:
    policy = Policy(stable_after=0, resume_refused_for=5, on_rejected_handle="give_up")
    m, clock = make(policy=policy)
    answered_then_dropped(m)
    acts, _ = refuse_until_it_gives_in(m, clock)
    (gave_up,) = emitted(acts)
    assert isinstance(gave_up, GaveUp) and "refused to resume" in gave_up.reason
    assert [u.text for u in gave_up.undelivered] == ["two"]


def test_the_goaway_deadline_close_1008_is_a_reconnect() -> None:
    m, _ = make()
    live(m)
    say(m, "one")
    sent_texts(m)
    answer(m, "a1", "h1")
    say(m, "two")  # the model is busy with it when the deadline comes
    sent_texts(m)
    m.server_message(1, msg(go_away={"time_left": "50s"}))
    assert m.state is State.DRAINING
    acts = m.closed(1, GOAWAY_CLOSE)
    assert Connect(2, "h1") in acts and not any(
        isinstance(e, GaveUp | NewSession) for e in emitted(acts)
    )
    m.opened(2)
    assert sent_texts(m) == ["two"]


def test_the_goaway_close_on_a_connection_never_drained_is_a_drop() -> None:
    m, _ = make()
    live(m)
    m.server_message(1, handle("h1"))
    acts = m.closed(1, GOAWAY_CLOSE)
    assert Connect(2, "h1") in acts
    assert [type(e) for e in emitted(acts)] == [Reconnecting]


def test_on_3_8_a_live_handle_resumes_without_history() -> None:
    # 3.8: one handle, right after setup, naming the latest state; no clientContent restore.
    m, _ = make()
    m.rules = GEMINI_38
    live(m)
    m.server_message(1, handle("h1"))
    say(m, "one")
    sent_texts(m)
    answer(m, "You said: one.", None)  # no handle follows a turn on 3.8
    assert m.state is State.LIVE
    m.server_message(1, msg(go_away={"time_left": "50s"}))
    assert m.conn_id == 2 and m.state.value == "resuming"  # safe at once: the handle is live
    m.opened(2)
    assert m.take_history(2) == [] and m.metrics.restored_exchanges == 0
    assert sent_texts(m) == []  # answered: not asked again either
    assert m.metrics.new_sessions == 0


def answered_without_handle_on_3_1(m: SessionMachine) -> None:
    m.rules = GEMINI_31
    live(m)
    say(m, "one")
    sent_texts(m)
    m.server_message(1, handle("h1"))  # 3.1: a handle while input streams, before the answer
    answer(m, "You said: one.", None)  # and none after it (idle)


def test_on_3_1_a_drop_after_an_answer_the_handle_lacks_starts_a_seeded_session() -> None:
    m, _ = make()
    answered_without_handle_on_3_1(m)
    say(m, "two")  # not sent yet: the connection drops first
    acts = m.closed(1, DROP)
    notice = [e for e in emitted(acts) if isinstance(e, NewSession)]
    assert notice and notice[0].seeded and "predates answers" in notice[0].reason
    assert Connect(2, None) in acts and m.handle is None
    m.opened(2)
    assert history_texts(m.take_history(2)) == [("user", "one"), ("model", "You said: one.")]
    assert sent_texts(m) == ["two"]


def test_on_3_1_a_drop_the_handle_covers_resumes() -> None:
    m, _ = make()
    answered_without_handle_on_3_1(m)
    say(m, "two")
    sent_texts(m)
    m.server_message(1, handle("h2"))  # came with the new input: it holds the first exchange
    acts = m.closed(1, DROP)
    assert Connect(2, "h2") in acts and not any(isinstance(e, NewSession) for e in emitted(acts))
    m.opened(2)
    assert m.take_history(2) == [] and sent_texts(m) == ["two"]


def test_on_3_1_an_outage_ending_with_a_stale_handle_starts_a_seeded_session() -> None:
    m, clock = make(policy=Policy(stable_after=10))
    m.rules = GEMINI_31
    live(m)
    say(m, "one")
    sent_texts(m)
    m.server_message(1, handle("h1"))
    m.server_message(1, text_chunk("You said: one."))
    m.server_message(1, msg(server_content={"generation_complete": True}))
    m.closed(1, DROP)  # before turnComplete, soon after setup: part of an outage, backs off
    assert m.state is State.BACKING_OFF
    clock.set(m.deadline or 0)
    acts = m.timer()
    assert Connect(2, None) in acts
    assert [type(e) for e in emitted(acts)] == [NewSession]


def test_a_seed_leaves_out_unanswered_turns_and_keeps_a_summary() -> None:
    m, clock = make(policy=Policy(stable_after=0, resume_refused_for=0))
    m.transcript.restore([], summary="weather in Paris", folded=4)
    answered_then_dropped(m)
    acts = m.failed(2, HELD)
    assert isinstance(emitted(acts)[0], NewSession)
    m.opened(3)
    history = history_texts(m.take_history(3))
    assert history[0] == ("user", "(Earlier in this conversation: weather in Paris)")
    assert history[1:] == [("user", "one"), ("model", "You said: one.")]
    assert m.take_history(3) == []  # once
    assert clock.now() == 0


def test_a_seed_waits_for_the_fresh_connection_that_comes_up() -> None:
    m, clock = make(policy=Policy(stable_after=0, resume_refused_for=0))
    answered_then_dropped(m)
    m.failed(2, HELD)  # seeded new session: connection 3, no handle
    m.failed(3, Failure("network error: refused"))
    assert m.restore.seed_pending and m.state is State.BACKING_OFF
    clock.set(m.deadline or 0)
    assert m.timer() == [Connect(4, None)]
    m.opened(4)
    assert [r for r, _ in history_texts(m.take_history(4))] == ["user", "model"]
    assert not m.restore.seed_pending


def test_a_goaway_far_ahead_keeps_the_connection_live_until_the_drain_window() -> None:
    # gemini-3.8-live: goAway "300s" about a second into every connection.
    m, clock = make(policy=Policy(stable_after=0, goaway_drain_window=60))
    live(m)
    m.server_message(1, handle("h1"))
    clock.advance(1)
    assert emitted(m.server_message(1, msg(go_away={"time_left": "300s"})))[1:] == []
    assert m.state is State.LIVE and m.deadline == 241
    say(m, "one")
    assert sent_texts(m) == ["one"]  # input still flows: no reconnect loop, nothing held
    clock.set(100)
    assert m.timer() == []
    m.server_message(1, msg(go_away={"time_left": "120s"}))  # a second, nearer one wins
    assert m.deadline == 160
    clock.set(160)
    evs = emitted(m.timer())
    assert isinstance(evs[0], Reconnecting) and evs[0].cause == "goaway"
    assert m.state.value == "draining"  # mid-turn: waits for the answer and its handle
    answer(m, "a1", "h2")
    assert m.state.value == "resuming" and m.conn_id == 2 and m.handle == "h2"


def test_a_goaway_far_ahead_on_an_idle_connection_reconnects_at_the_window() -> None:
    m, clock = make(policy=Policy(stable_after=0, goaway_drain_window=60))
    live(m)
    m.server_message(1, handle("h1"))
    m.server_message(1, msg(go_away={"time_left": "300s"}))
    clock.set(240)
    acts = m.timer()
    assert [type(e) for e in emitted(acts)] == [Reconnecting]
    assert Connect(2, "h1") in acts and m.metrics.reconnects["goaway"] == 1


def test_the_3_1_idle_abort_of_a_resumed_connection_is_a_reconnect() -> None:
    m, clock = make()
    live(m)
    m.server_message(1, handle("h1"))
    m.closed(1, DROP)
    m.opened(2)  # resumed; then nothing for ~160 s: no input, no handles (3.1 is idle)
    clock.advance(160)
    acts = m.closed(2, Failure("The operation was aborted.", code=1008))
    assert Connect(3, "h1") in acts and m.metrics.new_sessions == 0
    assert [type(e) for e in emitted(acts)] == [Reconnecting]


def test_a_seed_leaves_out_a_turn_cut_mid_answer_and_its_partial_answer() -> None:
    m, _ = make()
    m.rules = GEMINI_31
    live(m)
    say(m, "one")
    sent_texts(m)
    m.server_message(1, handle("h1"))
    answer(m, "You said: one.", None)
    say(m, "long one")
    sent_texts(m)
    m.server_message(1, text_chunk("You said: lo"))  # cut here
    acts = m.closed(1, DROP)
    assert any(isinstance(e, NewSession) and e.seeded for e in emitted(acts))
    m.opened(2)
    assert history_texts(m.take_history(2)) == [("user", "one"), ("model", "You said: one.")]
    assert sent_texts(m) == ["long one"]
