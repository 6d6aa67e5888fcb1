"""The session machine on its own: a ManualClock, a seeded random, no sockets."""

from __future__ import annotations

import random

import pytest
from google.genai import types

from relive import (
    BufferFullError,
    Connected,
    Event,
    GaveUp,
    GenerationComplete,
    HandleStore,
    IllegalTransitionError,
    ManualClock,
    Mode,
    NewSession,
    Policy,
    Reconnecting,
    ReplyCut,
    Resumed,
    ServerMessage,
    SessionClosedError,
    State,
    Transcript,
    TurnComplete,
)
from relive.session import _inputs as inputs
from relive.session._failures import Failure
from relive.session._handles import redact
from relive.session._machine import SessionMachine
from relive.session._states import Action, Connect, Disconnect, Emit, Trigger, parse_duration

DROP = Failure("Abnormal closure.", code=1006)


def make(
    mode: Mode = "text", policy: Policy | None = None, store: HandleStore | None = None
) -> tuple[SessionMachine, ManualClock]:
    clock = ManualClock()
    m = SessionMachine(
        mode=mode,
        owner="o",
        handles=store if store is not None else HandleStore(),
        policy=policy or Policy(stable_after=0),
        clock=clock,
        rng=random.Random(7),
    )
    return m, clock


def emitted(actions: list[Action]) -> list[Event]:
    return [a.event for a in actions if isinstance(a, Emit)]


def msg(**kw: object) -> types.LiveServerMessage:
    return types.LiveServerMessage.model_validate(kw)


def text_chunk(text: str) -> types.LiveServerMessage:
    return msg(server_content={"model_turn": {"parts": [{"text": text}]}})


def done() -> list[types.LiveServerMessage]:
    return [
        msg(server_content={"generation_complete": True}),
        msg(server_content={"turn_complete": True}),
    ]


def handle(h: str, resumable: bool = True) -> types.LiveServerMessage:
    return msg(session_resumption_update={"new_handle": h, "resumable": resumable})


def live(m: SessionMachine) -> list[Action]:
    acts = m.start()
    assert acts == [Connect(1, None)]
    return m.opened(1)


def say(m: SessionMachine, text: str) -> None:
    m.submit(inputs.client_content({"role": "user", "parts": [{"text": text}]}, True))


def sent_texts(m: SessionMachine) -> list[str]:
    out = []
    while (e := m.take_next(m.conn_id)) is not None:
        out.append(e.text)
    return out


def answer(m: SessionMachine, text: str, h: str | None) -> list[Event]:
    out: list[Action] = []
    for x in [text_chunk(text), *done()]:
        out += m.server_message(m.conn_id, x)
    if h:
        out += m.server_message(m.conn_id, handle(h))
    return emitted(out)


def test_first_connect_then_messages_in_order() -> None:
    m, _ = make()
    assert emitted(live(m)) == [Connected(resumed=False)]
    say(m, "one")
    say(m, "two")
    assert sent_texts(m) == ["one", "two"]
    evs = answer(m, "ans one", "h1")
    assert [type(e) for e in evs] == [
        ServerMessage,
        ServerMessage,
        GenerationComplete,
        ServerMessage,
        TurnComplete,
        ServerMessage,
    ]
    assert m.handle == "h1"


def test_unresumable_handle_is_ignored() -> None:
    m, _ = make()
    live(m)
    m.server_message(1, handle("", resumable=False))
    m.server_message(1, handle("mid", resumable=False))
    assert m.handle is None


