"""`relive bench failover` on a small run: two `relive serve` replicas behind HAProxy, Redis and
the emulator, 4 calls; one replica SIGTERMed in one run and SIGKILLed in the other."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from relive.bench import _replicas
from relive.bench._capacity import run_replica
from relive.bench._failover import run_failover
from relive.cli import main

pytestmark = pytest.mark.skipif(
    not (Path(_replicas.REDIS).exists() and Path(_replicas.HAPROXY).exists()),
    reason="redis-server or haproxy missing (make system-deps)",
)


@pytest.mark.timeout(300)
async def test_both_stops_move_every_call_and_count_turns() -> None:
    report = await run_failover(calls=4, hold=1.5, turn_every=1.0)
    term, kill = report.figures["term"], report.figures["kill"]
    for run in (term, kill):
        assert run["victims"] >= 1  # roundrobin put calls on the replica that was stopped
        assert run["not_back"] == 0  # each of them live again, on the other replica
        assert run["disturbed"] == 0  # the other replica's calls saw nothing
        assert run["new_sessions"] == 0  # every conversation resumed, none started anew
        assert run["sent"] >= 4 and run["chunks_made"] > 0
        assert run["moved_p50_ms"] > 0 and run["goaway_p50_ms"] > 0
        assert run["ratio_p50"] == pytest.approx(run["moved_p50_ms"] / run["goaway_p50_ms"])
        assert run["duplicated"] == 0
    # A planned restart: no chat turn is lost, doubled or left unanswered.
    assert (term["lost"], term["stuck"]) == (0, 0)
    # The page had no socket a moment: it kept that audio and sent it after the reconnect.
    assert kill["chunks_unsent"] == 0
    assert [row[0] for row in report.rows][:2] == [
        "calls on the stopped replica",
        "goAway reconnect, p50 (ms)",
    ]
    samples = report.figures["samples_ms"]
    assert len(samples["term"]["goaway"]) == 4 and len(samples["kill"]["moved"]) == kill["victims"]
    assert {a.figure for a in report.aims} >= {"term.ratio_p50", "term.lost", "kill.lost"}
    assert report.headers == ["per call", "SIGTERM run", "SIGKILL run"]
    assert "load average" in report.table()
    json.loads(report.to_json())


def test_missing_tools_are_named(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(_replicas, "REDIS", "/nonexistent/redis-server")
    monkeypatch.setattr(_replicas, "HAPROXY", "/nonexistent/haproxy")
    assert main(["bench", "failover", "--calls", "2"]) == 2
    err = capsys.readouterr().err
    assert "redis-server and haproxy not found" in err and "apt-get install" in err


@pytest.mark.timeout(180)
async def test_replica_ramp_measures_real_time_and_cpu_per_call() -> None:
    report = await run_replica(calls=[2, 3], hold=1.0, turn_every=1.0)
    f = report.figures
    steps = [f[k] for k in ("calls_2", "calls_3") if k in f]
    assert "calls_2" in f  # a fresh replica per step, smallest first (the ramp may stop there)
    for n, step in zip((2, 3), steps, strict=False):
        assert step["live"] == n
        assert step["delivered"] > 0 and step["sustained"] > 0
        assert step["replica_cpu_per_call_us"] > 0
        assert step["calls_per_core"] == pytest.approx(1e6 / step["replica_cpu_per_call_us"])
    assert f["calls_per_core"] > 0
    assert report.headers[:2] == ["one relive serve process", "2 calls"]
    assert not report.failed  # its aims are soft: a loaded machine is not a failure
    json.loads(report.to_json())
