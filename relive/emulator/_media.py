"""Media input: bytes on the wire, media time, its tokens and the session limits it hits."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import replace
from typing import Any

from relive.emulator import _closes as closes
from relive.emulator._codec import ProtocolError, shown
from relive.emulator._model import Conversation
from relive.emulator._settings import EmulatorSettings


def decode_bytes(data: Any, where: str) -> bytes:
    """Proto JSON bytes: standard or URL-safe base64, padding optional."""
    try:
        text = str(data or "").replace("-", "+").replace("_", "/")
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise ProtocolError(closes.invalid(f"Invalid value at '{where}' (TYPE_BYTES).")) from None


# Input sample rates the emulator takes. The VAD's work per byte grows as the rate falls, so an
# absurd rate (`rate=1`) would make one frame stall every connection; the real service resamples
# telephone to studio rates.
MIN_RATE, MAX_RATE = 8_000, 192_000
DEFAULT_RATE = 16_000
_RATE_PARAM = re.compile(r";\s*rate=([^;]*)", re.IGNORECASE)


def audio_rate(mime_type: str, where: str) -> int:
    """Sample rate of `audio/pcm;rate=N` (16 kHz when not given); 1007 for a bad or absurd one."""
    match = _RATE_PARAM.search(mime_type)
    if match is None:
        return DEFAULT_RATE
    value = match.group(1).strip()
    if re.fullmatch(r"[0-9]{1,7}", value) and MIN_RATE <= int(value) <= MAX_RATE:
        return int(value)
    raise ProtocolError(
        closes.invalid(
            f"Invalid value at '{where}': rate must be whole Hz from {MIN_RATE} to {MAX_RATE} "
            f"(got {shown(value, 12)})."
        )
    )


def add_media(conv: Conversation, audio: float, video: float) -> Conversation:
    """Account seconds of audio and video frames (1 s each) in the session's media time."""
    return replace(
        conv, audio_seconds=conv.audio_seconds + audio, video_seconds=conv.video_seconds + video
    )


def media_tokens(audio: float, video: float, settings: EmulatorSettings) -> int:
    """Tokens this media costs at the documented rates."""
    return round(audio * settings.audio_tokens_per_second) + round(
        video * settings.video_tokens_per_frame
    )


def check_session_limit(conv: Conversation, settings: EmulatorSettings) -> None:
    """Without compression: audio-only and audio+video sessions end at their media-time limit."""
    if conv.video_seconds > 0:
        used = max(conv.audio_seconds, conv.video_seconds)
        if used > settings.audio_video_session_limit:
            limit = settings.audio_video_session_limit
            raise ProtocolError(closes.session_limit(limit, "audio+video"))
    elif conv.audio_seconds > settings.audio_session_limit:
        raise ProtocolError(closes.session_limit(settings.audio_session_limit, "audio-only"))
