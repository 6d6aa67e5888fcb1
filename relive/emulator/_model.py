"""The scripted model: deterministic replies that make the model's context visible.

Reply to a user turn: ``You said: {user_text}. (turn {N}, remembers {K})`` where N counts the
session's user turns (surviving resumption) and K the user turns still in the context window.
Function calls (their trigger phrases and results) are in `tools.py`.
"""

from __future__ import annotations

import array
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace

REPLY_FORMAT = "You said: {user_text}. (turn {n}, remembers {k})"
REPLY_PATTERN = re.compile(r"You said: (?P<text>.*)\. \(turn (?P<n>\d+), remembers (?P<k>\d+)\)")
# A reply quotes at most this many characters of the user's text (and of a tool result): what a
# client sends may be megabytes, what the model says back stays small.
MAX_QUOTED_CHARS = 2000


def reply_text(user_text: str, n: int, k: int, *results: str) -> str:
    """The scripted reply; function results (already quoted), when there are some, follow it."""
    return " ".join((REPLY_FORMAT.format(user_text=quoted(user_text), n=n, k=k), *results))


def quoted(text: str) -> str:
    """`text`, cut to `MAX_QUOTED_CHARS` (with an ellipsis) when longer."""
    return text if len(text) <= MAX_QUOTED_CHARS else text[:MAX_QUOTED_CHARS] + "…"


def split_chunks(text: str, words_per_chunk: int) -> Iterator[str]:
    """Split text into streamed chunks of a few words, lazily; joined back they give `text`.

    Words are separated by single spaces; a chunk keeps the space that follows its last word.
    """
    step = max(1, words_per_chunk)
    start = 0
    while True:
        end = start
        for _ in range(step):
            end = text.find(" ", end)
            if end < 0:
                yield text[start:]
                return
            end += 1
        yield text[start:end]
        start = end


def text_tokens(text: str, chars_per_token: float) -> int:
    """Tokens a text costs at the documented rate (~4 characters per token)."""
    return math.ceil(len(text) / chars_per_token) if text else 0


def speech_pcm(seconds: float, rate: int) -> bytes:
    """Deterministic 16-bit mono PCM of a quiet 220 Hz tone lasting `seconds`."""
    count = max(0, round(seconds * rate))
    samples = array.array(
        "h", (int(3000 * math.sin(2 * math.pi * 220 * i / rate)) for i in range(count))
    )
    return samples.tobytes()


@dataclass(frozen=True)
class Turn:
    """One entry of the context window."""

    role: str  # "user" or "model"
    text: str
    tokens: int


@dataclass(frozen=True)
class Conversation:
    """The session state a resumption handle snapshots (immutable, so snapshots are free)."""

    turns: tuple[Turn, ...] = ()
    user_turns: int = 0  # user turns ever (the `turn N` of replies)
    audio_seconds: float = 0.0
    video_seconds: float = 0.0
    dropped_turns: int = 0
    tokens: int = 0  # tokens of `turns`, kept in step with them
    remembered: int = 0  # user turns in `turns` (the `remembers K` of replies)

    def add(self, role: str, text: str, tokens: int) -> Conversation:
        user = 1 if role == "user" else 0
        return replace(
            self,
            turns=(*self.turns, Turn(role, text, tokens)),
            user_turns=self.user_turns + user,
            tokens=self.tokens + tokens,
            remembered=self.remembered + user,
        )

    def with_media(self, audio_seconds: float, video_seconds: float) -> Conversation:
        """This state with its media time set: `dataclasses.replace` without its generic work
        (once per audio chunk; a test holds it to `replace`)."""
        return Conversation(
            self.turns,
            self.user_turns,
            audio_seconds,
            video_seconds,
            self.dropped_turns,
            self.tokens,
            self.remembered,
        )

    def compress(self, trigger: int, target: int) -> Conversation:
        """Sliding window: past `trigger` tokens, drop the oldest turns down to `target`."""
        if self.tokens <= trigger:
            return self
        total, remembered, cut = self.tokens, self.remembered, 0
        while cut < len(self.turns) and total > target:
            total -= self.turns[cut].tokens
            remembered -= self.turns[cut].role == "user"
            cut += 1
        return replace(
            self,
            turns=self.turns[cut:],
            dropped_turns=self.dropped_turns + cut,
            tokens=total,
            remembered=remembered,
        )
