"""`relive bench chaos`: many sessions x many turns under random faults; nothing may be lost.

Each session sends numbered user turns one at a time and waits for the scripted model's reply
(`You said: {text}. ...`), which names the turn it answers. A fault scheduler, driven by one
seeded `random.Random`, fires a random fault every few answered turns: drop every connection,
drop mid-reply, goAway (with ample or too little time), close 1011, refuse the next resumption,
expire every handle, a silent drop (the server holds the sockets and refuses resumption for 0.5
or 3 s; the manager gives up resuming after 1 s and starts a seeded new session). Counted at
`turnComplete`:
- lost: a turn never answered; duplicated: a turn answered more than once;
- stuck: a session that did not finish within its time bound.
All three must be 0 (the command exits 1 otherwise). The seed repeats the fault sequence.
`model` picks the emulator's model profile (its handle cadence, goAway lead, rules); a model
that only speaks is asked for AUDIO with output transcription, whose words are read the same.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from google.genai import types

from relive._clock import Clock, MonotonicClock
from relive.bench._common import (
    API_KEY,
    BENCH_SETTINGS,
    MODEL,
    machine_load,
    text_config,
    user_turn,
)
from relive.bench._report import Aim, Figure, Report, Table
from relive.bench._tap import ClientTap
from relive.conformance import family_of
from relive.emulator import REPLY_PATTERN, Emulator
from relive.session import (
    Connected,
    GaveUp,
    HandleStore,
    Interrupted,
    LiveSession,
    NewSession,
    Policy,
    Reconnecting,
    ServerMessage,
    TurnComplete,
    connect,
)

# Replies stream in several chunks a few ms apart, so faults land mid-reply too.
CHAOS_SETTINGS = BENCH_SETTINGS.replace(chunk_interval=0.003, chunk_words=2)
CHAOS_POLICY = Policy(
    backoff_initial=0.05, backoff_max=0.5, give_up_after=30.0, resume_refused_for=1.0
)
TURN_TIMEOUT = 20.0


def _faults(emu: Emulator) -> dict[str, Callable[[random.Random], object]]:
    f = emu.faults
    return {
        "drop": lambda rng: f.drop(),
        "drop_mid_turn": lambda rng: f.drop_mid_turn(),
        "goaway": lambda rng: f.goaway_now(rng.choice([0.5, 2.0])),
        "goaway_too_late": lambda rng: f.goaway_now(0.02),
        "close_1011": lambda rng: f.close(1011, "Internal error encountered."),
        "refuse_resumption": lambda rng: f.refuse_next_resumption(),
        "expire_handles": lambda rng: f.expire_all_handles(),
        # The server holds the dropped sockets and refuses resumption (1011) a while.
        "silent_drop": lambda rng: f.silent_drop(hold=rng.choice([0.5, 3.0])),
    }


WEIGHTS = {
    "drop": 4,
    "drop_mid_turn": 4,
    "goaway": 3,
    "goaway_too_late": 2,
    "close_1011": 2,
    "refuse_resumption": 1,
    "expire_handles": 1,
    "silent_drop": 1,
}


@dataclass
class _Tally:
    answers: Counter[str] = field(default_factory=Counter)
    sent: list[str] = field(default_factory=list)
    stuck: bool = False
    gave_up: int = 0
    new_sessions: int = 0
    interrupted: int = 0
    metrics: dict[str, Any] = field(default_factory=dict)
    lifecycle: deque[str] = field(default_factory=lambda: deque(maxlen=8))


class _Progress:
    """Answered turns across all sessions; the fault scheduler waits on it."""

    def __init__(self) -> None:
        self.answered = 0
        self.done = False
        self._changed = asyncio.Event()

    def bump(self) -> None:
        self.answered += 1
        self._changed.set()

    def finish(self) -> None:
        self.done = True
        self._changed.set()

    async def wait_past(self, count: int) -> bool:
        """Wait until more than `count` turns are answered; False if the run ended first."""
        while self.answered <= count and not self.done:
            self._changed.clear()
            await self._changed.wait()
        return not self.done


def chaos_config(model: str) -> types.LiveConnectConfig:
    """TEXT where the model takes it, else AUDIO with the reply's words as transcription."""
    if family_of(model).text_output:
        return text_config()
    return types.LiveConnectConfig(
        response_modalities=[types.Modality.AUDIO],
        output_audio_transcription=types.AudioTranscriptionConfig(),
    )


