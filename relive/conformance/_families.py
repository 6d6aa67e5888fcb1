"""What the real service is reported to do per Live model family: the conformance expectations.

Written from ../shared/docs/live-protocol.md ("Per model, as of late 2026") and the sources
named there, not from the emulator: the emulator is checked against these, and a run against
the real service shows where they (and so the emulator) are wrong. `None` means nothing is
reported: the check then shows what each side does and passes either way.

No handle before the first turn on 2.x is a reading of pipecat-ai/pipecat#4355 and #4328 and
pydantic/pydantic-ai#7188 (apps that lost a session dropped before its first handle), the same
reading docs/emulator.md gives; a run against the real service settles it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Family:
    """The reported behaviour of one family of Live models."""

    name: str
    example: str  # a model of this family, used when `--model` is not given
    text_output: bool  # takes responseModalities TEXT
    client_content_mid_session: bool  # a clientContent turn after setup is answered
    media_chunks: bool | None  # takes the deprecated realtimeInput.mediaChunks
    handle_at_setup: bool | None  # a resumable handle right after setupComplete, unasked
    handle_after_turn: bool | None  # a resumable handle follows each turnComplete


NATIVE_AUDIO = Family(
    name="2.5-native-audio",
    example="gemini-2.5-flash-native-audio-preview-12-2025",
    text_output=False,
    client_content_mid_session=True,
    media_chunks=None,
    handle_at_setup=False,  # a drop before the first handle happens to real apps (below)
    handle_after_turn=True,
)
HALF_CASCADE = Family(
    name="2.5-half-cascade",
    example="gemini-live-2.5-flash-preview",
    text_output=True,
    client_content_mid_session=True,
    media_chunks=None,
    handle_at_setup=False,  # a drop before the first handle happens to real apps (below)
    handle_after_turn=True,
)
FLASH_LIVE_31 = Family(
    name="3.1-flash-live",
    example="gemini-3.1-flash-live-preview",
    text_output=False,
    client_content_mid_session=False,
    media_chunks=False,
    handle_at_setup=False,
    handle_after_turn=None,  # handles come while input streams, independent of turns
)
LIVE_38 = Family(
    name="3.8-live",
    example="gemini-3.8-live",
    text_output=False,
    client_content_mid_session=True,
    media_chunks=None,
    handle_at_setup=True,
    handle_after_turn=False,  # one handle after setup, none later
)
FAMILIES = (NATIVE_AUDIO, HALF_CASCADE, FLASH_LIVE_31, LIVE_38)


def family_of(model: str) -> Family:
    """The family of a model name (`models/` prefix or not); others count as half-cascade."""
    name = model.rpartition("/")[2].lower()
    if "native-audio" in name:
        return NATIVE_AUDIO
    if name.startswith("gemini-3.1-flash-live"):
        return FLASH_LIVE_31
    if name.startswith("gemini-3.8-live"):
        return LIVE_38
    return HALF_CASCADE
