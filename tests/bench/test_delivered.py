"""The scale bench's delivered count: a message replayed on a resumed connection counts once."""

from __future__ import annotations

from google.genai import types

from relive.bench._audio import audio_blob
from relive.bench._child import _Delivered
from relive.bench._common import API_KEY, BENCH_SETTINGS, MODEL, text_config, user_turn
from relive.emulator import Emulator


async def test_a_replayed_message_is_delivered_once() -> None:
    async with Emulator(BENCH_SETTINGS) as emu:
        delivered = _Delivered(emu)  # it hooks itself to the emulator's events
        client = emu.client(api_key=API_KEY)
        config = text_config()
        config.session_resumption = types.SessionResumptionConfig()
        handle = None
        async with client.aio.live.connect(model=MODEL, config=config) as session:
            for seq in (1, 2):
                await session.send_realtime_input(audio=audio_blob(seq))
            await session.send_client_content(turns=user_turn("tick 0"), turn_complete=True)
            for _ in range(3):  # the turn, then the handle that follows it
                async for message in session.receive():
                    update = message.session_resumption_update
                    if update is not None and update.new_handle:
                        handle = update.new_handle
                        break
                if handle is not None:
                    break
        assert handle is not None
        config.session_resumption = types.SessionResumptionConfig(handle=handle)
        async with client.aio.live.connect(model=MODEL, config=config) as session:
            await session.send_realtime_input(audio=audio_blob(2))  # replayed
            await session.send_realtime_input(audio=audio_blob(3))
            await session.send_client_content(turns=user_turn("tick 0"), turn_complete=True)
            await session.send_client_content(turns=user_turn("tick 1"), turn_complete=True)
            await emu.wait_for(lambda s: s.messages_received >= 2 + 3 + 4)
        # 9 frames (2 setups, 7 messages), 5 distinct messages of one session: 1, 2, 3, tick 0, 1
        assert emu.stats.messages_received == 9
        assert len(delivered.seen) == 5
