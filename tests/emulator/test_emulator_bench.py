"""The measuring of `relive bench emulator` in miniature: the emulator in its own process, every
figure measured, and a second source tree measured from the tree asked. (The report, the flags
and `--compare-tree` are the bench's: tests/bench/test_emulator_bench.py.)"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from relive.emulator._bench import THIS_TREE, BenchSizes, _Server, measure

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


async def test_small_run_measures_every_figure() -> None:
    sizes = BenchSizes(sessions=20, seconds=0.2, concurrency=5, stream_sessions=2)
    figures = await measure(sizes)
    assert figures["sessions_held"] == 20
    assert figures["server_messages"] == 20 * 5  # three chunks, generationComplete, turnComplete
    for key in RATES:
        assert figures[key] > 0, key
    for key in CPU:  # psutil's 10 ms tick can round a tiny run's CPU down to 0, never below
        assert figures[key] >= 0, key


async def test_the_emulator_runs_in_its_own_process_from_the_tree_asked() -> None:
    async with _Server(None, tls=False, loop="asyncio") as server:
        assert server.target.url.startswith("ws://127.0.0.1:")
        assert server.pid != os.getpid()
        assert server.tree == THIS_TREE
        before = server.cpu()
        assert before > 0  # it imported the emulator: its own CPU, not this process's


async def test_another_tree_is_measured(tmp_path: Path) -> None:
    tree = tmp_path / "other"
    tree.symlink_to(THIS_TREE)  # another path to the same code
    async with _Server(tree, tls=False, loop="asyncio") as server:
        assert server.tree == THIS_TREE  # resolved, and checked against what the process ran
    sizes = BenchSizes(sessions=4, seconds=0.1, concurrency=2, stream_sessions=1)
    assert (await measure(sizes, tree))["sessions_held"] == 4


async def test_a_tree_without_relive_fails_plainly(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="ran relive from"):
        async with _Server(tmp_path, tls=False, loop="asyncio"):
            pass