def test_drop_mid_turn_replays_the_unanswered_turn_once() -> None:
    m, clock = make()
    live(m)
    say(m, "one")
    sent_texts(m)
    answer(m, "You said one", "h1")
    say(m, "two")
    assert sent_texts(m) == ["two"]
    m.server_message(1, text_chunk("You said t"))
    clock.advance(1)
    acts = m.closed(1, DROP)
    assert acts[1:] == [Disconnect(1), Connect(2, "h1")]
    (rec,) = emitted(acts)
    assert isinstance(rec, Reconnecting) and rec.cause == "drop" and "1006" in rec.reason
    assert m.state is State.RESUMING
    assert m.take_next(2) is None  # nothing goes out before the connection is up
    clock.advance(0.25)
    evs = emitted(m.opened(2))
    assert isinstance(evs[0], Connected) and evs[0].resumed and evs[0].history is not None
    assert evs[1] == Resumed(downtime_s=0.25, replayed=1)
    # once, before the new reply: "You said t", the transcript's turn 3, is void
    assert evs[2:] == [ReplyCut(turn=3)]
    assert sent_texts(m) == ["two"]
    answer(m, "You said two", "h2")
    turns = [(t.role, t.text, t.interrupted) for t in m.transcript.turns]
    assert turns == [
        ("user", "one", False),
        ("model", "You said one", False),
        ("user", "two", False),
        ("model", "You said t", True),
        ("model", "You said two", False),
    ]
    assert m.metrics.replayed == 1 and m.metrics.reconnects["drop"] == 1


def test_answered_turn_is_never_replayed_even_if_the_handle_predates_it() -> None:
    m, _ = make()
    live(m)
    say(m, "one")
    sent_texts(m)
    answer(m, "a1", "h1")
    say(m, "two")
    sent_texts(m)
    answer(m, "a2", None)  # dropped before the handle for turn two came
    m.closed(1, DROP)
    m.opened(2)
    assert sent_texts(m) == []


def test_goaway_when_idle_reconnects_at_once_closing_the_old_connection_first() -> None:
    m, clock = make()
    live(m)
    say(m, "one")
    sent_texts(m)
    answer(m, "a1", "h1")
    acts = m.server_message(1, msg(go_away={"time_left": "10s"}))
    evs = emitted(acts)
    assert isinstance(evs[1], Reconnecting) and evs[1].cause == "goaway"
    assert evs[1].deadline == pytest.approx(clock.now() + 10)
    assert [a for a in acts if not isinstance(a, Emit)] == [Disconnect(1), Connect(2, "h1")]
    m.opened(2)
    assert sent_texts(m) == []


def test_goaway_mid_turn_waits_for_turn_and_fresh_handle() -> None:
    m, _ = make()
    live(m)
    say(m, "one")
    sent_texts(m)
    m.server_message(1, text_chunk("a"))
    m.server_message(1, msg(go_away={"time_left": "10s"}))
    assert m.state is State.DRAINING
    say(m, "two")  # held: not sent on a connection about to go
    assert m.take_next(1) is None
    for x in done():
        assert not any(isinstance(a, Connect) for a in m.server_message(1, x))
    acts = m.server_message(1, handle("h1"))
    assert [a for a in acts if not isinstance(a, Emit)] == [Disconnect(1), Connect(2, "h1")]
    m.opened(2)
    assert sent_texts(m) == ["two"]
    assert m.metrics.buffered == 1 and m.metrics.replayed == 0


def test_goaway_without_time_for_a_safe_point_reconnects_before_the_deadline() -> None:
    m, clock = make(policy=Policy(goaway_margin=2.0))
    live(m)
    say(m, "zero")
    sent_texts(m)
    answer(m, "a0", "h0")
    say(m, "one")
    sent_texts(m)
    m.server_message(1, text_chunk("partial"))
    m.server_message(1, msg(go_away={"time_left": "3s"}))
    assert m.deadline == pytest.approx(1.5)  # margin capped at half the time left
    clock.advance(1.0)
    assert m.timer() == []
    clock.advance(0.5)
    acts = m.timer()
    assert [a for a in acts if not isinstance(a, Emit)] == [Disconnect(1), Connect(2, "h0")]
    assert m.metrics.reconnects["deadline"] == 1
    m.opened(2)
    assert sent_texts(m) == ["one"]


def test_server_close_while_draining_reconnects() -> None:
    m, _ = make()
    live(m)
    say(m, "one")
    sent_texts(m)
    m.server_message(1, handle("h0"))
    m.server_message(1, msg(go_away={}))
    assert m.state is State.DRAINING
    acts = m.closed(1, Failure("Deadline expired", code=1011))
    assert Connect(2, "h0") in acts


