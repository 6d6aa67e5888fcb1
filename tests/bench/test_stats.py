"""Percentiles, summaries, tables and JSON on known data."""

from __future__ import annotations

import json
import math

import pytest

from relive.bench import Aim, Column, Figure, Report, Row, Table, percentile, summarize
from relive.bench._report import format_cell, format_table
from relive.bench._stats import ratio


def test_percentiles_exact_on_known_data() -> None:
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert percentile(values, 0) == 1.0
    assert percentile(values, 100) == 100.0
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 95) == pytest.approx(95.05)
    assert percentile(values, 99) == pytest.approx(99.01)


def test_percentile_ignores_order_and_handles_one_sample() -> None:
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile([7.0], 99) == 7.0
    assert percentile([0.0, 10.0], 25) == pytest.approx(2.5)


def test_percentile_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="no samples"):
        percentile([], 50)
    with pytest.raises(ValueError, match=r"0\.\.100"):
        percentile([1.0], 101)


def test_summary_fields_and_scaling() -> None:
    s = summarize([1.0, 2.0, 3.0, 4.0])
    assert (s.n, s.min, s.max, s.mean) == (4, 1.0, 4.0, 2.5)
    assert s.p50 == pytest.approx(2.5)
    ms = s.scaled(1000)
    assert ms.p50 == pytest.approx(2500) and ms.n == 4
    with pytest.raises(ValueError):
        summarize([])


def test_ratio_never_divides_by_zero() -> None:
    assert ratio(3.0, 2.0) == 1.5
    assert math.isinf(ratio(1.0, 0.0))
    assert math.isnan(ratio(0.0, 0.0))


def test_table_aligns_and_rejects_ragged_rows() -> None:
    text = format_table(["name", "value"], [["a", 1.23456], ["bbb", 1234.5]])
    lines = text.splitlines()
    assert lines[0].startswith("name") and "value" in lines[0]
    assert lines[2].endswith("1.23") and lines[3].endswith("1234")
    assert len({len(line) for line in lines[1:]}) == 1
    with pytest.raises(ValueError, match="cells"):
        format_table(["a", "b"], [["only one"]])


def test_format_cell_special_values() -> None:
    assert format_cell(math.nan) == "-"
    assert format_cell(math.inf) == "inf"
    assert format_cell(True) == "yes"
    assert format_cell(0.0) == "0"
    assert format_cell(0.00123) == "0.0012"


def test_report_json_round_trips_and_hard_aims_fail() -> None:
    report = Report(
        title="t",
        params={"seed": 1},
        tables=[
            Table(
                "", "metric", ["value"], [Figure("x", math.inf), Figure("y", summarize([1.0]).p50)]
            )
        ],
        data={"s": summarize([1.0, 2.0]), "nan": math.nan},
        aims=[
            Aim("soft", "<= 1", 2.0, met=False),
            Aim("hard", "== 0", 0.0, met=True, hard=True),
        ],
    )
    assert not report.failed
    doc = json.loads(report.to_json())
    assert doc["rows"][0][1] == "inf"
    assert doc["figures"]["s"]["n"] == 2 and doc["figures"]["nan"] is None
    assert "NO" in report.table()
    report.aims.append(Aim("lost", "== 0", 1.0, met=False, hard=True))
    assert report.failed and json.loads(report.to_json())["failed"] is True


def test_aim_helpers_write_the_limit_once() -> None:
    assert Aim.at_most("ratio", 1.5, 1.2) == Aim("ratio", "<= 1.5", 1.2, True)
    assert Aim.at_most("ratio", 1.5, 1.6).met is False
    assert Aim.at_least("sessions", 500, 499) == Aim("sessions", ">= 500", 499.0, False)
    assert Aim.none("lost", 0) == Aim("lost", "== 0", 0.0, True, hard=True)
    assert Aim.none("lost", 2, hard=False) == Aim("lost", "== 0", 2.0, False)


