"""Function calling in the state machine: any declared function, NON_BLOCKING calls and their
scheduling, willContinue, context updates (ManualClock, no sockets)."""

from __future__ import annotations

from typing import Any

import pytest

from relive.emulator._states import TurnState
from relive.emulator._tools import MalformedCall, declared_functions, requested_calls
from tests.emulator.emulator_harness import Harness, Service


def _tools(*decls: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"functionDeclarations": list(decls)}]


def _calls(conn: Harness) -> list[dict[str, Any]]:
    return [c for m in conn.sent if "toolCall" in m for c in m["toolCall"]["functionCalls"]]


def _respond(conn: Harness, call_id: str, response: Any, **extra: Any) -> None:
    """A functionResponse; `response` is a proto Struct, so always a JSON object."""
    body = {"id": call_id, "name": "f", "response": response, **extra}
    conn.send({"toolResponse": {"functionResponses": [body]}})


def test_trigger_phrase_names_any_declared_function_with_json_args() -> None:
    declared = {"set_alarm": False, "lookup": True, "get_weather": False}
    text = 'please call set_alarm with {"at": "07:00", "days": [1, 2]} and call LOOKUP now'
    assert requested_calls(text, declared) == [
        ("set_alarm", {"at": "07:00", "days": [1, 2]}),
        ("lookup", {}),
    ]
    assert requested_calls("call unknown_fn with {}", declared) == []
    assert requested_calls("the weather in Rome", declared) == [("get_weather", {"city": "Rome"})]
    assert requested_calls("the weather in Rome", {"lookup": True}) == []
    with pytest.raises(MalformedCall):
        requested_calls("call lookup with {not json", declared)
    assert declared_functions(
        [{"functionDeclarations": [{"name": "a"}, {"name": "b", "behavior": "NON_BLOCKING"}]}]
    ) == {"a": False, "b": True}


def test_blocking_call_of_any_function_holds_the_reply_until_its_response() -> None:
    conn = Service().connect().setup(tools=_tools({"name": "set_alarm"}), sessionResumption={})
    conn.clear()
    conn.send({"realtimeInput": {"text": 'call set_alarm with {"at": "07:00"}'}})
    (call,) = _calls(conn)
    assert call["name"] == "set_alarm" and call["args"] == {"at": "07:00"}
    assert conn.machine.turn is TurnState.TOOL_CALL
    assert "step" not in conn.timers  # nothing is said before the result
    _respond(conn, call["id"], {"ok": True})
    conn.run_turn()
    assert conn.text().endswith('(turn 1, remembers 1) set_alarm returned: {"ok": true}')


def test_parallel_blocking_calls_reply_once_all_are_answered() -> None:
    tools = _tools({"name": "a"}, {"name": "b"})
    conn = Service().connect().setup(tools=tools)
    conn.send({"realtimeInput": {"text": "call a and call b"}})
    first, second = _calls(conn)
    assert first["id"] != second["id"]
    _respond(conn, second["id"], {"n": 2})
    assert conn.machine.turn is TurnState.TOOL_CALL
    _respond(conn, first["id"], {"n": 1})
    conn.run_turn()
    assert conn.text().endswith('b returned: {"n": 2} a returned: {"n": 1}')


def test_malformed_args_end_the_turn_with_the_reason() -> None:
    conn = Service().connect().setup(tools=_tools({"name": "a"}))
    conn.clear()
    conn.send({"realtimeInput": {"text": "call a with {oops"}})
    assert conn.sent == [
        {"serverContent": {"turnComplete": True, "turnCompleteReason": "MALFORMED_FUNCTION_CALL"}}
    ]
    assert conn.machine.turn is TurnState.IDLE


def _async_session() -> Harness:
    tools = _tools({"name": "search", "behavior": "NON_BLOCKING"})
    conn = Service().connect().setup(tools=tools, sessionResumption={})
    conn.clear()
    return conn


def test_non_blocking_call_lets_the_conversation_go_on() -> None:
    conn = _async_session()
    conn.send({"realtimeInput": {"text": 'call search with {"q": "cats"}'}})
    (call,) = _calls(conn)
    assert conn.machine.turn is TurnState.GENERATING  # the model speaks while the call runs
    conn.run_turn()
    assert conn.text() == 'You said: call search with {"q": "cats"}. (turn 1, remembers 1)'
    # A later user turn (text or clientContent) does not cancel the running call.
    conn.send({"realtimeInput": {"text": "and meanwhile?"}})
    conn.advance(0.0)
    conn.send(
        {
            "clientContent": {
                "turns": [{"role": "user", "parts": [{"text": "x"}]}],
                "turnComplete": True,
            }
        }
    )
    conn.run_turn()
    assert not any("toolCallCancellation" in m for m in conn.sent)
    assert call["id"] in conn.machine._tools.calls
    conn.clear()
    _respond(conn, call["id"], {"hits": 3})  # WHEN_IDLE by default: spoken at once when idle
    conn.run_turn()
    assert conn.text() == 'search returned: {"hits": 3}'
    assert call["id"] not in conn.machine._tools.calls


def test_when_idle_result_waits_for_the_reply_under_way() -> None:
    conn = _async_session()
    conn.send({"realtimeInput": {"text": "call search"}})
    call_id = _calls(conn)[0]["id"]
    conn.advance(0.0)  # first chunk of the reply out
    _respond(conn, call_id, {"n": 1}, scheduling="WHEN_IDLE")
    assert not any(m.get("serverContent", {}).get("interrupted") for m in conn.sent)
    conn.run_turn()  # the reply, then the result
    conn.run_turn()
    assert conn.text() == 'You said: call search. (turn 1, remembers 1)search returned: {"n": 1}'


