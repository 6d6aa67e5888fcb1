"""`relive bench emulator`'s report: the figures under the keys they have always had, a table
of this tree vs another with a ratio column and each side's load, `--repeat` as every bench's
(min / median / max), runs alternating which tree goes first."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from relive.bench._emulator import CPU, RATES, run_emulator
from relive.cli import main
from relive.emulator._bench import THIS_TREE

pytest.importorskip("psutil")

SIZES = ["--sessions", "6", "--seconds", "0.1", "--concurrency", "3", "--stream-sessions", "1"]
KEYS = [key for key, _, _ in (*CPU, *RATES)]


async def test_one_tree_report_keys_every_figure() -> None:
    report = await run_emulator(sessions=8, seconds=0.1, concurrency=4, stream_sessions=1)
    figures = report.figures
    assert sorted(figures) == sorted(KEYS)
    assert figures["sessions_held"] == 8 and figures["server_messages"] == 8 * 5
    assert report.params["load_1m"] >= 0 and report.params["loop"] in ("asyncio", "uvloop")
    assert report.headers == ["emulator process CPU (psutil: user + system)", "value"]
    assert not report.failed
    table = report.table()
    assert "CPU per 20 ms audio chunk (µs)" in table and "sessions held at once" in table


async def test_compare_tree_is_a_table_of_this_other_and_their_ratio(tmp_path: Path) -> None:
    tree = tmp_path / "other"
    tree.symlink_to(THIS_TREE)  # another path to the same code
    report = await run_emulator(
        sessions=4, seconds=0.1, concurrency=2, stream_sessions=1, compare_tree=tree
    )
    figures = report.figures
    assert report.headers[1:] == ["this tree", "other tree", "this/other"]
    assert figures["this"]["sessions_held"] == figures["other"]["sessions_held"] == 4
    assert figures["this_over_other"]["sessions_held"] == 1.0
    for key in KEYS:
        this, other = figures["this"][key], figures["other"][key]
        if other:
            assert figures["this_over_other"][key] == pytest.approx(this / other), key
        else:  # no ratio to 0 (a tiny run's CPU can read 0): blank, left out of the JSON
            assert key not in figures["this_over_other"], key
    assert figures["this"]["load_1m"] >= 0 and figures["other"]["load_1m"] >= 0
    assert "load_1m" not in figures["this_over_other"]
    assert figures["first"] == "this" and report.params["compare_tree"] == str(tree)


def test_cli_json_has_the_figures_and_the_load(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["bench", "emulator", *SIZES, "--loop", "asyncio", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0
    assert doc["figures"]["sessions_held"] == 6 and doc["params"]["loop"] == "asyncio"
    assert doc["params"]["load_1m"] >= 0 and not doc["failed"]


def test_cli_repeat_alternates_the_trees_and_gives_min_median_max(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tree = tmp_path / "other"
    tree.symlink_to(THIS_TREE)
    code = main(["bench", "emulator", *SIZES, "--compare-tree", str(tree), "--repeat", "2"])
    out = capsys.readouterr().out
    assert code == 0
    assert "this tree vs another, 2 runs" in out and "load_1m=[" in out
    code = main(
        ["bench", "emulator", *SIZES, "--compare-tree", str(tree), "--repeat", "2", "--json"]
    )
    doc = json.loads(capsys.readouterr().out)
    assert code == 0
    assert doc["headers"] == ["figure | column", "min", "median", "max"]
    rows = {row[0]: row[1:] for row in doc["rows"]}
    assert rows["sessions held at once | this/other"] == [1.0, 1.0, 1.0]
    assert rows["sessions held at once | other tree"] == [6.0, 6.0, 6.0]
    assert "load average, 1 min, at its start | other tree" in rows
    assert [run["figures"]["first"] for run in doc["figures"]["runs"]] == ["this", "other"]
    assert len(doc["params"]["load_1m"]) == 2


def test_cli_refuses_a_directory_without_relive(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["bench", "emulator", *SIZES, "--compare-tree", str(tmp_path)])
    assert code == 2
    assert f"no relive source tree at {tmp_path.resolve()}" in capsys.readouterr().err
