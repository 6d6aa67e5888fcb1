"""The machine against a tiny simulated server, under thousands of random fault schedules.

No sockets and no real time: every interleaving of client turns (whole, in parts, or asking
for a tool call), tool responses, server steps, drops, goAways, refused handles and clock
jumps that hypothesis picks is played out exactly, including the narrow windows (a drop
between turnComplete and the handle after it) that socket tests rarely hit. Every user turn
must be answered exactly once, and the session must never get stuck.
RELIVE_SIM_EXAMPLES=5000 runs a longer campaign.
"""

from __future__ import annotations

import os
import random
from collections import Counter, deque
from dataclasses import dataclass, field

from google.genai import types
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relive import Event, GenerationComplete, HandleStore, ManualClock, Policy, ServerMessage, State
from relive.session import _inputs as inputs
from relive.session._failures import Failure
from relive.session._machine import SessionMachine
from relive.session._states import Action, Connect, Disconnect, Emit

HANDLE = "handle"  # a queue marker: issue a handle for the state as it is when delivered


def msg(**kw: object) -> types.LiveServerMessage:
    return types.LiveServerMessage.model_validate(kw)


@dataclass
class SimServer:
    """Sessions as snapshots: a handle restores the answered turns it was issued with."""

    handles: dict[str, list[str]] = field(default_factory=dict)
    refuse_next: bool = False
    serial: int = 0

    def issue(self, state: list[str]) -> str:
        self.serial += 1
        token = f"h{self.serial}"
        self.handles[token] = list(state)
        return token


@dataclass
class SimConn:
    conn_id: int
    state: list[str]
    queue: deque[types.LiveServerMessage | str] = field(default_factory=deque)
    waiting: deque[str] = field(default_factory=deque)
    parts: list[str] = field(default_factory=list)  # a turn sent in parts, on this connection
    busy: bool = False
    tool_wait: tuple[str, str] | None = None  # (call id, user text) of the pending tool call
    calls: int = 0

    def receive(self, text: str, complete: bool) -> None:
        self.parts.append(text)
        if complete:
            self.waiting.append(" ".join(self.parts))
            self.parts = []
            self._next()

    def receive_tool_response(self, call_id: str | None) -> None:
        if self.tool_wait is None or self.tool_wait[0] != call_id:
            return  # an answer to a call this connection never made: ignored
        text, self.tool_wait = self.tool_wait[1], None
        self._answer(text)

    def _next(self) -> None:
        if self.busy or not self.waiting:
            return
        text = self.waiting.popleft()
        self.busy = True
        self.queue.append(msg(session_resumption_update={"new_handle": "", "resumable": False}))
        if text.startswith("w"):  # asks for a tool call first
            self.calls += 1
            call_id = f"c{self.conn_id}.{self.calls}"
            self.tool_wait = (call_id, text)
            call = {"function_calls": [{"id": call_id, "name": "get_weather"}]}
            self.queue.append(msg(tool_call=call))
            return
        self._answer(text)

    def _answer(self, text: str) -> None:
        self.queue.extend(
            [
                msg(server_content={"model_turn": {"parts": [{"text": f"A:{text}"}]}}),
                msg(server_content={"generation_complete": True}),
                f"done:{text}",
                msg(server_content={"turn_complete": True}),
                HANDLE,
            ]
        )


