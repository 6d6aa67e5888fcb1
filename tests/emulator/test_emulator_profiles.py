"""Model profiles on the state machine (ManualClock, no sockets): each family's rules."""

from __future__ import annotations

import base64
import struct
from typing import Any

import pytest

from relive.emulator import _closes as closes
from relive.emulator._actions import Close
from relive.emulator._profiles import (
    FLASH_LIVE_31,
    HALF_CASCADE,
    LIVE_38,
    NATIVE_AUDIO,
    PROFILES,
    ModelProfile,
    profile_for,
    profile_named,
)
from relive.emulator._settings import EmulatorSettings
from tests.emulator.emulator_harness import Harness, Service

FAST = EmulatorSettings(chunk_interval=0.02, turn_complete_lag_factor=0.0)  # real cadence

AUDIO = {"responseModalities": ["AUDIO"]}


def pcm(seconds: float, loud: bool) -> str:
    count = int(16_000 * seconds)
    value = 8000 if loud else 0
    return base64.b64encode(struct.pack(f"<{count}h", *([value] * count))).decode()


def audio(seconds: float, loud: bool = True) -> dict[str, Any]:
    chunk = {"data": pcm(seconds, loud), "mimeType": "audio/pcm;rate=16000"}
    return {"realtimeInput": {"audio": chunk}}


def connect(
    model: str, settings: EmulatorSettings = FAST, api_version: str = "v1beta", **setup: Any
) -> Harness:
    setup.setdefault("generationConfig", AUDIO)
    return Service(settings).connect(api_version=api_version).setup(model=model, **setup)


# ----- the catalogue ------------------------------------------------------------------------


def test_every_model_name_form_finds_its_profile() -> None:
    for profile in PROFILES:
        for model in profile.models:
            assert profile_for(model) is profile
            assert profile_for(f"models/{model}") is profile
            assert (
                profile_for(f"projects/p/locations/l/publishers/google/models/{model}") is profile
            )
    assert profile_for("models/gemini-live") is None
    assert profile_named("3.1-flash-live") is FLASH_LIVE_31
    with pytest.raises(ValueError, match=r"known: 2\.5-native-audio"):
        profile_named("nope")


def test_unknown_model_closes_1008_with_the_real_reason_shape() -> None:
    conn = connect("models/gemini-9-ultra-live", api_version="v1alpha")
    assert conn.closed is not None and conn.closed.code == 1008
    assert conn.closed.reason.startswith(
        "models/gemini-9-ultra-live is not found for API version v1alpha, or is not supported "
        "for bidiGenerateContent."
    )
    assert len(conn.closed.reason.encode()) <= 123
    assert conn.sent == []


def test_a_setting_allows_a_model_not_in_the_catalogue() -> None:
    settings = FAST.replace(unknown_model_profile="3.1-flash-live")
    conn = connect("models/gemini-9-ultra-live", settings)
    assert conn.closed is None
    assert conn.machine.rules.profile is FLASH_LIVE_31
    with pytest.raises(ValueError, match="unknown model profile"):
        FAST.replace(unknown_model_profile="gemini-9")


def test_lenient_accepts_any_model_as_before() -> None:
    conn = connect("models/anything", FAST.replace(strict=False), generationConfig={})
    assert conn.closed is None and conn.kinds() == ["setupComplete"]


# ----- modalities and fields per model and API version --------------------------------------


@pytest.mark.parametrize("profile", [NATIVE_AUDIO, FLASH_LIVE_31, LIVE_38])
def test_text_on_an_audio_only_model_closes_1007(profile: Any) -> None:
    conn = connect(profile.model, generationConfig={"responseModalities": ["TEXT"]})
    assert conn.closed is not None and conn.closed.code == 1007
    reason = (
        "The requested combination of response modalities (TEXT) is not supported by the "
        f"model. {profile.model}"
    )
    assert conn.closed.reason == closes.fit_reason(reason)


def test_half_cascade_takes_text_and_audio() -> None:
    for modality in ("TEXT", "AUDIO"):
        conn = connect(HALF_CASCADE.model, generationConfig={"responseModalities": [modality]})
        assert conn.closed is None


@pytest.mark.parametrize(
    ("setup", "where", "name"),
    [
        ({"proactivity": {"proactiveAudio": True}}, "setup", "proactivity"),
        (
            {"generationConfig": {**AUDIO, "enableAffectiveDialog": True}},
            "setup.generation_config",
            "enableAffectiveDialog",
        ),
    ],
)
def test_v1alpha_only_fields_are_unknown_on_other_versions(
    setup: dict[str, Any], where: str, name: str
) -> None:
    for version in ("v1beta", "v1"):
        conn = connect(NATIVE_AUDIO.model, api_version=version, **setup)
        assert conn.closed is not None and conn.closed.code == 1007
        assert conn.closed.reason == (
            f"Invalid JSON payload received. Unknown name \"{name}\" at '{where}': "
            "Cannot find field."
        )
    assert connect(NATIVE_AUDIO.model, api_version="v1alpha", **setup).closed is None
    # Other families refuse them even on v1alpha.
    for profile in (HALF_CASCADE, FLASH_LIVE_31):
        conn = connect(profile.model, api_version="v1alpha", **setup)
        assert conn.closed == Close(1007, "Request contains an invalid argument.")


