"""The model profiles' rules seen through the official Python SDK, over wss:// on loopback."""

from __future__ import annotations

import pytest
from google.genai import errors, types

from relive import ManualClock
from relive.emulator import Emulator, EmulatorSettings
from relive.emulator._profiles import FLASH_LIVE_31, LIVE_38, NATIVE_AUDIO
from tests.emulator.sdk_helpers import MODEL, next_handle, next_message, read_turn, say, text_config

AUDIO = types.LiveConnectConfig(response_modalities=[types.Modality.AUDIO])
FAST = EmulatorSettings(chunk_interval=0.0, turn_complete_lag_factor=0.0)


async def _refusal(
    emu: Emulator, model: str, config: types.LiveConnectConfig, api_version: str | None = None
) -> errors.APIError:
    with pytest.raises(errors.APIError) as refused:
        async with emu.client(api_version=api_version).aio.live.connect(
            model=model, config=config
        ) as s:
            await read_turn(s)
    return refused.value


async def test_unknown_model_is_refused_1008(relive_emulator: Emulator) -> None:
    refused = await _refusal(relive_emulator, "gemini-9-ultra-live", text_config())
    assert refused.code == 1008
    assert "models/gemini-9-ultra-live is not found for API version v1beta" in str(refused)


async def test_text_on_native_audio_is_refused_1007(relive_emulator: Emulator) -> None:
    refused = await _refusal(relive_emulator, NATIVE_AUDIO.models[0], text_config())
    assert refused.code == 1007
    assert "response modalities (TEXT) is not supported by the model" in str(refused)


async def test_proactivity_needs_v1alpha_and_a_native_audio_model(
    relive_emulator: Emulator,
) -> None:
    proactive = AUDIO.model_copy(
        update={"proactivity": types.ProactivityConfig(proactive_audio=True)}
    )
    refused = await _refusal(relive_emulator, NATIVE_AUDIO.models[0], proactive)
    assert refused.code == 1007 and "Unknown name \"proactivity\" at 'setup'" in str(refused)
    client = relive_emulator.client(api_version="v1alpha")
    async with client.aio.live.connect(model=NATIVE_AUDIO.models[0], config=proactive) as s:
        await s.send_realtime_input(text="hi")
        await read_turn(s)
    refused = await _refusal(relive_emulator, MODEL, proactive, api_version="v1alpha")
    assert refused.code == 1007 and "Request contains an invalid argument." in str(refused)


async def test_31_refuses_media_chunks_and_mid_session_client_content(
    relive_emulator: Emulator,
) -> None:
    client = relive_emulator.client()
    blob = types.Blob(data=b"\0\0" * 160, mime_type="audio/pcm;rate=16000")
    with pytest.raises(errors.APIError) as refused:
        async with client.aio.live.connect(model=FLASH_LIVE_31.models[0], config=AUDIO) as s:
            await s.send_realtime_input(media=blob)  # the SDK's deprecated mediaChunks
            await read_turn(s)
    assert refused.value.code == 1007 and "media_chunks is deprecated" in str(refused.value)
    with pytest.raises(errors.APIError) as refused:
        async with client.aio.live.connect(model=FLASH_LIVE_31.models[0], config=AUDIO) as s:
            await s.send_client_content(
                turns=types.Content(role="user", parts=[types.Part(text="hi")])
            )
            await read_turn(s)
    assert refused.value.code == 1007
    assert "Request contains an invalid argument." in str(refused.value)


async def test_31_handles_come_while_input_streams() -> None:
    clock = ManualClock()
    async with Emulator(FAST, clock=clock) as emu:
        client = emu.client()
        async with client.aio.live.connect(model=FLASH_LIVE_31.models[0], config=AUDIO) as s:
            await s.send_realtime_input(text="hello")  # no sessionResumption asked for
            first = await next_handle(s)
            await read_turn(s)
            emu.advance(1.6)
            await s.send_realtime_input(text="again")
            second = await next_handle(s)
        assert first != second and emu.stats.handles_issued == 2


