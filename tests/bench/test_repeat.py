"""`--repeat K`: min, median and max of every figure over K runs; aims met only if every run met."""

from __future__ import annotations

import json

import pytest

from relive.bench import Aim, Column, Report, Row, Table
from relive.bench._repeat import summarize_runs
from relive.cli import main


def _report(rate: float, met: bool, load: float) -> Report:
    return Report(
        title="relive bench x",
        params={"n": 3, "load_1m": load},
        tables=[
            Table(
                "",
                "per message",
                [Column("raw", "raw"), Column("relive", "relive")],
                [Row("rate", 10.0, rate), Row("label only", "-", "-")],
            )
        ],
        aims=[Aim("rate aim", ">= 5", rate, met, hard=True)],
    )


def test_summary_gives_min_median_max_and_every_load() -> None:
    summary = summarize_runs(
        [_report(4.0, False, 1.0), _report(6.0, True, 2.0), _report(8.0, True, 3.0)]
    )
    assert summary.params["load_1m"] == [1.0, 2.0, 3.0] and summary.params["runs"] == 3
    assert ["rate | relive", 4.0, 6.0, 8.0] in summary.rows
    assert ["rate | raw", 10.0, 10.0, 10.0] in summary.rows
    (aim,) = summary.aims
    assert aim.measured == 6.0 and not aim.met and "2/3" in aim.name
    assert summary.failed  # a hard aim missed in one run fails the whole
    assert len(summary.figures["runs"]) == 3


def test_repeat_from_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["bench", "chaos", "--sessions", "1", "--turns", "1", "--fault-rate", "0", "--seed", "3"]
    code = main([*argv, "--repeat", "2", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0
    assert doc["params"]["runs"] == 2 and len(doc["params"]["load_1m"]) == 2
    assert len(doc["figures"]["runs"]) == 2
    assert all(row[1] <= row[2] <= row[3] for row in doc["rows"])


def test_cpu_hog_spins_while_the_block_runs_and_stops_after() -> None:
    from relive.bench._hog import CpuHog

    with CpuHog(1) as hog:
        (process,) = hog._processes
        assert process.is_alive()
    assert not process.is_alive()


def test_a_summary_without_aims_says_nothing_of_aims() -> None:
    report = _report(6.0, True, 1.0)
    report.aims.clear()
    summary = summarize_runs([report, report])
    assert not summary.aims and not any("aim" in note for note in summary.notes)
    assert (
        "each aim is met only if every run met it"
        in summarize_runs([_report(6.0, True, 1.0)] * 2).notes
    )