def test_backoff_grows_with_jitter_is_capped_then_gives_up_listing_undelivered() -> None:
    policy = Policy(backoff_initial=1, backoff_multiplier=2, backoff_max=4, give_up_after=20)
    m, clock = make(policy=policy)
    live(m)
    say(m, "one")
    sent_texts(m)
    m.server_message(1, handle("h0", resumable=True))
    m.closed(1, DROP)
    delays = []
    while True:
        acts = m.failed(m.conn_id, Failure("refused", code=None))
        if acts:
            break
        assert m.state is State.BACKING_OFF and m.deadline is not None
        delay = m.deadline - clock.now()
        delays.append(delay)
        clock.set(m.deadline)
        assert isinstance(m.timer()[0], Connect)
    caps = [1, 2, 4, 4, 4, 4, 4, 4]
    for d, cap in zip(delays, caps, strict=False):
        assert cap / 2 <= d <= cap
    assert clock.now() <= 20
    (gave_up,) = emitted(acts)
    assert isinstance(gave_up, GaveUp) and "20s" in gave_up.reason
    assert [u.text for u in gave_up.undelivered] == ["one"]
    assert m.state is State.FAILED
    with pytest.raises(SessionClosedError):
        say(m, "late")


@pytest.mark.parametrize(
    "failure",
    [
        Failure("resumption handle expired", code=1008),
        Failure("invalid handle", code=1007),
        Failure("Resumption refused for this session", code=1000),
    ],
)
def test_rejected_handle_starts_a_new_session_with_a_notice(failure: Failure) -> None:
    m, _ = make(mode="call")
    live(m)
    say(m, "one")
    sent_texts(m)
    answer(m, "a1", "h1")
    say(m, "two")
    sent_texts(m)
    m.closed(1, DROP)
    acts = m.failed(2, failure)
    evs = emitted(acts)
    assert isinstance(evs[0], NewSession)
    assert evs[0].notice == "The call could not be resumed, so a new one was started."
    assert Connect(3, None) in acts and m.handle is None
    assert [(t.role, t.text) for t in m.transcript.turns] == [("user", "two")]
    assert emitted(m.opened(3)) == [Connected(resumed=False)]
    assert sent_texts(m) == ["two"]
    assert m.metrics.new_sessions == 1 and m.metrics.rejected_handles == 1


def test_rejection_right_after_setup_counts_as_rejected() -> None:
    m, _ = make()
    live(m)
    m.server_message(1, handle("h1"))
    m.closed(1, DROP)
    m.opened(2)
    acts = m.closed(2, Failure("session not found", code=1008))
    assert isinstance(emitted(acts)[0], NewSession)


def test_text_mode_can_be_told_to_give_up_on_rejection() -> None:
    m, _ = make(policy=Policy(on_rejected_handle="give_up", stable_after=0))
    live(m)
    m.server_message(1, handle("h1"))
    m.closed(1, DROP)
    assert isinstance(emitted(m.failed(2, Failure("expired", code=1008)))[0], GaveUp)


def test_bad_key_is_fatal_at_once() -> None:
    m, _ = make()
    m.start()
    (gave_up,) = emitted(m.failed(1, Failure("API key not valid", code=1008)))
    assert isinstance(gave_up, GaveUp) and "API key" in gave_up.reason


def test_a_handle_in_the_store_is_resumed_at_start() -> None:
    store = HandleStore()
    store.put("o", "text", "old")
    m, _ = make(store=store)
    assert m.start() == [Connect(1, "old")]
    assert m.state is State.RESUMING


def test_buffer_bound_drops_oldest_media_and_refuses_text() -> None:
    m, _ = make(policy=Policy(max_buffered=3))
    m.start()
    blob = types.Blob(data=b"\0" * 10, mime_type="audio/pcm;rate=16000")
    for _ in range(3):
        m.submit(inputs.realtime_input({"audio": blob}))
    m.submit(inputs.realtime_input({"audio": blob}))
    assert m.metrics.dropped_from_buffer == 1 and len(m.journal) == 3
    m2, _ = make(policy=Policy(max_buffered=2))
    m2.start()
    say(m2, "a")
    say(m2, "b")
    with pytest.raises(BufferFullError):
        say(m2, "c")


