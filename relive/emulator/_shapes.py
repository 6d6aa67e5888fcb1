"""Optional shapes of server messages the real service sends, and what asks for them.

Thought parts (`generationConfig.thinkingConfig`), the prompt-side token counts of
`usageMetadata` (a hidden preamble, the system instruction and the tools count, not only the
conversation), voice-activity signals (`explicitVadSignal`) and the model waiting for more input.
Field names from google-genai 3.6.1 `types.py` (`LiveServerContent`, `UsageMetadata`,
`VoiceActivity`, `VoiceActivityDetectionSignal`, `ThinkingConfig`).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from relive.emulator._codec import JsonDict, format_duration
from relive.emulator._model import text_tokens


@dataclass(frozen=True)
class Thinking:
    """`thinkingConfig` as the scripted model uses it."""

    include_thoughts: bool
    budget: int | None  # None or -1: dynamic (no cap)


def thinking_of(generation_config: Any) -> Thinking | None:
    """Thinking is on when `thinkingConfig` is given without `thinkingBudget: 0`."""
    if not isinstance(generation_config, dict):
        return None
    config = generation_config.get("thinkingConfig")
    if not isinstance(config, dict):
        return None
    budget = config.get("thinkingBudget")
    budget = (
        int(budget) if isinstance(budget, int | str) and str(budget).lstrip("-").isdigit() else None
    )
    if budget == 0:
        return None
    return Thinking(bool(config.get("includeThoughts")), budget)


def thought_text(reply: str) -> str:
    """The scripted model's thought before a reply (deterministic, so tests can check it)."""
    return f"Thinking: the scripted reply has {len(reply.split())} words."


def thought_tokens(thinking: Thinking, reply: str, chars_per_token: float) -> int:
    """`thoughtsTokenCount` of one reply: its thought's tokens, capped by a positive budget."""
    tokens = text_tokens(thought_text(reply), chars_per_token)
    if thinking.budget is not None and thinking.budget > 0:
        tokens = min(tokens, thinking.budget)
    return tokens


def instruction_tokens(system_instruction: Any, chars_per_token: float) -> int:
    """Tokens of a system instruction (a string, a Content or a list of parts)."""
    return text_tokens(" ".join(_texts(system_instruction)), chars_per_token)


def _texts(node: Any) -> Iterator[str]:
    """The strings of a system instruction, in order (a module function, not a recursive
    closure: that would be a reference cycle per setup, left for the garbage collector)."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        if isinstance(node.get("text"), str):
            yield node["text"]
        yield from _texts(node.get("parts"))
    elif isinstance(node, list):
        for item in node:
            yield from _texts(item)


def tool_tokens(tools: Any, chars_per_token: float) -> int:
    """Tokens of the declared tools, counted as their JSON."""
    if not tools:
        return 0
    return text_tokens(json.dumps(tools, sort_keys=True), chars_per_token)


def waiting_for_more(user_text: str) -> bool:
    """A user turn that trails off ("...") leaves the model waiting for the rest."""
    return user_text.rstrip().endswith(("...", "…"))


WAITING = {
    "serverContent": {
        "turnComplete": True,
        "waitingForInput": True,
        "turnCompleteReason": "NEED_MORE_INPUT",
    }
}


def voice_activity(start: bool, audio_offset: float) -> list[JsonDict]:
    """Both voice-activity messages for a start or end of speech."""
    kind = "ACTIVITY_START" if start else "ACTIVITY_END"
    signal = "VAD_SIGNAL_TYPE_SOS" if start else "VAD_SIGNAL_TYPE_EOS"
    return [
        {"voiceActivityDetectionSignal": {"vadSignalType": signal}},
        {
            "voiceActivity": {
                "voiceActivityType": kind,
                "audioOffset": format_duration(audio_offset),
            }
        },
    ]


_SALT = secrets.token_hex(16)


def session_label(session_id: str | None) -> str:
    """`setupComplete.sessionId`: opaque, the same for every connection of one session (so a
    resumption keeps it), never the registry's internal id."""
    return hashlib.sha256(f"{_SALT}:{session_id}".encode()).hexdigest()[:32]
