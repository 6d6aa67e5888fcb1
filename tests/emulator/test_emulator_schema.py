"""Strict checking against the SDK's types: unknown fields and bad enums at every depth (1007)."""

from __future__ import annotations

from typing import Any

import pytest
from google.genai import errors, types

from relive.emulator import Emulator
from relive.emulator._closes import fit_reason
from tests.emulator.emulator_harness import FAST, Harness, Service
from tests.emulator.sdk_helpers import MODEL, read_turn

TEXT = {"responseModalities": ["TEXT"]}


def unknown(name: str, where: str) -> str:
    return (
        f"Invalid JSON payload received. Unknown name \"{name}\" at '{where}': Cannot find field."
    )


def setup(strict: bool = True, **body: Any) -> Harness:
    return Service(FAST.replace(strict=strict)).connect().setup(**body)


@pytest.mark.parametrize(
    ("body", "name", "where"),
    [
        ({"generationConfig": {**TEXT, "topQ": 1}}, "topQ", "setup.generation_config"),
        (
            {"realtimeInputConfig": {"automaticActivityDetection": {"silence": 5}}},
            "silence",
            "setup.realtime_input_config.automatic_activity_detection",
        ),
        (
            {"sessionResumption": {"handle": None, "resume": True}},
            "resume",
            "setup.session_resumption",
        ),
        (
            {
                "tools": [
                    {
                        "functionDeclarations": [
                            {
                                "name": "f",
                                "parameters": {
                                    "type": "OBJECT",
                                    "properties": {"city": {"type": "STRING", "hint": "x"}},
                                },
                            }
                        ]
                    }
                ]
            },
            "hint",
            "setup.tools[0].function_declarations[0].parameters.properties[city]",
        ),
        (
            {"systemInstruction": {"parts": [{"text": "be brief", "bold": True}]}},
            "bold",
            "setup.system_instruction.parts[0]",
        ),
    ],
)
def test_unknown_fields_at_every_depth_close_1007_naming_the_path(
    body: dict[str, Any], name: str, where: str
) -> None:
    conn = setup(**body)
    assert conn.closed is not None and conn.closed.code == 1007
    assert conn.closed.reason == fit_reason(unknown(name, where))  # cut at 123 bytes, as real
    assert conn.sent == []
    assert setup(strict=False, **body).closed is None  # lenient keeps today's behaviour


def test_unknown_fields_in_later_messages() -> None:
    conn = setup()
    conn.send({"clientContent": {"turns": [{"role": "user", "parts": [{"txt": "hi"}]}]}})
    assert conn.closed is not None
    assert conn.closed.reason == unknown("txt", "client_content.turns[0].parts[0]")
    conn = setup()
    conn.send({"realtimeInput": {"audio": {"data": "", "mimeType": "audio/pcm", "rate": 1}}})
    assert conn.closed is not None
    assert conn.closed.reason == unknown("rate", "realtime_input.audio")


@pytest.mark.parametrize(
    ("body", "where", "enum", "value"),
    [
        (
            {"generationConfig": {"responseModalities": ["SPEECH"]}},
            "setup.generation_config.response_modalities[0]",
            "Modality",
            '"SPEECH"',
        ),
        (
            {"realtimeInputConfig": {"activityHandling": "SOMETIMES"}},
            "setup.realtime_input_config.activity_handling",
            "ActivityHandling",
            '"SOMETIMES"',
        ),
        (
            {"tools": [{"functionDeclarations": [{"name": "f", "behavior": "LATER"}]}]},
            "setup.tools[0].function_declarations[0].behavior",
            "Behavior",
            '"LATER"',
        ),
    ],
)
def test_bad_enum_values_close_1007(
    body: dict[str, Any], where: str, enum: str, value: str
) -> None:
    body.setdefault("generationConfig", TEXT)
    conn = setup(**body)
    assert conn.closed is not None and conn.closed.code == 1007
    assert conn.closed.reason == fit_reason(
        f"Invalid value at '{where}' "
        f"(type.googleapis.com/google.ai.generativelanguage.v1beta.{enum}), {value}"
    )


def test_a_wrong_type_deep_down_closes_1007() -> None:
    conn = setup()
    conn.send({"clientContent": {"turns": [{"role": "user", "parts": [{"text": 5}]}]}})
    assert conn.closed is not None and conn.closed.code == 1007
    assert (
        conn.closed.reason
        == "Invalid value at 'client_content.turns[0].parts[0].text' (TYPE_STRING), 5"
    )


