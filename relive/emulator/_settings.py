"""Every limit and rate of the emulator, in one frozen dataclass.

Defaults follow the real service where it is documented or reported (see docs/emulator.md);
tests shrink them (a "ten-minute" connection lasting one second) with `dataclasses.replace`.
Settings that default to `None` (or "") take the value of the model's profile (profiles.py).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True)
class EmulatorSettings:
    """Limits, rates and pacing of the emulated Live service."""

    # Checking: strict rejects what the real API rejects (unknown fields, bad enums, per-model
    # and per-version rules); lenient accepts any model and any field the emulator can read.
    strict: bool = True
    # A model not in the catalogue: "" closes 1008 as the real service does; a profile name
    # (`2.5-half-cascade`, ...) accepts it with that profile's rules.
    unknown_model_profile: str = ""
    # Per-profile rules; None takes the profile's value (see profiles.py).
    connection_lifetime: float | None = None  # socket open to the deadline close
    goaway_lead: float | None = None  # goAway this long before that close
    idle_timeout: float | None = None  # abort after this long without client input; 0: never
    handle_interval: float | None = None  # streaming profiles: seconds between handles
    first_handle: str = ""  # "setup" or "first_turn": when the first resumable handle comes
    # Resumption handles stay valid this long after the session's last connection ends.
    handle_ttl: float = 7200.0
    # The silent-drop fault: the server holds the dropped socket (refusing resumes) this long.
    silent_drop_hold: float = 900.0
    # After a connection ends, its session stays held (a resumption refused, 1011) this long.
    # 0: let go at the client's close frame (once what came before it is taken in) or the
    # socket's end. The real service was reported (medium confidence) to refuse an immediate
    # resume after a clean close once, and take it ~1 s later.
    release_delay: float = 0.0
    # Context window (tokens) and the token rates used to fill it.
    context_window_tokens: int = 128_000
    chars_per_text_token: float = 4.0
    audio_tokens_per_second: float = 32.0
    video_tokens_per_frame: float = 258.0
    # Tokens of the model's hidden preamble, counted in every promptTokenCount.
    preamble_tokens: int = 500
    # Session limits without contextWindowCompression, counted in media time.
    audio_session_limit: float = 900.0
    audio_video_session_limit: float = 120.0
    # Compression defaults when setup leaves them out (fractions of the context window).
    default_trigger_fraction: float = 0.8
    default_target_fraction_of_trigger: float = 0.5
    # Pacing of the scripted model.
    chunk_interval: float = 0.02
    chunk_words: int = 3
    first_chunk_delay: float = 0.0
    # AUDIO output: speaking rate and how long turnComplete lags generationComplete.
    output_sample_rate: int = 24_000
    speech_seconds_per_char: float = 0.06
    turn_complete_lag_factor: float = 1.0
    # Input audio voice-activity detection (int16 RMS) and default end-of-speech silence.
    vad_energy_threshold: float = 500.0
    default_silence_duration_ms: int = 500
    # Frames larger than this close the connection with 1007.
    max_frame_bytes: int = 16 * 1024 * 1024
    # A connection that sends no setup this long after it opened is closed (1008).
    setup_timeout: float = 30.0
    # WebSocket pings to every client; a ping (or a close) unanswered for `keepalive_timeout`
    # drops a half-open peer (0 turns the pings off).
    keepalive_interval: float = 20.0
    keepalive_timeout: float = 20.0

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name in _NOT_NUMBERS or (value is None and f.name in _OPTIONAL):
                continue
            if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                raise ValueError(f"EmulatorSettings.{f.name} must be a number >= 0, got {value!r}")
        if not isinstance(self.strict, bool):
            raise ValueError(f"EmulatorSettings.strict must be a bool, got {self.strict!r}")
        if self.first_handle not in ("", "setup", "first_turn"):
            raise ValueError(
                "EmulatorSettings.first_handle must be '', 'setup' or 'first_turn', "
                f"got {self.first_handle!r}"
            )
        if self.unknown_model_profile:
            from relive.emulator._profiles import profile_named

            profile_named(self.unknown_model_profile)  # ValueError naming the known ones
        for name in (
            "connection_lifetime",
            "context_window_tokens",
            "chars_per_text_token",
            "output_sample_rate",
            "chunk_words",
            "default_silence_duration_ms",
            "max_frame_bytes",
            "setup_timeout",
        ):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"EmulatorSettings.{name} must be > 0")

    @staticmethod
    def help(name: str) -> str:
        """One line on a setting, with its unit (for `relive emulator --help`)."""
        return HELP.get(name, "")

    def replace(self, **changes: object) -> EmulatorSettings:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


_NOT_NUMBERS = frozenset({"strict", "unknown_model_profile", "first_handle"})
_OPTIONAL = frozenset(
    {
        "connection_lifetime",
        "goaway_lead",
        "idle_timeout",
        "handle_interval",
    }
)

HELP = {
    "strict": "reject what the real API rejects (unknown fields, bad enums, model rules)",
    "unknown_model_profile": "accept models not in the catalogue with this profile's rules",
    "connection_lifetime": "seconds a connection lives before the deadline close (profile's)",
    "goaway_lead": "seconds between goAway and that close, capped by the lifetime (profile's)",
    "idle_timeout": "seconds without client input before a 1008 abort, 0 never (profile's)",
    "handle_interval": "streaming profiles: seconds between resumption handles (profile's)",
    "first_handle": "'setup' or 'first_turn': when the first resumable handle comes (profile's)",
    "handle_ttl": "seconds a handle stays valid after its session's last connection ends",
    "silent_drop_hold": "silent-drop fault: seconds the server holds the dead socket (1011)",
    "release_delay": "seconds a session stays held (resume refused, 1011) after its close",
    "context_window_tokens": "context window in tokens (1007 close on overflow, no compression)",
    "chars_per_text_token": "characters of text per token",
    "audio_tokens_per_second": "tokens per second of audio (input and output)",
    "video_tokens_per_frame": "tokens per video frame",
    "preamble_tokens": "tokens of the hidden preamble counted in every promptTokenCount",
    "audio_session_limit": "seconds of audio media time without compression",
    "audio_video_session_limit": "seconds of media time once video is sent, without compression",
    "default_trigger_fraction": "triggerTokens default, as a fraction of the context window",
    "default_target_fraction_of_trigger": "targetTokens default, as a fraction of triggerTokens",
    "chunk_interval": "seconds between streamed reply chunks",
    "chunk_words": "words per streamed text chunk",
    "first_chunk_delay": "seconds before the first chunk of a reply",
    "output_sample_rate": "Hz of output audio",
    "speech_seconds_per_char": "seconds of output audio per character of reply",
    "turn_complete_lag_factor": "AUDIO: turnComplete comes playback time x this after audio",
    "vad_energy_threshold": "int16 RMS of a 10 ms frame that counts as speech",
    "default_silence_duration_ms": "ms of silence ending a spoken turn (setup may override)",
    "max_frame_bytes": "largest client frame in bytes (1007 close above)",
    "setup_timeout": "seconds a new connection has to send setup (1008 close after)",
    "keepalive_interval": "seconds between the server's WebSocket pings (0: no pings)",
    "keepalive_timeout": "seconds a ping or close may go unanswered before the peer is dropped",
}
