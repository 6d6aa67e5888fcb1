"""Percentiles, summaries, tables and JSON on known data."""

from __future__ import annotations

import json
import math

import pytest

from relive.bench import Aim, Report, percentile, summarize
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
        headers=["metric", "value"],
        rows=[["x", math.inf], ["y", summarize([1.0]).p50]],
        figures={"s": summarize([1.0, 2.0]), "nan": math.nan},
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