# ----- lifetime, goAway and the deadline close ----------------------------------------------


@pytest.mark.parametrize("profile", PROFILES)
def test_goaway_lead_lifetime_and_the_1008_deadline_close(profile: Any) -> None:
    conn = connect(profile.model, FAST.replace(idle_timeout=0))  # 3.1 would abort idle first
    lead, lifetime = profile.goaway_lead, profile.connection_lifetime
    conn.clear()
    conn.advance(lifetime - lead - 0.01)
    assert "goAway" not in conn.kinds()
    conn.advance(0.02)
    assert conn.sent[-1] == {"goAway": {"timeLeft": f"{lead:g}s"}}
    conn.advance(lead)
    assert conn.closed is not None and conn.closed.code == 1008
    assert conn.closed.reason.startswith(
        "Connection aborted because the client failed to close the connection after receiving "
        "a GoAway signal"
    )


def test_38_sends_goaway_about_a_second_in() -> None:
    conn = connect(LIVE_38.model)
    conn.advance(1.0)
    assert {"goAway": {"timeLeft": "300s"}} in conn.sent


def test_explicit_settings_override_the_profile() -> None:
    settings = FAST.replace(connection_lifetime=2.0, goaway_lead=0.5)
    conn = connect(NATIVE_AUDIO.model, settings)
    conn.advance(1.5)
    assert conn.sent[-1] == {"goAway": {"timeLeft": "0.5s"}}
    conn.advance(0.5)
    assert conn.closed is not None and conn.closed.code == 1008


# ----- idle abort -----------------------------------------------------------------------------


def test_31_aborts_an_idle_session_without_goaway() -> None:
    conn = connect(FLASH_LIVE_31.model)
    conn.advance(100.0)
    conn.send({"realtimeInput": {"text": "still here"}})
    conn.advance(159.0)  # the idle time counts from the last input
    assert conn.closed is None
    conn.advance(1.5)
    assert conn.closed == Close(1008, "The operation was aborted.")
    assert "goAway" not in conn.kinds()


def test_2x_never_aborts_an_idle_session() -> None:
    conn = connect(NATIVE_AUDIO.model)
    conn.advance(500.0)
    assert conn.closed is None


# ----- handle cadence -------------------------------------------------------------------------


def test_2x_first_handle_comes_after_the_first_turn_not_after_setup() -> None:
    conn = connect(HALF_CASCADE.model, sessionResumption={})
    assert conn.kinds() == ["setupComplete"]
    conn.send({"realtimeInput": {"text": "hi"}})
    conn.run_turn()
    kinds = conn.kinds()
    assert kinds[-2:] == ["serverContent.turnComplete", "sessionResumptionUpdate"]
    assert conn.updates()[-1]["resumable"] is True


def test_first_handle_at_setup_is_a_setting() -> None:
    conn = connect(NATIVE_AUDIO.model, FAST.replace(first_handle="setup"), sessionResumption={})
    assert conn.kinds() == ["setupComplete", "sessionResumptionUpdate"]
    with pytest.raises(ValueError, match="first_handle"):
        FAST.replace(first_handle="later")


def test_31_sends_handles_while_input_streams_and_none_while_idle() -> None:
    conn = connect(FLASH_LIVE_31.model)  # resumption not even asked for
    assert conn.kinds() == ["setupComplete"]
    for _ in range(20):  # 2 s of input in 100 ms chunks
        conn.send(audio(0.1, loud=False))
        conn.advance(0.1)
    handles = [u for u in conn.updates() if u["resumable"]]
    assert len(handles) == 2  # one at once, one 1.5 s later
    conn.clear()
    conn.advance(120.0)
    assert conn.updates() == []


def test_38_sends_one_handle_that_restores_the_latest_state() -> None:
    service = Service(FAST)
    first = service.connect().setup(
        model=LIVE_38.model, generationConfig=AUDIO, sessionResumption={}
    )
    assert first.kinds() == ["setupComplete", "sessionResumptionUpdate"]
    handle = first.last_handle()
    for word in ("one", "two"):
        first.send({"realtimeInput": {"text": word}})
        first.run_turn()
    assert len(first.updates()) == 1
    first.lose()
    second = service.connect().setup(
        model=LIVE_38.model, generationConfig=AUDIO, sessionResumption={"handle": handle}
    )
    assert second.closed is None
    assert second.machine.conversation.user_turns == 2


# ----- 3.1 input rules ------------------------------------------------------------------------


