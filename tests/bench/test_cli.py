"""`relive bench ...` from the command line: tables, --json, exit codes, bad flags."""

from __future__ import annotations

import json
import re

import pytest

from relive.cli import main


def test_chaos_json_and_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "bench",
            "chaos",
            "--sessions",
            "1",
            "--turns",
            "2",
            "--fault-rate",
            "0",
            "--seed",
            "5",
            "--json",
        ]
    )
    doc = json.loads(capsys.readouterr().out)
    assert code == 0
    assert doc["params"]["seed"] == 5 and doc["figures"]["lost"] == 0 and not doc["failed"]


def test_chaos_table_prints_seed(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["bench", "chaos", "--sessions", "1", "--turns", "1", "--fault-rate", "0"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("chaos seed: ")
    assert "turns lost (never answered)" in out


def test_overhead_table(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["bench", "overhead", "--turns", "2", "--chunks", "5", "--rounds", "1"])
    out = capsys.readouterr().out
    assert code == 0
    assert "relive/raw" in out and "audio chunks/s (flood)" in out


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_cpu_json_on_either_loop(loop: str, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["bench", "cpu", "--turns", "3", "--chunks", "10", "--rounds", "1", "--loop", loop]
    code = main([*argv, "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0  # the CPU aims are soft
    assert doc["params"]["loop"] == loop and doc["params"]["load_1m"] >= 0
    for side in ("raw", "relive"):
        assert len(doc["figures"][side]["text_client_us"]) == 1
        assert doc["figures"][side]["audio_client_us"][0] > 0


@pytest.mark.parametrize(
    "argv",
    [
        ["bench", "cpu", "--loop", "trio"],
        ["bench", "chaos", "--sessions", "0"],
        ["bench", "chaos", "--fault-rate", "1.5"],
        ["bench", "chaos", "--faults", "drop,meteor"],
        ["bench", "scale", "--hold", "-1"],
        ["bench", "reconnect", "--planned", "x"],
        ["bench"],
    ],
)
def test_bad_flags_exit_with_usage(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_every_bench_subcommand_is_registered(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    names = ("reconnect", "overhead", "cpu", "memory", "scale", "wave", "failover", "replica")
    for name in (*names, "chaos", "emulator"):
        assert re.search(rf"^ {{4}}{name}\b", out, re.MULTILINE), name  # a subcommand line


def test_a_run_that_cannot_finish_says_why(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import relive.bench._overhead as overhead

    async def broken(**_: object) -> None:
        raise OSError("no free port")

    monkeypatch.setattr(overhead, "run_overhead", broken)
    code = main(["bench", "overhead"])
    assert code == 2
    assert (
        "relive bench overhead could not finish: OSError: no free port" in capsys.readouterr().err
    )


def test_memory_json(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["bench", "memory", "--sessions", "2", "--seconds", "2", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0
    entries, size = doc["figures"]["journal"]
    assert entries == 100 and size >= 100 * 640  # 2 s of 20 ms chunks, none settled
    assert doc["figures"]["idle_bytes"]["relive"] > 0


@pytest.mark.parametrize(
    ("bench", "tool"),
    [("failover", "haproxy"), ("failover", "redis-server"), ("replica", "redis-server")],
)
def test_a_missing_program_is_named_before_any_run(
    bench: str, tool: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from relive.bench import _replicas

    monkeypatch.setattr(_replicas, "HAPROXY" if tool == "haproxy" else "REDIS", "/nonexistent")
    code = main(["bench", bench])
    assert code == 2
    assert f"relive bench {bench}: {tool} not found on PATH" in capsys.readouterr().err
