"""Model profiles: the Live model families and the rules the real service applies to each.

The model named in `setup` picks a profile; the profile fixes the connection's lifetime and
goAway lead, how the deadline close reads, the idle abort, when resumption handles are sent,
when `turnComplete` comes, which response modalities and fields the model takes. Settings left
at `None` take the profile's value; a setting given explicitly wins (tests shrink ten minutes to
one second that way). Each rule's source is in docs/emulator.md ("Model profiles").
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass

from relive.emulator._closes import GOAWAY_IGNORED, CloseReason
from relive.emulator._settings import EmulatorSettings


class Handles(enum.Enum):
    """When the server sends `sessionResumptionUpdate`."""

    TURNS = "turns"  # resumable after each finished turn, not resumable while one runs (2.x)
    STREAMING = "streaming"  # every `handle_interval` while input streams, none idle (3.1)
    ONCE = "once"  # one handle right after setupComplete, always naming the latest state (3.8)


class FirstHandle(enum.Enum):
    """For `Handles.TURNS`: when the first resumable handle comes."""

    SETUP = "setup"  # right after setupComplete
    FIRST_TURN = "first_turn"  # after the first finished turn (a drop before it has no handle)


class TurnCompleteFrom(enum.Enum):
    """What the AUDIO `turnComplete` lag is counted from."""

    GENERATION_COMPLETE = "generation_complete"  # playback time after generationComplete (2.x)
    FIRST_AUDIO = "first_audio"  # first audio chunk + audio length (3.1)


@dataclass(frozen=True)
class ModelProfile:
    """One family of Live models and its rules (values as reported of the real service)."""

    name: str
    models: tuple[str, ...]  # model ids as the Developer API names them (no `models/`)
    modalities: tuple[str, ...]  # response modalities the model takes
    connection_lifetime: float  # socket open to the deadline
    goaway_lead: float  # goAway this long before the deadline
    deadline_close: CloseReason  # the close at the deadline after a goAway
    idle_timeout: float | None  # seconds without client input before an abort (None: never)
    handles: Handles
    first_handle: FirstHandle
    handle_interval: float  # STREAMING: at most one handle per this many seconds of input
    turn_complete_from: TurnCompleteFrom
    native_audio_features: bool  # takes proactivity and affective dialog (v1alpha)
    client_content_history_only: bool  # clientContent only as initial history (3.1)
    media_chunks: bool  # takes the deprecated realtimeInput.mediaChunks
    summary: str
    async_calls: bool = True  # takes NON_BLOCKING functions (3.1 does not: every call blocks)
    non_blocking_default: bool = False  # a declaration without `behavior` is NON_BLOCKING (3.8)

    @property
    def model(self) -> str:
        """A model name that selects this profile (`models/<first id>`)."""
        return f"models/{self.models[0]}"


_AUDIO = ("AUDIO",)
_BOTH = ("TEXT", "AUDIO")

NATIVE_AUDIO = ModelProfile(
    name="2.5-native-audio",
    models=(
        "gemini-2.5-flash-native-audio-preview-12-2025",
        "gemini-2.5-flash-native-audio-preview-09-2025",
        "gemini-2.5-flash-native-audio-latest",
        "gemini-2.5-flash-preview-native-audio-dialog",
        "gemini-2.5-flash-exp-native-audio-thinking-dialog",
        "gemini-live-2.5-flash-native-audio",
        "gemini-live-2.5-flash-preview-native-audio-09-2025",
    ),
    modalities=_AUDIO,
    connection_lifetime=590.0,
    goaway_lead=50.0,
    deadline_close=GOAWAY_IGNORED,
    idle_timeout=None,
    handles=Handles.TURNS,
    first_handle=FirstHandle.FIRST_TURN,
    handle_interval=0.0,
    turn_complete_from=TurnCompleteFrom.GENERATION_COMPLETE,
    native_audio_features=True,
    client_content_history_only=False,
    media_chunks=True,
    summary="Gemini 2.5 Flash native audio: AUDIO only; proactivity and affective dialog (v1alpha)",
)

# The other families, as what sets them apart from the 2.5 native-audio models.
HALF_CASCADE = dataclasses.replace(
    NATIVE_AUDIO,
    name="2.5-half-cascade",
    models=(
        "gemini-live-2.5-flash-preview",
        "gemini-live-2.5-flash",
        "gemini-2.0-flash-live-001",
        "gemini-2.0-flash-live-preview-04-09",
    ),
    modalities=_BOTH,
    native_audio_features=False,
    summary="half-cascade (gemini-live-2.5-flash*, 2.0 flash live): TEXT or AUDIO",
)

FLASH_LIVE_31 = dataclasses.replace(
    NATIVE_AUDIO,
    name="3.1-flash-live",
    models=("gemini-3.1-flash-live-preview",),
    idle_timeout=160.0,
    handles=Handles.STREAMING,
    handle_interval=1.5,
    turn_complete_from=TurnCompleteFrom.FIRST_AUDIO,
    native_audio_features=False,
    client_content_history_only=True,
    media_chunks=False,
    summary="Gemini 3.1 Flash Live: AUDIO only, handles while input streams, idle abort",
    async_calls=False,
)

LIVE_38 = dataclasses.replace(
    NATIVE_AUDIO,
    name="3.8-live",
    models=("gemini-3.8-live",),
    connection_lifetime=301.0,
    goaway_lead=300.0,
    handles=Handles.ONCE,
    first_handle=FirstHandle.SETUP,
    native_audio_features=False,
    summary="gemini-3.8-live: goAway ~1 s in (300 s), one handle naming the latest state",
    non_blocking_default=True,
)

PROFILES: tuple[ModelProfile, ...] = (NATIVE_AUDIO, HALF_CASCADE, FLASH_LIVE_31, LIVE_38)
_BY_MODEL = {model: p for p in PROFILES for model in p.models}
_BY_NAME = {p.name: p for p in PROFILES}


def model_id(model: str) -> str:
    """`models/x`, `publishers/google/models/x` or `projects/.../models/x` -> `x`."""
    return model.rpartition("models/")[2] if "models/" in model else model


def profile_for(model: str) -> ModelProfile | None:
    """The profile of a model name as `setup.model` carries it, or None when not catalogued."""
    return _BY_MODEL.get(model_id(model))


def profile_named(name: str) -> ModelProfile:
    """A profile by its name (`2.5-native-audio`, ...); `ValueError` listing them otherwise."""
    try:
        return _BY_NAME[name]
    except KeyError:
        known = ", ".join(_BY_NAME)
        raise ValueError(f"unknown model profile {name!r} (known: {known})") from None


@dataclass(frozen=True)
class Rules:
    """The rules one connection runs by: its profile, with explicit settings applied."""

    profile: ModelProfile
    connection_lifetime: float
    goaway_lead: float
    idle_timeout: float | None
    handle_interval: float
    first_handle: FirstHandle
    turn_complete_lag_factor: float

    @property
    def deadline_close(self) -> CloseReason:
        return self.profile.deadline_close

    @property
    def handles(self) -> Handles:
        return self.profile.handles


def rules_for(profile: ModelProfile, settings: EmulatorSettings) -> Rules:
    """The profile's values, each replaced by the setting when that is not None."""

    def pick(setting: float | None, value: float) -> float:
        return value if setting is None else setting

    idle = profile.idle_timeout if settings.idle_timeout is None else settings.idle_timeout
    first = profile.first_handle
    if settings.first_handle:
        first = FirstHandle(settings.first_handle)
    return Rules(
        profile=profile,
        connection_lifetime=pick(settings.connection_lifetime, profile.connection_lifetime),
        goaway_lead=pick(settings.goaway_lead, profile.goaway_lead),
        idle_timeout=idle if idle else None,
        handle_interval=pick(settings.handle_interval, profile.handle_interval),
        first_handle=first,
        turn_complete_lag_factor=settings.turn_complete_lag_factor,
    )


# Before setup names a model, the socket runs by the settings or the half-cascade values.
PRE_SETUP = HALF_CASCADE
