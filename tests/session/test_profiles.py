"""The session manager on every model profile of the emulator: the same conversation survives a
drop, a goAway and its deadline close, a drop before any handle, and expired handles, with every
turn answered exactly once, whatever the profile's handle cadence, goAway lead and rules.

What the model remembers differs by family, and the tests say how. On 2.x the handle after each
turn is a snapshot that holds exactly what was answered, so the scripted model's turn counter is
exact. On 3.x a handle also holds the user's words of a turn cut mid-answer (3.1 issues one as
input arrives; 3.8's one handle names the latest state): the manager sends that turn again so it
is answered, and the model's context then holds those words twice. Never a second answer, never
a forgotten one: the counter may run ahead, never behind.
"""

from __future__ import annotations

import pytest

import relive as rs
from relive import GaveUp, NewSession, Reconnecting
from relive.conformance import FAMILIES
from relive.emulator import Emulator
from relive.session._models import rules_for
from tests.session.helpers import Chat, config_for

MODELS = [f.example for f in FAMILIES]
LONG = "tell me a long story about " + " ".join(f"word{i}" for i in range(30))
GOAWAY_CLOSE = (
    "Connection aborted because the client failed to close the connection after receiving a "
    "GoAway signal once the session durat"
)


async def open_chat(emu: Emulator, model: str) -> Chat:
    session = rs.connect(
        emu.client(),
        model=model,
        config=config_for(model),
        mode="text",
        owner="profile",
        policy=rs.Policy(backoff_initial=0.02, backoff_max=0.2, resume_refused_for=0.5),
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


async def two_answered(emu: Emulator, model: str) -> Chat:
    """A chat with two turns answered (on 2.x, a handle after each)."""
    chat = await open_chat(emu, model)
    assert await chat.ask("one") == (1, 1)
    assert await chat.ask("two") == (2, 2)
    return chat


def remembers(model: str, turn: tuple[int, int], at_least: int) -> bool:
    """The turn counter shows nothing forgotten: exact on 2.x, at least as far on 3.x (where a
    turn cut mid-answer is in the resumed context and is sent again to be answered)."""
    if rules_for(model).client_content_mid_session:  # 2.x
        return turn == (at_least, at_least)
    return turn[0] == turn[1] >= at_least


def answered_once(chat: Chat, *texts: str) -> None:
    for text in texts:
        assert chat.times_answered(text) == 1, f"{text!r} answered {chat.times_answered(text)}x"
    assert not chat.of(GaveUp)
    # A new session that dropped the conversation would reset the counter: only seeded ones.
    assert all(n.seeded for n in chat.of(NewSession))


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.relive_emulator(chunk_interval=0.02)
async def test_a_drop_mid_turn_is_answered_once_and_remembered(
    relive_emulator: Emulator, model: str
) -> None:
    emu = relive_emulator
    chat = await answered_once_then_long_turn(emu, model)
    emu.faults.drop()
    await chat.wait(lambda: bool(chat.answers(LONG)), timeout=10)
    assert remembers(model, await chat.ask("three", timeout=10), 3)
    answered_once(chat, "one", LONG, "three")
    assert chat.of(Reconnecting)
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
    assert remembers(model, await chat.ask("three", timeout=10), 3)
    answered_once(chat, "one", LONG, "three")
    await chat.close()


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.relive_emulator(chunk_interval=0.02)
async def test_a_drop_before_any_handle_loses_nothing(
    relive_emulator: Emulator, model: str
) -> None:
    emu = relive_emulator
    chat = await open_chat(emu, model)
    await chat.say(LONG)  # the very first turn: on 2.x no handle has come yet
    await chat.wait(lambda: streaming(chat))
    emu.faults.drop()
    await chat.wait(lambda: bool(chat.answers(LONG)), timeout=10)
    assert remembers(model, await chat.ask("two", timeout=10), 2)
    answered_once(chat, LONG, "two")
    await chat.close()


@pytest.mark.parametrize("model", MODELS)
async def test_expired_handles_start_a_new_session_that_answers(
    relive_emulator: Emulator, model: str
) -> None:
    emu = relive_emulator
    chat = await two_answered(emu, model)
    emu.faults.expire_all_handles()
    emu.faults.drop()
    answer = await chat.ask("three", timeout=10)
    renewals = chat.of(NewSession)
    assert renewals, "an expired handle must start a new session"
    # Seeded with the conversation (3.1: its handle lacked the last answer anyway) or empty.
    assert answer == ((3, 3) if renewals[0].seeded else (1, 1))
    assert chat.times_answered("three") == 1 and not chat.of(GaveUp)
    await chat.close()


@pytest.mark.parametrize("model", MODELS)
async def test_a_silent_drop_lockout_starts_a_seeded_session_instead_of_waiting(
    relive_emulator: Emulator, model: str
) -> None:
    # The server holds the silently dropped socket (15 min in reports; 60 s here) and refuses
    # every resumption with 1011 meanwhile; the policy gives up on resuming after 0.5 s.
    emu = relive_emulator
    chat = await two_answered(emu, model)
    emu.faults.silent_drop(hold=60.0)
    await chat.wait(lambda: bool(chat.of(NewSession)), timeout=10)
    (notice,) = chat.of(NewSession)
    assert notice.seeded and notice.notice.startswith("The conversation could not be resumed")
    # 3.1 may have seeded at once (its handle lacked the last answer); else after the refusals.
    assert "refused to resume" in notice.reason or "predates answers" in notice.reason
    assert await chat.ask("three", timeout=10) == (3, 3)  # the seed holds the conversation
    answered_once(chat, "one", "two", "three")
    await chat.close()