async def test_31_idle_session_is_aborted_1008_without_goaway() -> None:
    clock = ManualClock()
    async with Emulator(FAST, clock=clock) as emu:
        client = emu.client()
        async with client.aio.live.connect(model=FLASH_LIVE_31.models[0], config=AUDIO) as s:
            emu.advance(161.0)
            with pytest.raises(errors.APIError) as aborted:
                await next_message(s)
        assert aborted.value.code == 1008 and "The operation was aborted." in str(aborted.value)
        assert emu.stats.goaways_sent == 0


async def test_38_one_handle_at_setup_resumes_the_latest_state(relive_emulator: Emulator) -> None:
    client = relive_emulator.client()
    config = AUDIO.model_copy(update={"session_resumption": types.SessionResumptionConfig()})
    async with client.aio.live.connect(model=LIVE_38.models[0], config=config) as s:
        handle = await next_handle(s)  # right after setupComplete
        await s.send_realtime_input(text="one")
        await read_turn(s)
    await relive_emulator.wait_for(lambda st: st.open_connections == 0)
    resume = AUDIO.model_copy(
        update={"session_resumption": types.SessionResumptionConfig(handle=handle)}
    )
    async with client.aio.live.connect(model=LIVE_38.models[0], config=resume) as s:
        await s.send_realtime_input(text="two")
        await read_turn(s)
    assert relive_emulator.stats.handles_issued == 2  # one per connection
    resumed = [e for e in relive_emulator.events if e.kind == "resumed"]
    assert resumed[0].data["turns"] == 1  # the turn after the handle is there


async def test_silent_drop_holds_the_socket_then_releases_it() -> None:
    clock = ManualClock()
    async with Emulator(FAST, clock=clock) as emu:
        client = emu.client()
        config = text_config(session_resumption=types.SessionResumptionConfig())
        async with client.aio.live.connect(model=MODEL, config=config) as s:
            await say(s, "before")
            handle = await next_handle(s)
            assert emu.faults.silent_drop() == 1
            with pytest.raises(errors.APIError) as dropped:
                await next_message(s)
        assert dropped.value.code == 1006
        resume = text_config(session_resumption=types.SessionResumptionConfig(handle=handle))
        with pytest.raises(errors.APIError) as held:
            async with client.aio.live.connect(model=MODEL, config=resume) as s:
                await read_turn(s)
        assert held.value.code == 1011 and "Internal error encountered." in str(held.value)
        emu.advance(EmulatorSettings().silent_drop_hold)
        async with client.aio.live.connect(model=MODEL, config=resume) as s:
            assert (await say(s, "after")).text == "You said: after. (turn 2, remembers 2)"


async def test_manual_activity_mistakes_close_1007(relive_emulator: Emulator) -> None:
    manual = text_config(
        realtime_input_config=types.RealtimeInputConfig(
            automatic_activity_detection=types.AutomaticActivityDetection(disabled=True)
        )
    )
    client = relive_emulator.client()
    with pytest.raises(errors.APIError) as refused:
        async with client.aio.live.connect(model=MODEL, config=manual) as s:
            await s.send_realtime_input(
                audio=types.Blob(data=b"\0\0" * 160, mime_type="audio/pcm;rate=16000")
            )
            await read_turn(s)
    assert refused.value.code == 1007 and "between activityStart and activityEnd" in str(
        refused.value
    )
    with pytest.raises(errors.APIError) as refused:
        async with client.aio.live.connect(model=MODEL, config=text_config()) as s:
            await s.send_realtime_input(activity_end=types.ActivityEnd())
            await read_turn(s)
    assert refused.value.code == 1007


async def test_vertex_client_with_its_default_api_version(relive_emulator: Emulator) -> None:
    client = relive_emulator.client(vertexai=True)
    async with client.aio.live.connect(model=MODEL, config=text_config()) as s:
        assert (await say(s, "vertex")).text.startswith("You said: vertex.")
    opened = [e for e in relive_emulator.events if e.kind == "connection_opened"]
    assert opened[0].data["vertex"] is True