def test_last_consumed_index_settles_exactly() -> None:
    m, _ = make()
    live(m)
    for t in ["a", "b", "c"]:
        m.submit(inputs.realtime_input({"text": t}))
    sent_texts(m)
    m.server_message(1, msg(session_resumption_update={"last_consumed_client_message_index": "2"}))
    m.closed(1, DROP)
    m.opened(2)
    assert sent_texts(m) == ["c"]


def test_tool_responses_are_not_replayed() -> None:
    m, _ = make()
    live(m)
    m.server_message(1, handle("h0"))
    say(m, "weather?")
    sent_texts(m)
    m.server_message(1, msg(tool_call={"function_calls": [{"id": "c1", "name": "w"}]}))
    m.submit(inputs.tool_response({"id": "c1", "name": "w", "response": {"t": 1}}))
    assert [e.kind for e in [m.take_next(1)] if e] == ["tool_response"]
    m.closed(1, DROP)
    m.opened(2)
    assert sent_texts(m) == ["weather?"]


def test_state_table_and_closing() -> None:
    m, _ = make()
    with pytest.raises(IllegalTransitionError):
        m._go(Trigger.GOAWAY)
    live(m)
    assert m.close() == [Disconnect(1)]
    assert m.close() == []
    assert m.state is State.CLOSED
    assert m.closed(1, DROP) == []  # a drop after close changes nothing
    assert m.state is State.CLOSED
    with pytest.raises(SessionClosedError):
        say(m, "x")


def test_stale_connection_reports_are_ignored() -> None:
    m, _ = make()
    live(m)
    m.server_message(1, handle("h"))
    m.closed(1, DROP)
    assert m.closed(1, DROP) == []
    assert m.server_message(1, text_chunk("late")) == []


def test_handle_store_is_per_owner_and_mode_and_redacts() -> None:
    s = HandleStore()
    s.put("page-1", "call", "secret-handle-abc")
    s.put("page-1", "text", "other")
    assert s.get("page-1", "call") == "secret-handle-abc"
    assert s.get("page-2", "call") is None
    assert "secret" not in repr(s) and "other" not in repr(s)
    assert redact("secret-handle-abc").startswith("<handle #")
    s.forget("page-1", "call")
    assert s.get("page-1", "call") is None
    with pytest.raises(ValueError):
        s.put("a", "b", "")


def test_parse_duration() -> None:
    assert parse_duration("10s") == 10
    assert parse_duration("9.5s") == 9.5
    assert parse_duration(None) is None
    assert parse_duration("soon") is None


def test_invalid_inputs_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        inputs.realtime_input({"text": "a", "audio_stream_end": True})
    with pytest.raises(TypeError):
        inputs.realtime_input({"bogus": 1})
    with pytest.raises(ValueError, match="invalid realtime input"):
        inputs.realtime_input({"audio": {"data": 42}})  # not a Blob: checked in full
    with pytest.raises(ValueError, match="invalid realtime input"):
        inputs.realtime_input({"activity_start": "now"})
    blob = types.Blob(data=b"\0\0", mime_type="audio/pcm;rate=16000")  # validated when built
    assert inputs.realtime_input({"audio": blob}).kwargs == {"audio": blob}
    with pytest.raises(ValueError, match="id"):
        inputs.tool_response({"name": "w", "response": {}})
    with pytest.raises(TypeError):
        inputs.client_content(42, True)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Policy(on_rejected_handle="maybe")  # type: ignore[arg-type]


def test_a_turn_is_answered_at_generation_complete_even_if_turn_complete_never_comes() -> None:
    m, _ = make(mode="call")
    live(m)
    m.server_message(1, handle("h0"))
    say(m, "one")
    sent_texts(m)
    m.server_message(1, text_chunk("You said one"))
    m.server_message(1, msg(server_content={"generation_complete": True}))
    assert not m.generating  # done producing, though turnComplete has not come
    m.closed(1, DROP)  # turnComplete trails audio playback; the connection went first
    m.opened(2)
    assert sent_texts(m) == []  # not asked twice
    assert [(t.role, t.interrupted) for t in m.transcript.turns] == [
        ("user", False),
        ("model", False),
    ]
    m.server_message(2, msg(server_content={"turn_complete": True}))  # a stray one is harmless
    assert m.journal.unanswered_turns == 0