def _words(content: types.LiveServerContent) -> str:
    """The reply's words in a server message: text parts or output transcription."""
    text = ""
    if content.model_turn and content.model_turn.parts:
        text += "".join(p.text or "" for p in content.model_turn.parts)
    if content.output_transcription and content.output_transcription.text:
        text += content.output_transcription.text
    return text


async def _reader(
    session: LiveSession, tally: _Tally, progress: _Progress, answered: asyncio.Event
) -> None:
    text = ""
    async for event in session.events():
        if isinstance(event, ServerMessage):
            content = event.message.server_content
            if content:
                text += _words(content)
        else:
            tally.lifecycle.append(_describe(event))
        if isinstance(event, TurnComplete):
            match = REPLY_PATTERN.search(text)
            if match:
                tally.answers[match.group("text")] += 1
                progress.bump()
                answered.set()
            text = ""
        elif isinstance(event, Connected | Interrupted | NewSession):
            # A reply cut short is no answer (relive sends the turn again). Not at
            # `Reconnecting`: after a goAway the old connection may still finish the reply.
            text = ""
            tally.new_sessions += isinstance(event, NewSession)
            tally.interrupted += isinstance(event, Interrupted)
        elif isinstance(event, GaveUp):
            tally.gave_up += 1


def _describe(event: Any) -> str:
    """A short name for a lifecycle event, for the stuck-session notes."""
    name = type(event).__name__
    if isinstance(event, Reconnecting):
        return f"{name}({event.cause})"
    if isinstance(event, NewSession | GaveUp):
        return f"{name}({event.reason[:60]})"
    resumed = getattr(event, "resumed", None)
    return f"{name}(resumed={resumed})" if resumed is not None else name


async def _drive(
    client: Any, index: int, turns: int, tally: _Tally, progress: _Progress, model: str
) -> None:
    session = connect(
        client,
        model=model,
        config=chaos_config(model),
        mode="text",
        handles=HandleStore(),
        owner=f"chaos-{index}",
        policy=CHAOS_POLICY,
    )
    async with session:
        answered = asyncio.Event()
        reader = asyncio.create_task(_reader(session, tally, progress, answered))
        try:
            for j in range(turns + 1):  # the last one is a sentinel: duplicates come before it
                text = f"s{index} t{j}" if j < turns else f"s{index} end"
                tally.sent.append(text)
                await session.send_client_content(turns=user_turn(text), turn_complete=True)
                async with asyncio.timeout(TURN_TIMEOUT):
                    while tally.answers[text] == 0:
                        answered.clear()
                        await answered.wait()
        except TimeoutError:
            tally.stuck = True
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
        tally.metrics = session.metrics.to_dict()


async def _schedule_faults(
    emu: Emulator,
    rng: random.Random,
    fault_rate: float,
    progress: _Progress,
    fired: Counter[str],
    names: list[str],
) -> None:
    faults = _faults(emu)
    weights = [WEIGHTS[n] for n in names]
    mark = 0
    while fault_rate > 0:
        # Geometric gap: on average one fault per 1/fault_rate answered turns.
        gap = 0
        while rng.random() >= fault_rate:
            gap += 1
        if not await progress.wait_past(mark + gap):
            return
        mark = progress.answered
        name = rng.choices(names, weights)[0]
        faults[name](rng)
        fired[name] += 1


