"""What a `setup` message asks for, checked (per model and API version) with defaults filled in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from relive.emulator import _closes as closes
from relive.emulator._codec import JsonDict, ProtocolError, parse_int
from relive.emulator._profiles import (
    HALF_CASCADE,
    ModelProfile,
    Rules,
    profile_for,
    profile_named,
    rules_for,
)
from relive.emulator._profiles import model_id as profile_model_id
from relive.emulator._settings import EmulatorSettings
from relive.emulator._shapes import Thinking, instruction_tokens, thinking_of, tool_tokens
from relive.emulator._states import Auth
from relive.emulator._tools import declared_functions

MODALITIES = ("TEXT", "AUDIO")


@dataclass(frozen=True)
class SessionConfig:
    """The parts of `setup` the emulator acts on."""

    model: str
    modality: str
    input_transcription: bool
    output_transcription: bool
    resumption: bool
    handle: str | None
    transparent: bool
    compression: tuple[int, int] | None  # (triggerTokens, targetTokens)
    automatic_vad: bool
    silence_ms: int
    interrupts: bool
    functions: dict[str, bool]  # declared function -> NON_BLOCKING
    rules: Rules
    vertex: bool = False
    instruction_tokens: int = 0  # the system instruction's tokens (usageMetadata counts them)
    tool_tokens: int = 0  # the tools' tokens
    thinking: Thinking | None = None
    vad_signals: bool = False  # explicitVadSignal: voice-activity messages are sent
    history_in_client_content: bool = False  # historyConfig.initialHistoryInClientContent

    @property
    def profile(self) -> ModelProfile:
        return self.rules.profile


def _bad(reason: str) -> ProtocolError:
    return ProtocolError(closes.invalid(reason))


def _compression(raw: Any, settings: EmulatorSettings) -> tuple[int, int] | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("slidingWindow"), dict):
        return None  # without a sliding window, compression does not keep sessions alive
    try:
        default_trigger = int(settings.context_window_tokens * settings.default_trigger_fraction)
        trigger = parse_int(raw.get("triggerTokens"), default_trigger)
        default_target = int(trigger * settings.default_target_fraction_of_trigger)
        target = parse_int(raw["slidingWindow"].get("targetTokens"), default_target)
    except (TypeError, ValueError):
        raise _bad(
            "Invalid value at 'setup.context_window_compression': triggerTokens and "
            "targetTokens must be integers."
        ) from None
    if trigger <= 0 or target < 0 or target > trigger:
        raise _bad(
            "Invalid value at 'setup.context_window_compression': need 0 <= targetTokens <= "
            f"triggerTokens and triggerTokens > 0 (got trigger {trigger}, target {target})."
        )
    return trigger, target


def _profile(model: str, settings: EmulatorSettings, auth: Auth) -> ModelProfile:
    profile = profile_for(model)
    if profile is not None:
        return profile
    if settings.unknown_model_profile:
        return profile_named(settings.unknown_model_profile)
    if not settings.strict:
        return HALF_CASCADE  # takes TEXT and AUDIO, as the emulator always did
    raise ProtocolError(closes.model_not_found(model, auth.api_version))


def _model_rules(body: JsonDict, profile: ModelProfile, model: str, modality: str) -> None:
    """What this model family refuses (strict mode)."""
    if modality not in profile.modalities:
        raise ProtocolError(closes.modality_unsupported(modality, model))
    gen = body.get("generationConfig") or {}
    if not profile.native_audio_features and (
        "proactivity" in body or "enableAffectiveDialog" in gen
    ):
        raise ProtocolError(closes.INVALID_REQUEST)


def parse_setup(body: JsonDict, settings: EmulatorSettings, auth: Auth) -> SessionConfig:
    """Check a setup body and return what it asks for; `ProtocolError` when it is wrong."""
    vertex = auth.vertex
    model = body.get("model")
    if not model:
        raise _bad("Invalid value at 'setup.model': a model name is required.")
    profile = _profile(str(model), settings, auth)
    gen = body.get("generationConfig") or {}
    modalities = gen.get("responseModalities") or ["AUDIO"]
    if len(modalities) != 1 or modalities[0] not in MODALITIES:
        raise _bad(
            "Invalid value at 'setup.generation_config.response_modalities': exactly one of "
            f"TEXT or AUDIO is supported (got {modalities})."
        )
    if settings.strict:
        _model_rules(body, profile, profile_model_id(str(model)), modalities[0])
    resumption = body.get("sessionResumption")
    handle = None
    transparent = False
    if isinstance(resumption, dict):
        handle = resumption.get("handle") or None
        transparent = bool(resumption.get("transparent")) and vertex
    rt = body.get("realtimeInputConfig") or {}
    aad = rt.get("automaticActivityDetection") or {}
    silence_ms = aad.get("silenceDurationMs", settings.default_silence_duration_ms)
    if silence_ms <= 0:
        raise _bad("Invalid value at 'setup.realtime_input_config': silenceDurationMs must be > 0.")
    handling = rt.get("activityHandling") or "START_OF_ACTIVITY_INTERRUPTS"
    per_token = settings.chars_per_text_token
    return SessionConfig(
        model=str(model),
        modality=modalities[0],
        input_transcription="inputAudioTranscription" in body,
        output_transcription="outputAudioTranscription" in body,
        resumption=isinstance(resumption, dict),
        handle=handle,
        transparent=transparent,
        compression=_compression(body.get("contextWindowCompression"), settings),
        automatic_vad=not aad.get("disabled", False),
        silence_ms=int(silence_ms),
        interrupts=handling != "NO_INTERRUPTION",
        functions=declared_functions(
            body.get("tools"), profile.non_blocking_default, profile.async_calls
        ),
        vertex=vertex,
        instruction_tokens=instruction_tokens(body.get("systemInstruction"), per_token),
        tool_tokens=tool_tokens(body.get("tools"), per_token),
        thinking=thinking_of(gen),
        vad_signals=body.get("explicitVadSignal") is True,
        rules=rules_for(profile, settings),
        history_in_client_content=bool(
            (body.get("historyConfig") or {}).get("initialHistoryInClientContent")
        ),
    )