def test_a_turn_sent_in_parts_is_replayed_whole() -> None:
    m, _ = make()
    live(m)
    m.submit(inputs.client_content({"role": "user", "parts": [{"text": "a"}]}, False))
    sent_texts(m)
    m.server_message(1, handle("h1"))  # idle handle: must not settle the open turn
    m.submit(inputs.client_content({"role": "user", "parts": [{"text": "b"}]}, True))
    sent_texts(m)
    m.closed(1, DROP)
    m.opened(2)
    assert sent_texts(m) == ["a", "b"]
    assert [t.text for t in m.transcript.turns] == ["a b"]


def test_delivered_media_is_forgotten_before_undelivered_media_is_dropped() -> None:
    m, _ = make(policy=Policy(max_buffered=3))
    live(m)
    blob = types.Blob(data=b"\0" * 10, mime_type="audio/pcm;rate=16000")
    for _ in range(2):
        m.submit(inputs.realtime_input({"audio": blob}))
    assert m.take_next(1) is not None  # one delivered
    for _ in range(2):
        m.submit(inputs.realtime_input({"audio": blob}))
    assert m.metrics.dropped_from_buffer == 0 and len(m.journal) == 3
    m.submit(inputs.realtime_input({"audio": blob}))
    assert m.metrics.dropped_from_buffer == 1


def test_replayed_media_is_capped_newest_first() -> None:
    m, _ = make(policy=Policy(max_replay_media_bytes=100, stable_after=0))
    live(m)
    m.server_message(1, handle("h0"))
    blob = types.Blob(data=b"\0" * 34, mime_type="audio/pcm;rate=16000")  # 50 bytes an entry
    for _ in range(5):
        m.submit(inputs.realtime_input({"audio": blob}))
    indices = [e.index for e in iter(lambda: m.take_next(1), None)]
    m.closed(1, DROP)
    m.opened(2)
    assert [e.index for e in iter(lambda: m.take_next(2), None)] == indices[-2:]


def test_speech_after_the_answer_began_is_not_settled_by_that_answer() -> None:
    m, _ = make(mode="call")
    live(m)
    m.server_message(1, handle("h0"))
    blob = types.Blob(data=b"\1" * 10, mime_type="audio/pcm;rate=16000")
    m.submit(inputs.realtime_input({"audio": blob}))  # the question
    first = m.take_next(1)
    m.server_message(1, text_chunk("answer"))  # the model starts answering
    m.submit(inputs.realtime_input({"audio": blob}))  # the user speaks again meanwhile
    second = m.take_next(1)
    for x in done():
        m.server_message(1, x)
    m.closed(1, DROP)  # before the handle for the answer came
    m.opened(2)
    assert first is not None and second is not None
    assert [e.index for e in iter(lambda: m.take_next(2), None)] == [second.index]


def test_a_connection_that_drops_right_after_setup_backs_off_then_gives_up() -> None:
    policy = Policy(stable_after=2, backoff_initial=1, backoff_max=1, give_up_after=5)
    m, clock = make(policy=policy)
    live(m)
    m.server_message(1, handle("h0"))
    clock.advance(10)
    acts = m.closed(1, DROP)  # a proven connection: reconnect at once
    assert Connect(2, "h0") in acts
    flaps = 0
    for _ in range(20):
        m.opened(m.conn_id)
        clock.advance(0.1)
        acts = m.closed(m.conn_id, DROP)  # accepted, then dropped at once: same outage
        if any(isinstance(e, GaveUp) for e in emitted(acts)):
            break
        assert not any(isinstance(a, Connect) for a in acts)
        assert m.state is State.BACKING_OFF
        clock.set(m.deadline or 0)
        assert isinstance(m.timer()[0], Connect)
        flaps += 1
    assert 3 <= flaps <= 10
    assert isinstance(emitted(acts)[-1], GaveUp)


def test_a_completed_turn_ends_the_outage() -> None:
    m, _ = make(policy=Policy(stable_after=100))
    live(m)
    m.server_message(1, handle("h0"))
    say(m, "one")
    sent_texts(m)
    answer(m, "a1", "h1")
    assert Connect(2, "h1") in m.closed(1, DROP)


