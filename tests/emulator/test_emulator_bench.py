"""`relive bench emulator` in miniature: the emulator in its own process, every figure reported,
and a second source tree measured beside this one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from relive.emulator._bench import THIS_TREE, _Server, run_emulator_bench

pytest.importorskip("psutil")  # relive[bench]; the oldest-SDK venv has the emulator alone

RATES = (
    "new_connections_per_s",
    "server_messages_per_s",
    "server_messages_per_s_all_sessions",
    "client_audio_chunks_consumed_per_s",
)
CPU = (
    "cpu_us_per_client_audio_chunk",
    "cpu_us_per_text_turn",
    "cpu_us_per_server_message",
    "cpu_us_per_new_connection",
)


async def test_small_bench_reports_all_figures() -> None:
    figures = await run_emulator_bench(sessions=20, seconds=0.2, concurrency=5, stream_sessions=2)
    assert figures["sessions_held"] == 20
    assert figures["server_messages"] == 20 * 5  # three chunks, generationComplete, turnComplete
    for key in RATES:
        assert figures[key] > 0, key
    for key in CPU:  # psutil's 10 ms tick can round a tiny run's CPU down to 0, never below
        assert figures[key] >= 0, key
    assert figures["load_1m"] >= 0


async def test_the_emulator_runs_in_its_own_process_from_the_tree_asked() -> None:
    async with _Server(None, tls=False, loop="asyncio") as server:
        assert server.target.url.startswith("ws://127.0.0.1:")
        assert server.pid != os.getpid()
        assert server.tree == THIS_TREE
        before = server.cpu()
        assert before > 0  # it imported the emulator: its own CPU, not this process's


async def test_a_second_tree_is_measured_beside_this_one(tmp_path: Path) -> None:
    tree = tmp_path / "other"
    tree.symlink_to(THIS_TREE)  # another path to the same code
    figures = await run_emulator_bench(
        sessions=4, seconds=0.1, concurrency=2, stream_sessions=1, repeat=2, compare_tree=tree
    )
    assert figures["this"]["sessions_held"] == figures["other"]["sessions_held"] == 4
    assert len(figures["load_1m"]) == 4  # two runs of each
    assert figures["this_over_other"]["sessions_held"] == 1.0


async def test_a_tree_without_relive_fails_plainly(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="ran relive from"):
        async with _Server(tmp_path, tls=False, loop="asyncio"):
            pass
