"""The emulator tap sees what the real SDK sent, connection by connection."""

from __future__ import annotations

from relive.bench._audio import audio_blob
from relive.bench._common import API_KEY, BENCH_SETTINGS, MODEL, text_config, user_turn
from relive.bench._tap import ClientTap
from relive.emulator import Emulator


async def test_tap_records_audio_texts_and_how_connections_end() -> None:
    async with Emulator(BENCH_SETTINGS) as emu:
        tap = ClientTap(emu)
        client = emu.client(api_key=API_KEY)
        async with client.aio.live.connect(model=MODEL, config=text_config()) as session:
            for seq in (247, 248, 255, 256):  # 248..255 encode with URL-safe base64 characters
                await session.send_realtime_input(audio=audio_blob(seq))
            await session.send_client_content(turns=user_turn("hello tap"), turn_complete=True)
            async for _ in session.receive():
                pass
            await tap.wait_for_seq(256, timeout=5)
            conn = next(iter(tap.by_conn))
            assert tap.by_conn[conn] == [247, 248, 255, 256]
            assert tap.texts_by_conn[conn] == ["hello tap"]
            assert tap.where("hello tap") == [(conn, "open")]
            assert tap.where("never sent") == []
            emu.faults.drop()
        assert tap.where("hello tap") == [(conn, "aborted")]
        assert set(tap.arrived_at) == {247, 248, 255, 256}
