"""`relive bench emulator` in miniature: it runs and reports every figure."""

from __future__ import annotations

from relive.emulator._bench import run_emulator_bench


async def test_small_bench_reports_all_figures() -> None:
    figures = await run_emulator_bench(sessions=20, seconds=0.2, concurrency=5, stream_sessions=2)
    assert figures["sessions_held"] == 20
    assert figures["server_messages"] == 20 * 5  # three chunks, generationComplete, turnComplete
    for key in (
        "new_connections_per_s",
        "server_messages_per_s",
        "server_messages_per_s_all_sessions",
        "client_audio_chunks_consumed_per_s",
        "cpu_us_per_server_message",
        "cpu_us_per_client_audio_chunk",
    ):
        assert figures[key] > 0, key
    assert figures["load_1m"] >= 0