class Harness:
    def __init__(self, seed: int) -> None:
        self.clock = ManualClock()
        self.server = SimServer()
        self.machine = SessionMachine(
            mode="call",
            owner="sim",
            handles=HandleStore(),
            policy=Policy(backoff_initial=0.1, backoff_max=0.5, give_up_after=1e9),
            clock=self.clock,
            rng=random.Random(seed),
        )
        self.conn: SimConn | None = None
        self.answers: Counter[str] = Counter()
        self._last_chunk: dict[int, str] = {}
        self.calls: list[str] = []  # tool calls seen and not answered yet
        self.apply(self.machine.start())

    def apply(self, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, Emit):
                self.observe(action.event)
            elif isinstance(action, Disconnect):
                if self.conn is not None and self.conn.conn_id == action.conn_id:
                    self.conn = None
            elif isinstance(action, Connect):
                self.conn = None
                self.connect(action)

    def connect(self, action: Connect) -> None:
        state: list[str] = []
        if action.handle is not None:
            if self.server.refuse_next or action.handle not in self.server.handles:
                self.server.refuse_next = False
                self.apply(self.machine.failed(action.conn_id, Failure("not found", code=1008)))
                return
            state = list(self.server.handles[action.handle])
        self.conn = SimConn(action.conn_id, state, deque([HANDLE]))
        self.apply(self.machine.opened(action.conn_id))

    def observe(self, event: Event) -> None:
        conn_id = self.machine.conn_id
        if isinstance(event, ServerMessage):
            if event.message.tool_call:
                self.calls += [c.id or "" for c in event.message.tool_call.function_calls or []]
            content = event.message.server_content
            if content and content.model_turn and content.model_turn.parts:
                self._last_chunk[conn_id] = content.model_turn.parts[0].text or ""
        elif isinstance(event, GenerationComplete):
            text = self._last_chunk.pop(conn_id, "")
            self.answers[text.removeprefix("A:")] += 1

    def pump(self) -> None:
        """Send what the machine wants sent."""
        while self.conn is not None:
            entry = self.machine.take_next(self.conn.conn_id)
            if entry is None:
                return
            if entry.method == "send_tool_response":
                for response in entry.kwargs["function_responses"]:
                    self.conn.receive_tool_response(response.id)
            else:
                self.conn.receive(entry.text, entry.ends_turn)

    def step(self) -> bool:
        """Deliver the next server message; False when there is none."""
        conn = self.conn
        if conn is None or not conn.queue:
            return False
        item = conn.queue.popleft()
        if isinstance(item, str) and item.startswith("done:"):
            conn.state.append(item.removeprefix("done:"))
            conn.busy = False
            conn._next()
            return True
        if item == HANDLE:
            token = self.server.issue(conn.state)
            item = msg(session_resumption_update={"new_handle": token, "resumable": True})
        assert isinstance(item, types.LiveServerMessage)
        self.apply(self.machine.server_message(conn.conn_id, item))
        return True

    def drop(self) -> None:
        if self.conn is not None:
            self.apply(self.machine.closed(self.conn.conn_id, Failure("gone", code=1006)))

    def goaway(self, seconds: float) -> None:
        if self.conn is not None:
            self.conn.queue.appendleft(msg(go_away={"time_left": f"{seconds}s"}))

    def tick(self) -> None:
        deadline = self.machine.deadline
        if deadline is not None:
            self.clock.set(max(self.clock.now(), deadline))
            self.apply(self.machine.timer())

    def answer_tools(self) -> None:
        calls, self.calls = self.calls, []
        for call_id in calls:
            response = types.FunctionResponse(id=call_id, name="get_weather", response={"ok": 1})
            self.machine.submit(inputs.tool_response(response))

    def settle(self) -> None:
        """Run to quiet: no fault any more, everything delivered."""
        for _ in range(10_000):
            self.answer_tools()
            self.pump()
            if self.step():
                continue
            if self.machine.state in (State.BACKING_OFF, State.DRAINING):
                self.tick()
                continue
            return
        raise AssertionError(f"stuck in {self.machine.state}")


ACTIONS = st.one_of(
    st.tuples(st.just("say")),
    st.tuples(st.just("say_in_parts")),
    st.tuples(st.just("ask_weather")),
    st.tuples(st.just("answer_tools")),
    st.tuples(st.just("step"), st.integers(1, 6)),
    st.tuples(st.just("drop")),
    st.tuples(st.just("goaway"), st.sampled_from([0.0, 0.5, 5.0])),
    st.tuples(st.just("tick")),
    st.tuples(st.just("refuse")),
)


def user_turn(h: Harness, kind: str, n: int) -> str:
    """Send the user's turn number `n` as `kind` says; returns its text as answered."""
    if kind == "say_in_parts":
        text = f"p{n}"
        for part, last in ((f"{text}a", False), (f"{text}b", True)):
            turn = types.Content(role="user", parts=[types.Part(text=part)])
            h.machine.submit(inputs.client_content(turn, last))
            h.pump()
            if h.machine.rng.random() < 0.5:
                h.drop()  # between the parts, or right after the last
        return f"{text}a {text}b"
    text = f"w{n}" if kind == "ask_weather" else f"t{n}"
    h.machine.submit(inputs.client_content({"role": "user", "parts": [{"text": text}]}, True))
    return text


@settings(
    max_examples=int(os.environ.get("RELIVE_SIM_EXAMPLES", "400")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(seed=st.integers(0, 2**16), script=st.lists(ACTIONS, min_size=1, max_size=40))
def test_every_turn_answered_exactly_once_under_any_schedule(
    seed: int, script: list[tuple[object, ...]]
) -> None:
    h = Harness(seed)
    said: list[str] = []
    for action in script:
        kind = action[0]
        if kind in ("say", "say_in_parts", "ask_weather"):
            said.append(user_turn(h, str(kind), len(said)))
        elif kind == "answer_tools":
            h.answer_tools()
        elif kind == "step":
            for _ in range(int(action[1])):  # type: ignore[call-overload]
                h.pump()
                h.step()
        elif kind == "drop":
            h.drop()
        elif kind == "goaway":
            h.goaway(float(action[1]))  # type: ignore[arg-type]
        elif kind == "tick":
            h.tick()
        elif kind == "refuse":
            h.server.refuse_next = True
        h.pump()
    h.server.refuse_next = False
    h.settle()
    assert h.machine.state is State.LIVE
    assert {t: h.answers[t] for t in said} == dict.fromkeys(said, 1), (
        f"answers {dict(h.answers)} for {said}"
    )
    assert h.machine.journal.unanswered_turns == 0
