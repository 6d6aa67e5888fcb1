"""`--repeat K`: one bench run K times, and each figure's min and median over the runs.

A shared machine makes one run a sample, not a measurement. The summary takes every numeric
cell of the main table (by row label and column) and every aim's measured value, and gives
their min and median over the runs, with each run's 1-minute load average beside them.
"""

from __future__ import annotations

from typing import Any

from relive.bench._report import Aim, Report
from relive.bench._stats import percentile


def _numbers(report: Report) -> dict[tuple[str, str], float]:
    out: dict[tuple[str, str], float] = {}
    for row in report.rows:
        for header, cell in zip(report.headers[1:], row[1:], strict=False):
            if isinstance(cell, int | float) and not isinstance(cell, bool):
                out[(str(row[0]), header)] = float(cell)
    return out


def summarize_runs(reports: list[Report]) -> Report:
    """One report of `reports` (the same bench, same sizes): min and median of each figure."""
    if not reports:
        raise ValueError("no runs to summarize")
    first = reports[0]
    cells = [_numbers(r) for r in reports]
    rows: list[list[Any]] = []
    for key in cells[0]:
        values = [c[key] for c in cells if key in c]
        rows.append([f"{key[0]} | {key[1]}", min(values), percentile(values, 50), max(values)])
    aims = []
    for i, aim in enumerate(first.aims):
        measured = [r.aims[i].measured for r in reports if len(r.aims) > i]
        met = [r.aims[i].met for r in reports if len(r.aims) > i]
        median = percentile(measured, 50)
        rows.append([f"aim: {aim.name}", min(measured), median, max(measured)])
        aims.append(
            Aim(
                f"{aim.name} (runs met: {sum(met)}/{len(met)})",
                aim.target,
                median,
                all(met),
                aim.hard,
            )
        )
    loads = [r.params.get("load_1m") for r in reports]
    params = {k: v for k, v in first.params.items() if k != "load_1m"}
    return Report(
        title=f"{first.title}, {len(reports)} runs",
        params={**params, "runs": len(reports), "load_1m": loads},
        headers=["figure | column", "min", "median", "max"],
        rows=rows,
        figures={"runs": [r.to_dict() for r in reports]},
        aims=aims,
        notes=[*first.notes, "each aim is met only if every run met it"],
    )
