"""Media input: bytes on the wire, media time, its tokens and the session limits it hits."""

from __future__ import annotations

import binascii
import functools
import re
from typing import Any

from relive.emulator import _closes as closes
from relive.emulator._codec import ProtocolError, shown
from relive.emulator._model import Conversation
from relive.emulator._settings import EmulatorSettings


def decode_bytes(data: Any, field: str) -> bytes:
    """Proto JSON bytes of `realtime_input.{field}.data`: standard or URL-safe base64, padding
    optional; decoded once, by the strict decoder (`base64.b64decode(validate=True)`'s own)."""
    try:
        text = data if type(data) is str else str(data or "")
        if "-" in text or "_" in text:
            text = text.replace("-", "+").replace("_", "/")
        if pad := -len(text) % 4:
            text += "=" * pad
        return binascii.a2b_base64(text, strict_mode=True)
    except (binascii.Error, ValueError, TypeError):
        where = f"realtime_input.{field}.data"
        raise ProtocolError(closes.invalid(f"Invalid value at '{where}' (TYPE_BYTES).")) from None


# Input sample rates the emulator takes. The VAD's work per byte grows as the rate falls, so an
# absurd rate (`rate=1`) would make one frame stall every connection; the real service resamples
# telephone to studio rates.
MIN_RATE, MAX_RATE = 8_000, 192_000
DEFAULT_RATE = 16_000
_RATE_PARAM = re.compile(r";\s*rate=([^;]*)", re.IGNORECASE)


def audio_rate(mime_type: str, field: str) -> int:
    """Sample rate of `audio/pcm;rate=N` (16 kHz when not given); 1007 for a bad or absurd one
    (at `realtime_input.{field}.mime_type`)."""
    short = len(mime_type) <= 100  # only short ones are kept (a client chooses what it sends)
    rate = _rate(mime_type) if short else _rate.__wrapped__(mime_type)
    if rate is not None:
        return rate
    match = _RATE_PARAM.search(mime_type)
    value = match.group(1).strip() if match else ""
    where = f"realtime_input.{field}.mime_type"
    raise ProtocolError(
        closes.invalid(
            f"Invalid value at '{where}': rate must be whole Hz from {MIN_RATE} to {MAX_RATE} "
            f"(got {shown(value, 12)})."
        )
    )


@functools.lru_cache(maxsize=64)  # a stream repeats one mime type: parse it once
def _rate(mime_type: str) -> int | None:
    """The rate `mime_type` names (the default when none), None when it is bad or absurd."""
    match = _RATE_PARAM.search(mime_type)
    if match is None:
        return DEFAULT_RATE
    value = match.group(1).strip()
    if re.fullmatch(r"[0-9]{1,7}", value) and MIN_RATE <= int(value) <= MAX_RATE:
        return int(value)
    return None


def add_media(conv: Conversation, audio: float, video: float) -> Conversation:
    """Account seconds of audio and video frames (1 s each) in the session's media time."""
    return conv.with_media(conv.audio_seconds + audio, conv.video_seconds + video)


def media_tokens(audio: float, video: float, settings: EmulatorSettings) -> float:
    """Tokens this media costs at the documented rates, unrounded: a 20 ms chunk costs a
    fraction of a token, so the caller sums chunks and rounds once per turn."""
    return audio * settings.audio_tokens_per_second + video * settings.video_tokens_per_frame


def check_session_limit(conv: Conversation, settings: EmulatorSettings) -> None:
    """Without compression: audio-only and audio+video sessions end at their media-time limit."""
    if conv.video_seconds > 0:
        used = max(conv.audio_seconds, conv.video_seconds)
        if used > settings.audio_video_session_limit:
            limit = settings.audio_video_session_limit
            raise ProtocolError(closes.session_limit(limit, "audio+video"))
    elif conv.audio_seconds > settings.audio_session_limit:
        raise ProtocolError(closes.session_limit(settings.audio_session_limit, "audio-only"))
