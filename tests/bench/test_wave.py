"""`relive bench wave`: small runs of every session reconnecting at once, and its flags."""

from __future__ import annotations

import gc
import json

import pytest

from relive.bench import run_wave
from relive.bench._child import EmulatorProcess
from relive.bench._common import BENCH_SETTINGS
from relive.cli import main
from relive.emulator._collector import DESCRIPTION, THRESHOLDS


@pytest.mark.timeout(120)
async def test_a_goaway_wave_and_a_drop_wave_bring_every_session_back_resumed() -> None:
    report = await run_wave(sessions=4, connect_concurrency=2)
    for kind in ("goaway", "drop"):
        f = report.figures[kind]
        assert f["connections_hit"] == 4  # each session's connection, known by its turn
        assert f["downtime_ms"].n == 4 and f["raw_ms"].n == 4
        assert 0 < f["downtime_ms"].min <= f["downtime_ms"].max < 60_000
        assert f["raw_ms"].min > 0
        assert f["new_sessions"] == 0 and f["not_back"] == 0 and f["raw_failed"] == 0
        assert f["not_ready"] == 0
        assert f["connect_attempts"] >= 4
        assert f["p50_ratio"] == f["downtime_ms"].p50 / f["raw_ms"].p50
        for side in ("raw_client", "client", "raw_emulator", "emulator"):
            assert f[f"{side}_cpu_ms"] >= 0  # CPU per connect, each process (psutil ticks)
        # The client's collections in each window (the baseline's, the wave's) and what the
        # held sessions keep for a full one to walk (a relive session is far over 100).
        assert f["tracked_per_session"] > 100
        for side in ("raw", "relive"):
            gcs = f["gc"][side]
            assert gcs["full"] >= 0 and gcs["full_collected"] >= 0
            assert 0 <= gcs["full_max_ms"] <= gcs["full_pause_ms"] <= gcs["all_pause_ms"]
    assert not report.failed  # the ratios are soft aims; none lost or started anew
    assert {a.name for a in report.aims if a.hard} == {
        "goAway: sessions not back",
        "goAway: sessions back as new ones",
        "drop: sessions not back",
        "drop: sessions back as new ones",
        "goAway: sessions not ready for the wave",
        "drop: sessions not ready for the wave",
    }
    assert "load_1m=" in report.table()
    assert report.params["emulator_gc"] == DESCRIPTION  # labelled: it holds for both sides
    json.loads(report.to_json())


@pytest.mark.timeout(120)
async def test_a_staggered_wave_spreads_its_hits() -> None:
    report = await run_wave(sessions=3, faults=["drop"], stagger=0.3)
    f = report.figures["drop"]
    # Three hits spread evenly over 0.3 s: the last one 0.2 s after the first.
    assert f["wave_s"] >= 0.19
    assert f["downtime_ms"].n == 3 and f["not_back"] == 0
    assert "goaway" not in report.figures


async def test_bad_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="sessions"):
        await run_wave(sessions=0)
    with pytest.raises(ValueError, match="stagger"):
        await run_wave(stagger=-1)
    with pytest.raises(ValueError, match="faults"):
        await run_wave(faults=[])


@pytest.mark.timeout(120)
def test_the_command_prints_json(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["bench", "wave", "--sessions", "2", "--faults", "goaway", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0
    assert doc["params"]["sessions"] == 2 and doc["figures"]["goaway"]["downtime_ms"]["n"] == 2
    assert doc["params"]["limit_connects"] is True and doc["params"]["latency_s"] == 0
    assert doc["params"]["gc_freeze"] is False
    assert doc["figures"]["goaway"]["gc"]["relive"]["full"] >= 0


@pytest.mark.timeout(120)
def test_gc_freeze_is_labelled_and_leaves_the_collector_as_it_was(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["bench", "wave", "--sessions", "2", "--faults", "goaway", "--gc-freeze", "--json"]
    code = main(argv)
    doc = json.loads(capsys.readouterr().out)
    assert code == 0
    assert doc["params"]["gc_freeze"] is True
    assert any("gc.freeze()" in note for note in doc["notes"])
    assert gc.get_freeze_count() == 0  # unfrozen at the end


@pytest.mark.timeout(120)
def test_a_wave_that_waits_on_the_network_without_the_connect_bound(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["bench", "wave", "--sessions", "2", "--faults", "drop", "--json"]
    code = main([*argv, "--latency", "0.2", "--no-connect-limit"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0
    assert doc["params"]["limit_connects"] is False and doc["params"]["latency_s"] == 0.2
    # Every raw connect waits for a setupComplete sent 200 ms late.
    assert doc["figures"]["drop"]["raw_ms"]["min"] >= 200


@pytest.mark.parametrize(
    "argv",
    [
        ["bench", "wave", "--faults", "meteor"],
        ["bench", "wave", "--stagger", "-1"],
        ["bench", "wave", "--sessions", "0"],
        ["bench", "wave", "--latency", "-0.1"],
    ],
)
def test_bad_flags_exit_with_usage(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert "usage:" in capsys.readouterr().err


@pytest.mark.timeout(120)
async def test_the_emulator_process_collects_as_a_server() -> None:
    async with EmulatorProcess(BENCH_SETTINGS) as emu:
        stats = await emu.stats()
    assert stats["gc_thresholds"] == list(THRESHOLDS)  # the same for the raw side and relive
