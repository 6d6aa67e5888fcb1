"""The session manager on every model profile of the emulator: the same conversation survives a
drop, a goAway and its deadline close, a drop before any handle, and expired handles, with every
turn answered exactly once, whatever the profile's handle cadence, goAway lead and rules."""

from __future__ import annotations

import pytest

import relive as rs
from relive import GaveUp, NewSession, Reconnecting, Resumed
from relive.conformance import FAMILIES
from relive.emulator import Emulator
from tests.session.helpers import Chat, config_for

MODELS = [f.example for f in FAMILIES]
LONG = "tell me a long story about " + " ".join(f"word{i}" for i in range(30))
GOAWAY_CLOSE = (
    "Connection aborted because the client failed to close the connection after receiving a "
    "GoAway signal once the session durat"
)


async def open_chat(emu: Emulator, model: str, **kw: object) -> Chat:
    session = rs.connect(
        emu.client(),
        model=model,
        config=config_for(model),
        mode="text",
        owner="profile",
        policy=rs.Policy(backoff_initial=0.02, backoff_max=0.2, resume_refused_for=0.5),
        **kw,  # type: ignore[arg-type]
    )
    await session.start()
    return Chat(session)


def streaming(chat: Chat) -> bool:
    turns = chat.session.transcript.turns
    return bool(turns) and turns[-1].role == "model" and not turns[-1].final


async def answered_once_then_long_turn(emu: Emulator, model: str) -> Chat:
    """A chat whose first turn is answered and whose second (long) answer is streaming."""
    chat = await open_chat(emu, model)
    assert await chat.ask("one") == (1, 1)
    await chat.say(LONG)
    await chat.wait(lambda: streaming(chat))
    return chat


def counters(chat: Chat, text: str) -> tuple[int, int]:
    (answer,) = chat.answers(text)
    return answer


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.relive_emulator(chunk_interval=0.02)
async def test_a_drop_mid_turn_is_answered_once_and_remembered(
    relive_emulator: Emulator, model: str
) -> None:
    emu = relive_emulator
    chat = await answered_once_then_long_turn(emu, model)
    emu.faults.drop()
    await chat.wait(lambda: bool(chat.answers(LONG)), timeout=10)
    assert await chat.ask("three", timeout=10) == (3, 3)  # nothing forgotten, nothing twice
    for text in ("one", LONG, "three"):
        assert chat.times_answered(text) == 1
    assert chat.of(Reconnecting) and not chat.of(GaveUp)
    await chat.close()


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.relive_emulator(chunk_interval=0.02)
async def test_the_deadline_close_after_a_goaway_is_a_reconnect(
    relive_emulator: Emulator, model: str
) -> None:
    emu = relive_emulator
    chat = await answered_once_then_long_turn(emu, model)
    emu.faults.goaway_now(time_left=5.0)  # the manager waits for the turn to end...
    await chat.wait(lambda: bool(chat.of(Reconnecting)))
    emu.faults.close(1008, GOAWAY_CLOSE)  # ...but the server cuts it at its deadline
    await chat.wait(lambda: bool(chat.answers(LONG)), timeout=10)
    assert await chat.ask("three", timeout=10) == (3, 3)
    assert chat.times_answered(LONG) == 1
    assert not chat.of(GaveUp) and not chat.of(NewSession)
    await chat.close()


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.relive_emulator(chunk_interval=0.02)
async def test_a_drop_before_any_handle_loses_nothing(
    relive_emulator: Emulator, model: str
) -> None:
    emu = relive_emulator
    chat = await open_chat(emu, model)
    await chat.say(LONG)  # the very first turn: on most profiles no handle has come yet
    await chat.wait(lambda: streaming(chat))
    emu.faults.drop()
    await chat.wait(lambda: bool(chat.answers(LONG)), timeout=10)
    assert counters(chat, LONG) == (1, 1)
    assert await chat.ask("two", timeout=10) == (2, 2)
    assert chat.times_answered(LONG) == 1 and not chat.of(GaveUp)
    await chat.close()


@pytest.mark.parametrize("model", MODELS)
async def test_expired_handles_start_a_new_session_that_answers(
    relive_emulator: Emulator, model: str
) -> None:
    emu = relive_emulator
    chat = await open_chat(emu, model)
    assert await chat.ask("one") == (1, 1)
    assert await chat.ask("two") == (2, 2)
    emu.faults.expire_all_handles()
    emu.faults.drop()
    await chat.wait(lambda: bool(chat.of(NewSession) or chat.of(Resumed)), timeout=10)
    answer = await chat.ask("three", timeout=10)
    # 3.8's one live handle names the latest state; the others' snapshots expired.
    if chat.of(NewSession):
        assert answer == (1, 1)
    else:
        assert answer == (3, 3)
    assert not chat.of(GaveUp)
    await chat.close()