def test_31_refuses_media_chunks() -> None:
    conn = connect(FLASH_LIVE_31.model)
    chunk = {"data": pcm(0.1, False), "mimeType": "audio/pcm;rate=16000"}
    conn.send({"realtimeInput": {"mediaChunks": [chunk]}})
    assert conn.closed == Close(
        1007, "realtime_input.media_chunks is deprecated. Use audio, video, or text instead."
    )


def test_31_takes_client_content_only_as_initial_history() -> None:
    turns = [
        {"role": "user", "parts": [{"text": "my name is Ada"}]},
        {"role": "model", "parts": [{"text": "hello Ada"}]},
    ]
    plain = connect(FLASH_LIVE_31.model)
    plain.send({"clientContent": {"turns": turns, "turnComplete": True}})
    assert plain.closed == Close(1007, "Request contains an invalid argument.")

    conn = connect(FLASH_LIVE_31.model, historyConfig={"initialHistoryInClientContent": True})
    conn.send({"clientContent": {"turns": turns, "turnComplete": True}})
    assert conn.closed is None
    assert "step" not in conn.timers  # history is not answered
    conn.send({"realtimeInput": {"text": "what is my name"}})
    conn.run_turn()
    assert conn.machine.conversation.user_turns == 2  # the history turn and this one
    conn.send({"clientContent": {"turns": turns, "turnComplete": True}})
    assert conn.closed == Close(1007, "Request contains an invalid argument.")


@pytest.mark.parametrize(
    ("profile", "chunks_first"),
    [(FLASH_LIVE_31, False), (NATIVE_AUDIO, True)],
    ids=["3.1: first audio + playback", "2.x: generationComplete + playback"],
)
def test_turn_complete_comes_when_the_audio_would_have_played(
    profile: Any, chunks_first: bool
) -> None:
    settings = EmulatorSettings(chunk_interval=0.02, turn_complete_lag_factor=1.0)
    conn = connect(profile.model, settings)
    conn.send({"realtimeInput": {"text": "hi"}})
    start = conn.service.clock.now()
    conn.run_turn()
    playback = len("You said: hi. (turn 1, remembers 1)") * settings.speech_seconds_per_char
    streaming = 3 * settings.chunk_interval  # 3 chunks, then generationComplete
    expected = playback + (streaming if chunks_first else 0.0)
    assert conn.service.clock.now() - start == pytest.approx(expected, abs=0.03)


# ----- manual activity detection ----------------------------------------------------------------


MANUAL = {"automaticActivityDetection": {"disabled": True}}


def test_audio_before_activity_start_closes_1007() -> None:
    conn = connect(NATIVE_AUDIO.model, realtimeInputConfig=MANUAL)
    conn.send(audio(0.1))
    assert conn.closed is not None and conn.closed.code == 1007
    ok = connect(NATIVE_AUDIO.model, realtimeInputConfig=MANUAL)
    ok.send({"realtimeInput": {"activityStart": {}}}).send(audio(0.1))
    ok.send({"realtimeInput": {"activityEnd": {}}})
    assert ok.closed is None


def test_activity_end_with_automatic_detection_closes_1007() -> None:
    conn = connect(NATIVE_AUDIO.model)
    conn.send({"realtimeInput": {"activityEnd": {}}})
    assert conn.closed is not None and conn.closed.code == 1007
    lenient = connect(NATIVE_AUDIO.model, FAST.replace(strict=False))
    lenient.send({"realtimeInput": {"activityEnd": {}}})
    assert lenient.closed is None


# ----- the silent-drop lock-out -----------------------------------------------------------------


def test_a_silently_dropped_socket_is_held_and_resumes_get_1011_until_released() -> None:
    service = Service(FAST.replace(first_handle="setup"))
    first = service.connect().setup(generationConfig=AUDIO, sessionResumption={})
    handle = first.last_handle()
    first.machine.hold_on_drop(900.0)
    first.lose()
    refused = service.connect().setup(sessionResumption={"handle": handle})
    assert refused.closed == Close(1011, "Internal error encountered.")
    service.clock.advance(900.5)
    again = service.connect().setup(sessionResumption={"handle": handle})
    assert again.closed is None


@pytest.mark.parametrize("profile", [HALF_CASCADE, LIVE_38])
def test_initial_history_is_never_answered_on_any_model(profile: ModelProfile) -> None:
    # google-genai's HistoryConfig: with initialHistoryInClientContent the server takes
    # clientContent up to turnComplete as history and starts no model call.
    turns = [
        {"role": "user", "parts": [{"text": "my name is Ada"}]},
        {"role": "model", "parts": [{"text": "hello Ada"}]},
    ]
    conn = connect(profile.model, historyConfig={"initialHistoryInClientContent": True})
    conn.send({"clientContent": {"turns": turns, "turnComplete": True}})
    assert conn.closed is None and "step" not in conn.timers
    conn.send({"clientContent": {"turns": [turns[0]], "turnComplete": True}})  # a real turn now
    conn.run_turn()
    assert conn.machine.conversation.user_turns == 2