def test_a_refused_entry_is_forgotten_and_not_awaited() -> None:
    m, _ = make()
    live(m)
    say(m, "one")
    entry = m.take_next(1)
    assert entry is not None and m.generating
    m.journal.discard(entry.index)
    assert not m.generating and len(m.journal) == 0


def test_history_prefill_is_never_resent_into_a_resumed_session() -> None:
    m, clock = make(mode="call")
    live(m)
    history = [
        types.Content(role="user", parts=[types.Part(text="earlier question")]),
        types.Content(role="model", parts=[types.Part(text="earlier answer")]),
    ]
    m.submit(inputs.client_content(history, False))  # context, no answer wanted
    sent_texts(m)
    clock.advance(1.0)  # long enough to have arrived before the next handle was issued
    m.server_message(1, handle("h1"))  # the snapshot holds it
    m.closed(1, DROP)
    m.opened(2)
    assert sent_texts(m) == []
    say(m, "new question")
    assert [t.text for t in m.transcript.turns] == ["new question"]


def test_gave_up_lists_a_run_of_audio_as_one_item() -> None:
    m, _ = make(policy=Policy(give_up_after=0.1, backoff_initial=1))
    m.start()
    blob = types.Blob(data=b"\0" * 100, mime_type="audio/pcm;rate=16000")
    for _ in range(50):
        m.submit(inputs.realtime_input({"audio": blob}))
    say(m, "hello?")
    (gave_up,) = emitted(m.failed(1, Failure("refused")))
    assert isinstance(gave_up, GaveUp)
    assert [(u.kind, u.chunks) for u in gave_up.undelivered] == [
        ("realtime_input.audio", 50),
        ("client_content", 1),
    ]
    assert gave_up.undelivered[0].bytes == 50 * 116


def answer_on(m: SessionMachine, conn: int, text: str) -> None:
    for message in [text_chunk(text), *done()]:
        m.server_message(conn, message)


def history_texts(contents: list[types.Content]) -> list[tuple[str | None, str]]:
    return [(c.role, "".join(p.text or "" for p in c.parts or [])) for c in contents]


def test_an_exchange_the_handle_lacks_is_restored_as_history_until_a_handle_holds_it() -> None:
    m, _ = make()
    live(m)
    m.server_message(1, handle("h1"))
    say(m, "one")
    sent_texts(m)
    answer_on(m, 1, "You said: one.")
    # The connection ends between turnComplete and the handle that would hold the exchange.
    acts = m.closed(1, DROP)
    assert Connect(2, "h1") in acts
    m.opened(2)
    restored = [("user", "one"), ("model", "You said: one.")]
    assert history_texts(m.take_history(2)) == restored
    assert m.take_history(2) == []  # sent once per connection
    assert m.metrics.restored_exchanges == 1
    # A handle issued at setup predates the history: it does not hold it yet.
    m.server_message(2, handle("h2"))
    m.closed(2, DROP)
    m.opened(3)
    assert history_texts(m.take_history(3)) == restored
    # A turn answered after the history proves the server took it in; the next handle holds both.
    say(m, "two")
    sent_texts(m)
    answer_on(m, 3, "You said: two.")
    m.server_message(3, handle("h3"))
    m.closed(3, DROP)
    m.opened(4)
    assert m.take_history(4) == []
    assert sent_texts(m) == []  # nothing answered is sent again


def test_a_connection_lost_after_generation_complete_ends_the_turn_itself() -> None:
    m, _ = make(mode="call")
    live(m)
    m.server_message(1, handle("h1"))
    say(m, "one")
    sent_texts(m)
    m.server_message(1, text_chunk("You said: one."))
    m.server_message(1, msg(server_content={"generation_complete": True}))
    events = emitted(m.closed(1, DROP))
    assert events[0] == TurnComplete(after_cut=True)
    assert isinstance(events[1], Reconnecting)
    assert [(t.role, t.final, t.interrupted) for t in m.transcript.turns] == [
        ("user", True, False),
        ("model", True, False),
    ]
    assert not any(isinstance(e, ReplyCut) for e in emitted(m.opened(2)))  # the answer was whole
    assert sent_texts(m) == []  # answered: never asked again...
    assert history_texts(m.take_history(2))[-1] == ("model", "You said: one.")  # ...but restored


