"""Function calling with the real google-genai SDK over wss://: NON_BLOCKING calls and their
scheduling, willContinue, and `send_context_update`."""

from __future__ import annotations

from google.genai import types

from relive.emulator import Emulator
from tests.emulator.sdk_helpers import MODEL, next_tool_call, read_turn, say, text_config
from tests.sdk_support import needs_context_update


def _decl(name: str, non_blocking: bool = False) -> types.FunctionDeclaration:
    behavior = types.Behavior.NON_BLOCKING if non_blocking else None
    return types.FunctionDeclaration(name=name, behavior=behavior)


async def test_non_blocking_call_and_its_scheduled_results(relive_emulator: Emulator) -> None:
    tool = types.Tool(function_declarations=[_decl("search", non_blocking=True)])
    config = text_config(tools=[tool])
    async with relive_emulator.client().aio.live.connect(model=MODEL, config=config) as s:
        await s.send_realtime_input(text='call search with {"q": "otters"}')
        call = await next_tool_call(s)
        assert call.name == "search" and call.args == {"q": "otters"}
        # The conversation goes on while the call runs: a reply, then another turn.
        reply = await read_turn(s)
        assert reply.text.startswith("You said: call search")
        assert (await say(s, "anything new?")).text.startswith("You said: anything new?")
        # A SILENT result is not spoken; the next WHEN_IDLE one is.
        silent = types.FunctionResponse(
            id=call.id,
            name=call.name,
            response={"partial": 1},
            will_continue=True,
            scheduling=types.FunctionResponseScheduling.SILENT,
        )
        spoken = types.FunctionResponse(
            id=call.id,
            name=call.name,
            response={"hits": 2},
            scheduling=types.FunctionResponseScheduling.WHEN_IDLE,
        )
        await s.send_tool_response(function_responses=[silent])
        await s.send_tool_response(function_responses=[spoken])
        result = await read_turn(s)
    assert result.text == 'search returned: {"hits": 2}'
    await relive_emulator.wait_event("tool_result", scheduling="SILENT")


@needs_context_update
async def test_send_context_update_replaces_tools(relive_emulator: Emulator) -> None:
    config = text_config(tools=[types.Tool(function_declarations=[_decl("lights")])])
    async with relive_emulator.client().aio.live.connect(model=MODEL, config=config) as s:
        await s.send_context_update(
            system_instruction="Be brief.",
            tools=[types.Tool(function_declarations=[_decl("music")])],
        )
        assert (await say(s, "call lights")).text == "You said: call lights. (turn 1, remembers 1)"
        await s.send_realtime_input(text="call music")
        assert (await next_tool_call(s)).name == "music"
    event = await relive_emulator.wait_event("context_update")
    assert event.data["changed"] == ["systemInstruction", "tools"]
