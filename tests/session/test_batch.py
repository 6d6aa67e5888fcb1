"""`Policy.audio_batch_ms`: chunks joined before sending, in order, none lost."""

from __future__ import annotations

from google.genai import types

import relive as rs
from relive.emulator import Emulator, EmulatorStats
from relive.session._batch import AudioBatcher, pcm_rate
from tests.session.helpers import MODEL

MIME = "audio/pcm;rate=16000"


def _pcm(n: int, ms: int = 20) -> bytes:
    return bytes([n % 256]) * (32 * ms)


def _chunk(n: int, ms: int = 20) -> types.Blob:
    return types.Blob(data=_pcm(n, ms), mime_type=MIME)


def test_batcher_joins_up_to_the_batch_and_flushes_on_a_new_mime() -> None:
    batcher = AudioBatcher(60)
    assert batcher.add(_chunk(1)) == [] and batcher.add(_chunk(2)) == []
    (full,) = batcher.add(_chunk(3))
    assert full.data == _pcm(1) + _pcm(2) + _pcm(3)
    assert full.mime_type == MIME and not batcher.pending
    batcher.add(_chunk(4))
    other = types.Blob(data=b"\0\0" * 240, mime_type="audio/pcm;rate=24000")
    (flushed,) = batcher.add(other)
    assert flushed.data == _pcm(4) and batcher.pending
    assert pcm_rate("audio/pcm") == 16000 and pcm_rate("audio/pcm;rate=24000") == 24000
    assert not AudioBatcher.joinable({"data": b"", "mime_type": MIME})
    assert not AudioBatcher.joinable(types.Blob(data=b"", mime_type="image/png"))


async def test_chunks_are_joined_and_every_byte_arrives(relive_emulator: Emulator) -> None:
    policy = rs.Policy(audio_batch_ms=100)
    config = types.LiveConnectConfig(response_modalities=[types.Modality.AUDIO])
    session = rs.connect(relive_emulator.client(), model=MODEL, config=config, policy=policy)
    async with session:
        before = relive_emulator.stats.messages_received
        for n in range(12):  # 240 ms: two full batches of 100 ms, then 40 ms pending
            await session.send_realtime_input(audio=_chunk(n))
        await session.send_realtime_input(audio_stream_end=True)  # flushes the 40 ms first

        def arrived(stats: EmulatorStats) -> bool:
            return stats.messages_received >= before + 4

        await relive_emulator.wait_for(arrived)
        assert relive_emulator.stats.messages_received == before + 4  # 3 audio + streamEnd
        assert round(relive_emulator.session_audio_seconds() * 1000) == 240
        await session.send_realtime_input(audio=_chunk(99))  # alone: the timer sends it

        def one_more(stats: EmulatorStats) -> bool:
            return stats.messages_received >= before + 5

        await relive_emulator.wait_for(one_more)