def test_a_new_session_restores_no_history() -> None:
    m, _ = make()
    live(m)
    m.server_message(1, handle("h1"))
    say(m, "one")
    sent_texts(m)
    answer_on(m, 1, "You said: one.")
    m.closed(1, DROP)
    m.failed(2, Failure("Session not found.", code=1008))
    m.opened(3)
    assert m.take_history(3) == []
    assert m.transcript.turns == []


def test_a_message_sent_just_before_a_handle_arrived_may_have_crossed_it_and_is_replayed() -> None:
    m, clock = make(mode="call", policy=Policy(stable_after=0, in_flight_margin=0.05))
    live(m)
    blob = types.Blob(data=b"\0\0" * 320, mime_type="audio/pcm;rate=16000")
    m.submit(inputs.realtime_input({"audio": blob}))
    early = m.take_next(1)
    clock.advance(0.5)
    m.submit(inputs.realtime_input({"audio": blob}))
    late = m.take_next(1)  # sent 10 ms before the handle arrives: it may be in flight
    clock.advance(0.01)
    m.server_message(1, handle("h1"))
    m.closed(1, DROP)
    m.opened(2)
    replayed = m.take_next(2)
    assert early is not None and late is not None and replayed is not None
    assert replayed.index == late.index  # the late chunk again, not the early one
    assert m.take_next(2) is None
    with pytest.raises(ValueError, match="in_flight_margin"):
        Policy(in_flight_margin=-1)


def test_a_reply_cut_then_a_refused_handle_is_announced_after_the_new_session() -> None:
    m, _ = make()
    live(m)
    say(m, "one")
    sent_texts(m)
    answer(m, "You said one", "h1")
    say(m, "two")
    sent_texts(m)
    m.server_message(1, text_chunk("You said t"))
    m.closed(1, DROP)
    acts = m.failed(2, Failure("Session not found", code=1008))
    assert isinstance(emitted(acts)[0], NewSession)
    evs = emitted(m.opened(3))
    assert [type(e) for e in evs] == [Connected, ReplyCut]
    assert evs[1] == ReplyCut(turn=None)  # the new session emptied the transcript
    assert sent_texts(m) == ["two"]
    m.server_message(3, text_chunk("You said two"))
    m.closed(3, DROP)  # cut again: announced again on the next connection
    assert ReplyCut(turn=1) in emitted(m.opened(4))  # after "two", the transcript's turn 0


def test_no_reply_cut_when_nothing_was_streaming_or_the_session_gave_up() -> None:
    m, clock = make(policy=Policy(stable_after=0, give_up_after=1))
    live(m)
    say(m, "one")
    sent_texts(m)  # sent, not yet answered: nothing of a reply was seen
    m.closed(1, DROP)
    assert not any(isinstance(e, ReplyCut) for e in emitted(m.opened(2)))
    m.server_message(2, text_chunk("You said o"))
    acts = m.closed(2, DROP)
    while m.state is not State.FAILED:
        clock.advance(5)
        acts = m.timer() or m.failed(m.conn_id, DROP)
    assert not any(isinstance(e, ReplyCut) for e in emitted(acts))


def test_a_reply_cut_names_its_turn_in_the_transcript_counting_folded_turns() -> None:
    m = SessionMachine(
        mode="text",
        owner="o",
        handles=HandleStore(),
        policy=Policy(stable_after=0),
        clock=ManualClock(),
        rng=random.Random(7),
        transcript=Transcript(max_turns=3),  # older turns fold into the summary
    )
    live(m)
    for n, word in enumerate(["one", "two"]):
        say(m, word)
        sent_texts(m)
        answer(m, f"You said {word}", f"h{n}")
    say(m, "three")
    sent_texts(m)
    m.server_message(1, text_chunk("You said th"))
    m.closed(1, DROP)
    cuts = [e for e in emitted(m.opened(2)) if isinstance(e, ReplyCut)]
    assert cuts == [ReplyCut(turn=5)]
    transcript = m.transcript
    assert transcript.earlier_count > 0
    turn = transcript.turns[5 - transcript.earlier_count]
    assert (turn.role, turn.text, turn.interrupted) == ("model", "You said th", True)