async def run_chaos(
    *,
    sessions: int = 8,
    turns: int = 25,
    fault_rate: float = 0.3,
    seed: int = 0,
    faults: Sequence[str] | None = None,
    clock: Clock | None = None,
    model: str = MODEL,
) -> Report:
    """`sessions` concurrent sessions x `turns` turns, faults from `random.Random(seed)`."""
    if sessions < 1 or turns < 1:
        raise ValueError("sessions and turns must each be at least 1")
    if not 0.0 <= fault_rate <= 1.0:
        raise ValueError(f"fault_rate must be between 0 and 1, got {fault_rate}")
    names = list(WEIGHTS) if faults is None else list(dict.fromkeys(faults))
    unknown = [n for n in names if n not in WEIGHTS]
    if unknown or not names:
        raise ValueError(
            f"unknown or no faults {unknown or names}; choose from {', '.join(WEIGHTS)}"
        )
    clock = clock or MonotonicClock()
    rng = random.Random(seed)
    tallies = [_Tally() for _ in range(sessions)]
    fired: Counter[str] = Counter()
    progress = _Progress()
    start = clock.now()
    async with Emulator(CHAOS_SETTINGS) as emu:
        tap = ClientTap(emu, clock)
        client = emu.client(api_key=API_KEY)
        scheduler = asyncio.create_task(
            _schedule_faults(emu, rng, fault_rate, progress, fired, names)
        )
        try:
            await asyncio.gather(
                *(_drive(client, i, turns, tallies[i], progress, model) for i in range(sessions))
            )
        finally:
            progress.finish()
            await scheduler
            emu.faults.reset()
    elapsed = clock.now() - start
    params = {
        "seed": seed,
        "sessions": sessions,
        "turns": turns,
        "fault_rate": fault_rate,
        "load_1m": machine_load(),
        "faults": ",".join(names),
        "model": model,
    }
    return _report(params, tallies, fired, elapsed, tap)


def _report(
    params: dict[str, Any],
    tallies: list[_Tally],
    fired: Counter[str],
    elapsed: float,
    tap: ClientTap,
) -> Report:
    seed = params["seed"]
    sent = sum(len(t.sent) for t in tallies)
    lost = sum(1 for t in tallies for text in t.sent if t.answers[text] == 0)
    duplicated = sum(max(0, n - 1) for t in tallies for n in t.answers.values())
    unexpected = sum(n for t in tallies for text, n in t.answers.items() if text not in t.sent)
    stuck = sum(1 for t in tallies if t.stuck)
    metrics = [t.metrics for t in tallies]
    reconnects: Counter[str] = Counter()
    for m in metrics:
        reconnects.update(m.get("reconnects", {}))
    replayed = sum(m.get("replayed", 0) for m in metrics)
    new_sessions = sum(t.new_sessions for t in tallies)
    gave_up = sum(t.gave_up for t in tallies)
    stuck_notes = [
        f"stuck session {i}: waiting for {t.sent[-1]!r}; the emulator received it on "
        + (", ".join(f"conn {c} ({end})" for c, end in tap.where(t.sent[-1])) or "no connection")
        + "; last events: "
        + ", ".join(t.lifecycle)
        + f"; metrics {t.metrics}"
        for i, t in enumerate(tallies)
        if t.stuck
    ]
    lost_fig = Figure("turns lost (never answered)", lost, key="lost")
    duplicated_fig = Figure("turns duplicated (answered twice)", duplicated, key="duplicated")
    stuck_fig = Figure("sessions stuck", stuck, key="stuck")
    lines = [
        Figure("turns sent (incl. one sentinel per session)", sent, key="sent"),
        lost_fig,
        duplicated_fig,
        Figure("answers to turns never sent", unexpected, key="unexpected"),
        stuck_fig,
        Figure("sessions that gave up", gave_up, key="gave_up"),
        Figure("faults fired", sum(fired.values()), key="faults_fired"),
        Figure("reconnects performed", sum(reconnects.values()), key="reconnects_performed"),
        Figure("new sessions (resumption refused)", new_sessions, key="new_sessions"),
        Figure("client messages replayed", replayed, key="replayed"),
        Figure("wall time", elapsed, key="elapsed_s", unit="s"),
        *(Figure(f"  fault: {name}", n, key=f"faults.{name}") for name, n in sorted(fired.items())),
        *(
            Figure(f"  reconnects: {cause}", n, key=f"reconnects.{cause}")
            for cause, n in sorted(reconnects.items())
        ),
    ]
    return Report(
        title="relive bench chaos",
        params=params,
        tables=[Table("", "chaos", ["count"], lines)],
        data={
            "seed": seed,
            "unexpected_answers": sorted(
                text for t in tallies for text in t.answers if text not in t.sent
            ),
            "faults": {},  # by name, filled by the fault lines (empty when none fired)
            "reconnects": {},
        },
        aims=[
            Aim.none("turns lost", lost_fig),
            Aim.none("turns duplicated", duplicated + unexpected),
            Aim.none("sessions stuck", stuck_fig),
        ],
        notes=[
            f"seed {seed}: `--seed {seed}` with the same sizes and faults repeats the fault "
            "sequence (the timing of each fault against the turns varies from run to run)",
            *stuck_notes,
        ],
    )
