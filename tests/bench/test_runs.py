"""Small, fast runs of each bench: structure and sanity, never a timing assertion."""

from __future__ import annotations

import json
from typing import Literal

import pytest

from relive.bench import run_chaos, run_overhead, run_scale


async def test_overhead_small_run() -> None:
    report = await run_overhead(turns=5, chunks=20, rounds=2)
    for side in ("raw", "relive"):
        figures = report.figures[side]
        assert figures["turns"] == 10  # 5 turns x 2 rounds
        assert figures["chunks"] == 2 * 20 + 2 * 20  # flood + one at a time
        assert figures["turns_per_s"] > 0 and figures["chunks_per_s"] > 0
        assert figures["turn_latency_ms"]["50"] <= figures["turn_latency_ms"]["99"]
    assert report.rows[0][0] == "text turns/s (one after another)"
    assert {a.name for a in report.aims} == {
        "text throughput relive/raw (median round)",
        "audio throughput relive/raw (median round)",
    }
    assert not report.failed  # overhead aims are soft
    json.loads(report.to_json())


async def test_chaos_without_faults_loses_nothing() -> None:
    report = await run_chaos(sessions=2, turns=3, fault_rate=0.0, seed=7)
    f = report.figures
    assert f["sent"] == 2 * (3 + 1)
    assert (f["lost"], f["duplicated"], f["stuck"]) == (0, 0, 0)
    assert f["faults"] == {}
    assert not report.failed
    assert "seed 7" in report.table()


async def test_chaos_reports_its_seed_and_fires_faults() -> None:
    report = await run_chaos(sessions=2, turns=4, fault_rate=1.0, seed=3)
    f = report.figures
    assert f["seed"] == 3
    assert sum(f["faults"].values()) >= 1
    assert {a.name for a in report.aims} == {"turns lost", "turns duplicated", "sessions stuck"}
    assert all(a.hard for a in report.aims)
    # Faults fired, and still nothing was lost, doubled or stuck: that is the product's promise.
    assert (f["lost"], f["duplicated"], f["unexpected"], f["stuck"]) == (0, 0, 0, 0)
    assert not report.failed


@pytest.mark.parametrize(
    "model",
    [
        "gemini-2.5-flash-native-audio-preview-12-2025",
        "gemini-3.1-flash-live-preview",
        "gemini-3.8-live",
    ],
)
async def test_chaos_on_a_model_profile(model: str) -> None:
    # Audio-only profiles answer in AUDIO with output transcription; the words count the same.
    report = await run_chaos(sessions=2, turns=4, fault_rate=1.0, seed=5, model=model)
    f = report.figures
    assert report.params["model"] == model and f["sent"] == 2 * (4 + 1)
    assert (f["lost"], f["duplicated"], f["unexpected"], f["stuck"]) == (0, 0, 0, 0)
    assert sum(f["faults"].values()) >= 1


async def test_chaos_rejects_bad_sizes() -> None:
    with pytest.raises(ValueError, match="fault_rate"):
        await run_chaos(sessions=1, turns=1, fault_rate=2.0)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("side", ["relive", "raw"])
async def test_scale_small_run_in_two_processes(side: Literal["relive", "raw"]) -> None:
    report = await run_scale(sessions=3, hold=0.3, connect_concurrency=2, turn_every=0.1, side=side)
    f = report.figures
    assert f["side"] == side
    assert f["sessions"] == 3 and f["failed"] == 0 and f["held"] == 3
    assert f["produced"] > 3 * 10
    assert f["delivered"] == f["produced"]
    assert f["client"]["rss_end_bytes"] > 0 and f["emulator"]["rss_end_bytes"] > 0
    assert f["client"]["cpu_share"] >= 0 and f["emulator"]["cpu_share"] >= 0
    json.loads(report.to_json())


@pytest.mark.timeout(60)
async def test_scale_mass_drop_times_every_session_back() -> None:
    report = await run_scale(sessions=4, hold=0.3, connect_concurrency=2, mass_drop=True)
    (section,) = report.sections
    rows = {row[0]: row[1] for row in section.rows}
    assert rows["mass drop: sessions cut at once"] == 4
    assert rows["mass drop: connected again"] == 4
    assert 0 < rows["mass drop: back after, p50 (ms)"] <= rows["mass drop: all back after (ms)"]
    assert report.figures["delivered_real_time"] >= 0


async def test_chaos_fault_subset_and_unknown_faults() -> None:
    report = await run_chaos(sessions=1, turns=3, fault_rate=1.0, seed=4, faults=["goaway"])
    assert set(report.figures["faults"]) <= {"goaway"}
    assert report.params["faults"] == "goaway"
    with pytest.raises(ValueError, match="choose from"):
        await run_chaos(sessions=1, turns=1, faults=["meteor"])
