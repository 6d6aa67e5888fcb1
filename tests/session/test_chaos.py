"""Chaos: random fault schedules over many turns. No turn lost, none answered twice, none stuck.

Each example derives its whole schedule (and the manager's jitter) from one `seed`, printed on
failure, so a failing run is replayed exactly with `@example(seed=...)`. Some turns ask for a
tool call (answered by the test, sometimes after dropping the connection under it).
RELIVE_CHAOS_EXAMPLES=200 runs a longer campaign. Every other model family gets a campaign of
half as many examples (TEXT where the model takes it, else AUDIO with transcriptions).
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Callable

import pytest
from google.genai import types
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import relive as rs
from relive import GaveUp, NewSession
from relive.conformance import FAMILIES
from relive.emulator import Emulator, EmulatorSettings, Faults
from relive.session._models import rules_for
from tests.session.helpers import MODEL, WEATHER_TOOLS, Chat, config_for

OTHER_FAMILIES = [f.example for f in FAMILIES if f.example != MODEL]

FAULTS = [
    "none",
    "drop_mid_turn",
    "drop_idle",
    "goaway_mid_turn",
    "goaway_idle",
    "close_1011",
    "refuse_resumption",
    "expire_handles",
    "silent_goaway",
]
EMULATOR = EmulatorSettings(chunk_interval=0.01, turn_complete_lag_factor=0.0)
POLICY = rs.Policy(backoff_initial=0.02, backoff_max=0.2, give_up_after=10, goaway_margin=0.1)
FILLER = " ".join(f"w{i}" for i in range(12))


def streaming(chat: Chat) -> bool:
    turns = chat.session.transcript.turns
    return bool(turns) and turns[-1].role == "model" and not turns[-1].final


def refused_then_dropped(faults: Faults) -> int:
    faults.refuse_next_resumption()
    return faults.drop()


def expired_then_dropped(faults: Faults) -> int:
    faults.expire_all_handles()
    return faults.drop()


# Faults applied before the turn is said, by name.
BEFORE_THE_TURN: dict[str, Callable[[Faults, random.Random], object]] = {
    "drop_mid_turn": lambda f, rng: f.drop_mid_turn(),
    "drop_idle": lambda f, rng: f.drop(),
    "goaway_idle": lambda f, rng: f.goaway_now(time_left=rng.choice([0.05, 0.5])),
    "close_1011": lambda f, rng: f.close(1011, "Internal error encountered."),
    "refuse_resumption": lambda f, rng: refused_then_dropped(f),
    "expire_handles": lambda f, rng: expired_then_dropped(f),
}


def next_count(chat: Chat, text: str, renewals: list[NewSession], count: int, model: str) -> int:
    """The turns the model should remember now; checks its counter against them.

    A plain new session starts from nothing, a seeded one holds the conversation. On 2.x the
    counter is exact; on 3.x a cut turn's words may be in the context twice, never missing
    (tests/session/test_profiles.py says why).
    """
    count = 1 if any(not r.seeded for r in renewals) else count + 1
    (answer,) = chat.answers(text)
    if rules_for(model).client_content_mid_session:
        assert answer[0] == count, f"turn counter {answer[0]} != {count}"
    else:
        assert answer[0] >= count, f"turn counter {answer[0]} < {count}"
    return count


async def run_schedule(seed: int, log: list[str], model: str = MODEL) -> None:
    rng = random.Random(seed)
    turns = rng.randint(6, 12)
    async with Emulator(EMULATOR) as emu:
        session = rs.connect(
            emu.client(),
            model=model,
            config=config_for(model, tools=WEATHER_TOOLS),
            mode=rng.choice(["call", "text"]),
            owner="chaos",
            policy=POLICY,
            rng=random.Random(seed),
        )
        await session.start()
        drop_next_call = False

        async def answer_tool(call: types.FunctionCall) -> None:
            nonlocal drop_next_call
            if drop_next_call:  # the call dies with its connection; the model asks again
                drop_next_call = False
                emu.faults.drop()
            await session.send_tool_response(
                function_responses=[
                    types.FunctionResponse(id=call.id, name=call.name, response={"ok": True})
                ]
            )

        chat = Chat(session, on_tool_call=answer_tool)
        expected_n = 0
        sent: list[str] = []
        for i in range(turns):
            fault = rng.choice(FAULTS)
            tool = rng.random() < 0.25
            text = f"weather in Paris m{i}" if tool else f"m{i} {FILLER}"
            if tool and rng.random() < 0.5:
                fault = "drop_in_tool_call"
                drop_next_call = True
            sent.append(text)
            log.append(f"turn {i}: {fault}")
            new_sessions = len(chat.of(NewSession))
            faults = emu.faults
            if fault in BEFORE_THE_TURN:
                BEFORE_THE_TURN[fault](faults, rng)
            await chat.say(text)
            if fault in ("goaway_mid_turn", "silent_goaway"):
                if fault == "silent_goaway":
                    faults.silent_after_goaway()
                await chat.wait(lambda: streaming(chat) or bool(chat.answers(text)))  # noqa: B023
                # A silent server leaves only the deadline: keep it short there.
                lefts = [0.05, 0.3] if fault == "silent_goaway" else [0.05, 0.3, 2.0]
                faults.goaway_now(time_left=rng.choice(lefts))
            await chat.wait(lambda: bool(chat.answers(text)), timeout=8)  # noqa: B023
            faults.reset()
            renewals = chat.of(NewSession)[new_sessions:]
            # The first handle comes after the first answer (2.x): from then on there is one.
            if fault in ("refuse_resumption", "expire_handles") and i > 0:
                assert renewals, "a refused handle must start a new session"
            expected_n = next_count(chat, text, renewals, expected_n, model)
        for text in sent:
            times = chat.times_answered(text)
            assert times == 1, f"{text!r} answered {times} times"
        assert not chat.of(GaveUp)
        await chat.close()
        assert chat.ended


EXAMPLES = int(os.environ.get("RELIVE_CHAOS_EXAMPLES", "12"))
CHAOS = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def campaign(seed: int, model: str = MODEL) -> None:
    log: list[str] = []
    started = time.monotonic()
    try:
        asyncio.run(asyncio.wait_for(run_schedule(seed, log, model), timeout=30))
    except BaseException as exc:
        print(f"chaos model={model} seed={seed} schedule={log}")
        raise AssertionError(f"chaos model={model} seed={seed} schedule={log}: {exc!r}") from exc
    print(f"chaos {model} seed={seed}: {len(log)} turns in {time.monotonic() - started:.2f}s {log}")


@settings(CHAOS, max_examples=EXAMPLES)
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_random_fault_schedules_lose_and_duplicate_nothing(seed: int) -> None:
    campaign(seed)


@settings(CHAOS, max_examples=max(1, EXAMPLES // 2))
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
@pytest.mark.parametrize("model", OTHER_FAMILIES)
def test_random_fault_schedules_on_every_other_model_family(model: str, seed: int) -> None:
    campaign(seed, model)