def test_a_single_element_where_a_list_goes_is_taken() -> None:
    conn = setup(generationConfig={"responseModalities": "TEXT"})
    assert conn.closed is None and conn.machine.config is not None
    assert conn.machine.config.modality == "TEXT"
    conn.send(
        {
            "clientContent": {
                "turns": {"role": "user", "parts": {"text": "one"}},
                "turnComplete": True,
            }
        }
    )
    conn.run_turn()
    assert conn.text() == "You said: one. (turn 1, remembers 1)"


# ----- through the real SDK -----------------------------------------------------------------


def rich_config() -> types.LiveConnectConfig:
    """Many fields at once, the way an app sets them: strict must take all of them."""
    city = types.Schema(type=types.Type.STRING, description="a city")
    return types.LiveConnectConfig(
        response_modalities=[types.Modality.TEXT],
        temperature=0.4,
        top_p=0.9,
        top_k=20,
        max_output_tokens=256,
        seed=7,
        media_resolution=types.MediaResolution.MEDIA_RESOLUTION_LOW,
        speech_config=types.SpeechConfig(
            voice_config=types.VoiceConfig(
                prebuilt_voice_config=types.PrebuiltVoiceConfig(voice_name="Puck")
            ),
            language_code="en-US",
        ),
        system_instruction="You are brief.",
        tools=[
            types.Tool(
                function_declarations=[
                    types.FunctionDeclaration(
                        name="get_weather",
                        description="weather",
                        parameters=types.Schema(
                            type=types.Type.OBJECT, properties={"city": city}, required=["city"]
                        ),
                        behavior=types.Behavior.NON_BLOCKING,
                    )
                ]
            ),
            types.Tool(google_search=types.GoogleSearch()),
        ],
        session_resumption=types.SessionResumptionConfig(),
        input_audio_transcription=types.AudioTranscriptionConfig(),
        output_audio_transcription=types.AudioTranscriptionConfig(),
        realtime_input_config=types.RealtimeInputConfig(
            automatic_activity_detection=types.AutomaticActivityDetection(
                disabled=False,
                start_of_speech_sensitivity=types.StartSensitivity.START_SENSITIVITY_HIGH,
                end_of_speech_sensitivity=types.EndSensitivity.END_SENSITIVITY_LOW,
                prefix_padding_ms=20,
                silence_duration_ms=300,
            ),
            activity_handling=types.ActivityHandling.START_OF_ACTIVITY_INTERRUPTS,
            turn_coverage=types.TurnCoverage.TURN_INCLUDES_ONLY_ACTIVITY,
        ),
        context_window_compression=types.ContextWindowCompressionConfig(
            trigger_tokens=10_000, sliding_window=types.SlidingWindow(target_tokens=5_000)
        ),
        safety_settings=[
            types.SafetySetting(
                category=types.HarmCategory.HARM_CATEGORY_HARASSMENT,
                threshold=types.HarmBlockThreshold.BLOCK_ONLY_HIGH,
            )
        ],
    )


async def test_what_the_sdk_sends_passes_the_strict_check(relive_emulator: Emulator) -> None:
    client = relive_emulator.client()
    async with client.aio.live.connect(model=MODEL, config=rich_config()) as session:
        await session.send_client_content(
            turns=[types.Content(role="user", parts=[types.Part(text="hello")])],
            turn_complete=True,
        )
        reply = await read_turn(session)
        assert reply.text.startswith("You said: hello.")
        await session.send_realtime_input(
            audio=types.Blob(data=b"\0\0" * 1600, mime_type="audio/pcm;rate=16000")
        )
        await session.send_realtime_input(audio_stream_end=True)
        await session.send_tool_response(
            function_responses=[
                types.FunctionResponse(
                    id="none",
                    name="get_weather",
                    response={"t": 1},
                    scheduling=types.FunctionResponseScheduling.SILENT,
                )
            ]
        )
        await session.send_realtime_input(text="again")
        assert (await read_turn(session)).text.startswith("You said: again.")
    assert relive_emulator.stats.closes[1007] == 0


async def test_the_sdk_sees_the_1007_of_a_bad_enum(relive_emulator: Emulator) -> None:
    # The SDK only warns about an enum value it does not know and sends it; the API refuses it.
    with pytest.warns(UserWarning, match="SPEECH is not a valid Modality"):
        config = types.LiveConnectConfig(response_modalities=["SPEECH"])  # type: ignore[list-item]
    client = relive_emulator.client()
    with pytest.raises(errors.APIError) as closed:
        async with client.aio.live.connect(model=MODEL, config=config) as session:
            await read_turn(session)
    assert closed.value.code == 1007
    assert "Invalid value at 'setup.generation_config.response_modalities[0]'" in str(closed.value)