def test_one_figure_feeds_the_table_and_the_json() -> None:
    lost = Figure("turns lost (never answered)", 0, key="lost")
    wall = Figure("wall time", 1.5, unit="s")
    report = Report(
        title="t",
        params={},
        tables=[Table("", "chaos", ["count"], [lost, wall])],
        aims=[Aim.none("turns lost", lost)],
        data={"faults": {}},
    )
    assert report.rows == [["turns lost (never answered)", 0], ["wall time (s)", 1.5]]
    assert report.figures == {"faults": {}, "lost": 0, "wall_time": 1.5}
    (aim,) = report.aims
    assert (aim.measured, aim.met, aim.figure) == (0.0, True, "lost")
    assert json.loads(report.to_json())["aims"][0]["figure"] == "lost"
    assert "wall time (s)" in report.table()


def test_rows_under_keyed_columns_are_figures_at_column_dot_row() -> None:
    table = Table(
        "",
        "per message",
        [Column("raw SDK", "raw"), Column("relive", "relive"), Column("relive/raw")],
        [
            Row("text turns/s", 10.0, 8.0, 0.8, key="turns_per_s"),
            Row("latency p50", 1.0, 2.0, 2.0, key="latency_ms.50", unit="ms"),
            Row("ratio only", "", "", 0.9),
        ],
    )
    report = Report("t", {}, [table], data={"raw": {"samples": [1.0]}})
    assert report.headers == ["per message", "raw SDK", "relive", "relive/raw"]
    assert report.rows[1] == ["latency p50 (ms)", 1.0, 2.0, 2.0]
    assert report.figures == {
        "raw": {"samples": [1.0], "turns_per_s": 10.0, "latency_ms": {"50": 1.0}},
        "relive": {"turns_per_s": 8.0, "latency_ms": {"50": 2.0}},
    }  # the unkeyed column and blank cells stay out of the JSON
    assert report.figure("relive.turns_per_s").label == "text turns/s | relive"
    assert Aim.at_least("relive/raw", 0.9, table.figure("raw.turns_per_s")).met
    with pytest.raises(KeyError, match="nope"):
        table.figure("nope")


def test_a_figure_shows_parts_of_a_structured_value() -> None:
    s = summarize([1.0, 3.0])
    fig = Figure("relive drop", s, key="downtime.drop_ms", show=(s.n, s.p50))
    report = Report("t", {}, [Table("", "downtime", ["n", "p50"], [fig])])
    assert report.rows == [["relive drop", 2, 2.0]]
    assert report.figures["downtime"]["drop_ms"] is s
    assert json.loads(report.to_json())["figures"]["downtime"]["drop_ms"]["max"] == 3.0


def test_two_figures_at_one_key_are_refused() -> None:
    twice = [Figure("a", 1, key="x"), Figure("b", 2, key="x")]
    with pytest.raises(ValueError, match="two figures"):
        _ = Report("t", {}, [Table("", "m", ["v"], twice)]).figures
    under = [Figure("a", 1, key="x"), Figure("b", 2, key="x.y")]
    with pytest.raises(ValueError, match="runs through"):
        _ = Report("t", {}, [Table("", "m", ["v"], under)]).figures


def test_aim_holds_a_yes_no_figure() -> None:
    kept = Figure("real time kept", False)
    assert Aim.holds("real time", kept) == Aim(
        "real time", "yes", 0.0, False, figure="real_time_kept"
    )


def test_a_row_cell_may_be_a_figure_with_its_own_key_and_unit() -> None:
    idle = Figure("raw", 2048, key="idle_bytes.raw", show=(2.0,))
    table = Table("", "memory", ["raw SDK"], [Row("per idle session (KiB)", idle)])
    report = Report("t", {}, [table])
    assert report.rows == [["per idle session (KiB)", 2.0]]
    assert report.figures == {"idle_bytes": {"raw": 2048}}
