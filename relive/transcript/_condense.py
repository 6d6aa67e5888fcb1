"""Condensing a long history: older turns folded into a short summary, recent ones verbatim.

The summarizer is pluggable (an LLM call, say); the default is deterministic and offline, so a
resumed call can show "what we talked about" without a network round trip.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from relive.transcript._transcript import Turn


class Summarizer(Protocol):
    """Folds `turns` (oldest first) into a summary that extends `previous`."""

    def summarize(self, turns: Sequence[Turn], *, previous: str) -> str:
        """A short text covering `previous` and `turns`, to stand in for them."""
        ...


@dataclass(frozen=True)
class Condensed:
    """A condensed transcript: `summary` of `folded_turns` older turns, then `recent` verbatim."""

    summary: str
    folded_turns: int
    recent: list[Turn] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The condensed view as a JSON-ready dict."""
        return {
            "summary": self.summary,
            "folded_turns": self.folded_turns,
            "recent": [t.to_dict() for t in self.recent],
        }

    def render(self) -> str:
        """Plain text, e.g. for a system instruction or a terminal."""
        lines = []
        if self.summary:
            lines.append(f"Earlier ({self.folded_turns} turns): {self.summary}")
        for t in self.recent:
            mark = " [interrupted]" if t.interrupted else ""
            lines.append(f"{t.role}: {t.text}{mark}")
        return "\n".join(lines)


class ExtractiveSummarizer:
    """Keeps the gist of what the user said: the first words of each user turn, newest kept.

    Deterministic and offline. `max_topics` bounds the summary, so folding never grows it without
    limit; `words` is how much of each user turn is kept.
    """

    def __init__(self, *, max_topics: int = 8, words: int = 8) -> None:
        if max_topics < 1 or words < 1:
            raise ValueError("max_topics and words must be at least 1")
        self.max_topics = max_topics
        self.words = words

    def summarize(self, turns: Sequence[Turn], *, previous: str) -> str:
        """`previous` plus the first `words` words of each user turn, the newest `max_topics`."""
        topics = [t for t in previous.split("; ") if t] if previous else []
        for turn in turns:
            if turn.role != "user" or not turn.text.strip():
                continue
            words = turn.text.split()
            topic = " ".join(words[: self.words]) + ("…" if len(words) > self.words else "")
            topics.append(topic.replace("; ", ", "))
        return "; ".join(topics[-self.max_topics :])
