"""The five fault scenarios, driven through any framework's agent against the emulator.

An `Agent` wraps one framework's pipeline or agent session: it says text, speaks audio frames,
and reports the replies the app ended up with (a retracted partial is not one) and the notices
it was shown. `run` plays a scenario and returns an `Outcome`; the adapters' tests assert it is
perfect, and `make integrations-table` records the same for the frameworks' own services.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from relive.emulator import REPLY_PATTERN, Emulator

MODEL = "models/gemini-live-2.5-flash-preview"
# Long enough that drop_mid_turn cuts it after its first chunk.
LONG = "tell me a long story about " + " ".join(f"word{i}" for i in range(20))
SPEECH_S = 0.6
SCENARIOS = ["text turns", "goAway", "drop between turns", "drop mid-reply", "expired handle"]


class Agent(Protocol):
    answers: list[str]  # the replies the app has, in order (retracted partials excluded)
    notices: list[str]  # what the app was told (new session, errors)
    ended: bool  # the framework ended the agent's session (it takes no more input)

    async def say(self, text: str) -> None: ...

    async def speak(self, pcm16k: bytes) -> None: ...

    async def changed(self) -> None:
        """Return once `answers` or `notices` may have changed."""
        ...


def speech(seconds: float = SPEECH_S, silence: float = 0.8) -> bytes:
    """16 kHz 16-bit mono PCM: a loud tone the emulator's VAD hears, then the silence that ends
    the utterance."""
    rate = 16000
    tone = b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * 220 * i / rate)))
        for i in range(int(seconds * rate))
    )
    return tone + bytes(2 * int(silence * rate))


@dataclass
class Outcome:
    """What the app got for each thing said: `got[i]` lists the turn numbers of its replies."""

    scenario: str
    said: list[str] = field(default_factory=list)
    got: list[list[int]] = field(default_factory=list)
    expected: list[int] = field(default_factory=list)  # the emulator's turn number per turn
    notices: list[str] = field(default_factory=list)
    notice_expected: bool = False
    extra: list[str] = field(default_factory=list)  # replies to nothing said
    ended: bool = False

    @property
    def answered_once(self) -> int:
        return sum(1 for g in self.got if len(g) == 1)

    @property
    def lost(self) -> int:
        return sum(1 for g in self.got if not g)

    @property
    def repeated(self) -> int:
        return sum(1 for g in self.got if len(g) > 1)

    @property
    def numbered_as_expected(self) -> bool:
        return all(g == [n] for g, n in zip(self.got, self.expected, strict=True) if g)

    @property
    def context_kept(self) -> bool:
        """The emulator's turn number went on (a lost turn leaves no gap: the server never had
        it); it started again only where a new session was expected."""
        pairs = [(g[0], n) for g, n in zip(self.got, self.expected, strict=True) if g]
        return all((b[0] > a[0]) == (b[1] > a[1]) for a, b in itertools.pairwise(pairs))

    @property
    def announced(self) -> bool:
        return bool(self.notices) == self.notice_expected and not self.ended

    @property
    def perfect(self) -> bool:
        return (
            self.answered_once == len(self.said)
            and self.numbered_as_expected
            and self.context_kept
            and self.announced
            and not self.extra
        )

    def summary(self) -> str:
        parts = [f"{self.answered_once}/{len(self.said)} answered once"]
        if self.lost:
            parts.append(f"{self.lost} lost")
        if self.repeated:
            parts.append(f"{self.repeated} answered twice")
        if self.extra:
            parts.append(f"{len(self.extra)} stray replies")
        if not self.context_kept:
            parts.append("context lost")
        if self.ended:
            parts.append(f"session ended ({len(self.notices)} errors shown)")
        elif self.notice_expected:
            parts.append("new session announced" if self.notices else "new session NOT announced")
        elif self.notices:
            parts.append(f"{len(self.notices)} errors shown")
        return ", ".join(parts)


def _matches(reply: str, said: str) -> int | None:
    m = REPLY_PATTERN.search(reply)
    if m is None:
        return None
    # LiveKit's plugin adds a "." user turn after the user's text for some models (a reply
    # placeholder); the emulator quotes the texts of one turn joined by a space.
    text = m.group("text").removesuffix(" .")
    if text == said or (said.startswith("[audio") and text.startswith("[audio")):
        return int(m.group("n"))
    return None


class Run:
    """One scenario: says things in order, waits (bounded) for each reply."""

    def __init__(self, agent: Agent, emu: Emulator, name: str, wait_s: float) -> None:
        self.agent = agent
        self.emu = emu
        self.outcome = Outcome(name)
        self.wait_s = wait_s

    async def until(self, predicate: Callable[[], bool], timeout: float | None = None) -> bool:  # noqa: ASYNC109
        try:
            async with asyncio.timeout(self.wait_s if timeout is None else timeout):
                while not predicate():
                    await self.agent.changed()
        except TimeoutError:
            return False
        return True

    def _answered(self, said: str) -> bool:
        return any(_matches(a, said) is not None for a in self.agent.answers)

    async def turn(self, text: str, expect_n: int, *, wait: bool = True) -> None:
        self.outcome.said.append(text)
        self.outcome.expected.append(expect_n)
        await self.agent.say(text)
        if wait:
            await self.until(lambda: self._answered(text))

    async def spoken_turn(self, expect_n: int) -> None:
        said = f"[audio {SPEECH_S:.2f} s]"
        self.outcome.said.append(said)
        self.outcome.expected.append(expect_n)
        await self.agent.speak(speech())
        await self.until(lambda: self._answered(said))

    def finish(self) -> Outcome:
        out = self.outcome
        answers = list(self.agent.answers)
        used: set[int] = set()
        for said in out.said:
            got = []
            for i, a in enumerate(answers):
                n = _matches(a, said)
                if n is not None and i not in used:
                    got.append(n)
                    used.add(i)
            out.got.append(got)
        out.extra = [a for i, a in enumerate(answers) if i not in used]
        out.notices = list(self.agent.notices)
        out.ended = self.agent.ended
        return out


async def run(name: str, agent: Agent, emu: Emulator, wait_s: float = 8.0) -> Outcome:
    """Play scenario `name` on a fresh conversation; bounded waits, so a lost turn costs
    `wait_s` rather than a hang."""
    r = Run(agent, emu, name, wait_s)
    steps: dict[str, Callable[[], Awaitable[None]]] = {
        "text turns": lambda: _text_turns(r),
        "goAway": lambda: _goaway(r),
        "drop between turns": lambda: _drop_between(r),
        "drop mid-reply": lambda: _drop_mid_reply(r),
        "expired handle": lambda: _expired(r),
    }
    await steps[name]()
    # Anything still on its way (a late duplicate) is counted too.
    await r.until(lambda: False, timeout=0.3)
    return r.finish()


async def _handle_after_turn(r: Run) -> None:
    """Wait until the emulator issued the resumable handle that follows the last turn."""
    turns = [e for e in r.emu.events if e.kind == "turn_complete"]
    await r.emu.wait_event("handle_issued", after=turns[-1].seq if turns else 0, timeout=5)


async def _text_turns(r: Run) -> None:
    await r.turn("hello", 1)
    await r.spoken_turn(2)
    await r.turn("and text again", 3)


async def _goaway(r: Run) -> None:
    await r.turn("one", 1)
    await _handle_after_turn(r)
    r.emu.faults.goaway_now(time_left=1.0)
    await r.turn("two", 2)  # sent while the connection drains and is replaced
    await r.turn("three", 3)


async def _drop_between(r: Run) -> None:
    await r.turn("one", 1)
    await _handle_after_turn(r)
    r.emu.faults.drop()
    await r.turn("two", 2)  # sent during the reconnect
    await r.turn("three", 3)


async def _drop_mid_reply(r: Run) -> None:
    await r.turn("one", 1)
    await _handle_after_turn(r)
    r.emu.faults.drop_mid_turn()
    await r.turn(LONG, 2)
    await r.turn("three", 3)


async def _expired(r: Run) -> None:
    r.outcome.notice_expected = True
    await r.turn("one", 1)
    await _handle_after_turn(r)
    r.emu.faults.expire_all_handles()
    r.emu.faults.drop()
    await r.turn("two", 1)  # a new session: the emulator counts from 1 again
    await r.turn("three", 2)