def test_interrupt_result_cuts_the_reply_under_way() -> None:
    conn = _async_session()
    conn.send({"realtimeInput": {"text": "call search and tell me a long story meanwhile"}})
    call_id = _calls(conn)[0]["id"]
    conn.advance(0.0)
    _respond(conn, call_id, {"n": 1}, scheduling="INTERRUPT")
    kinds = conn.kinds()
    assert kinds.index("serverContent.interrupted") < len(kinds)
    conn.run_turn()
    assert conn.text().endswith('search returned: {"n": 1}')
    assert "meanwhile. (turn" not in conn.text()  # the story was cut


def test_silent_result_joins_the_context_without_speaking() -> None:
    conn = _async_session()
    conn.send({"realtimeInput": {"text": "call search"}})
    call_id = _calls(conn)[0]["id"]
    conn.run_turn()
    tokens = conn.machine.conversation.tokens
    conn.clear()
    _respond(conn, call_id, {"hits": 3}, scheduling="SILENT")
    assert conn.sent == [] and conn.machine.turn is TurnState.IDLE
    assert conn.machine.conversation.tokens > tokens
    assert conn.machine.conversation.turns[-1].text == 'search returned: {"hits": 3}'


def test_will_continue_keeps_the_call_open_for_more_results() -> None:
    conn = _async_session()
    conn.send({"realtimeInput": {"text": "call search"}})
    call_id = _calls(conn)[0]["id"]
    conn.run_turn()
    conn.clear()
    _respond(conn, call_id, {"part": 1}, willContinue=True)
    conn.run_turn()
    _respond(conn, call_id, {"part": 2}, willContinue=False)
    conn.run_turn()
    assert conn.text() == 'search returned: {"part": 1}search returned: {"part": 2}'
    conn.clear()
    _respond(conn, call_id, {"late": True})  # the call is finished: further responses are ignored
    assert conn.sent == []
    assert any(e.kind == "tool_response_ignored" for e in conn.events)


def test_barge_in_cancels_blocking_calls_only() -> None:
    tools = _tools({"name": "slow"}, {"name": "bg", "behavior": "NON_BLOCKING"})
    conn = Service().connect().setup(tools=tools)
    conn.send({"realtimeInput": {"text": "call slow and call bg"}})
    slow, bg = _calls(conn)
    conn.send({"realtimeInput": {"text": "never mind"}})
    assert {"toolCallCancellation": {"ids": [slow["id"]]}} in conn.sent
    assert bg["id"] in conn.machine._tools.calls and slow["id"] not in conn.machine._tools.calls


def test_context_update_replaces_the_tools() -> None:
    conn = Service().connect().setup(tools=_tools({"name": "old"}))
    conn.send({"contextUpdate": {"tools": {"tools": _tools({"name": "new"})}}})
    conn.clear()
    conn.send({"realtimeInput": {"text": "call old"}})
    conn.run_turn()
    assert _calls(conn) == []  # no longer declared
    conn.send({"realtimeInput": {"text": "call new"}})
    assert [c["name"] for c in _calls(conn)] == ["new"]
    conn.send({"context_update": {"tools": {"tools": []}}})  # an empty list clears them
    assert conn.machine.config is not None and conn.machine.config.functions == {}


def test_behavior_defaults_per_model_family() -> None:
    tools = [
        {
            "functionDeclarations": [
                {"name": "plain"},
                {"name": "sync", "behavior": "BLOCKING"},
                {"name": "bg", "behavior": "NON_BLOCKING"},
            ]
        }
    ]
    assert declared_functions(tools) == {"plain": False, "sync": False, "bg": True}
    # 3.8: NON_BLOCKING is the default; BLOCKING still holds where it is asked for.
    assert declared_functions(tools, non_blocking_default=True) == {
        "plain": True,
        "sync": False,
        "bg": True,
    }
    # 3.1: no async calls at all.
    assert declared_functions(tools, async_calls=False) == {
        "plain": False,
        "sync": False,
        "bg": False,
    }


def _audio_session(model: str, *decls: dict[str, Any]) -> Harness:
    conn = (
        Service()
        .connect()
        .setup(
            model=f"models/{model}",
            generationConfig={"responseModalities": ["AUDIO"]},
            tools=_tools(*decls),
        )
    )
    conn.clear()
    return conn


def test_gemini_31_has_no_async_calls() -> None:
    conn = _audio_session(
        "gemini-3.1-flash-live-preview", {"name": "bg", "behavior": "NON_BLOCKING"}
    )
    assert conn.closed is None
    conn.send({"realtimeInput": {"text": "call bg"}})
    assert [c["name"] for c in _calls(conn)] == ["bg"]
    assert conn.machine.turn is TurnState.TOOL_CALL  # the call blocks: no reply until its result
    conn.send(
        {"contextUpdate": {"tools": {"tools": _tools({"name": "bg2", "behavior": "NON_BLOCKING"})}}}
    )
    assert conn.machine.config is not None and conn.machine.config.functions == {"bg2": False}


def test_gemini_38_calls_are_non_blocking_unless_declared_blocking() -> None:
    conn = _audio_session(
        "gemini-3.8-live", {"name": "plain"}, {"name": "sync", "behavior": "BLOCKING"}
    )
    conn.send({"realtimeInput": {"text": "call plain"}})
    after_plain = conn.machine.turn
    conn.run_turn()
    conn.send({"realtimeInput": {"text": "call sync"}})
    assert after_plain is TurnState.GENERATING  # async by default: the reply goes on
    assert conn.machine.turn is TurnState.TOOL_CALL
