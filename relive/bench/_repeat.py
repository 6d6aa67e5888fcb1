"""`--repeat K`: one bench run K times, and each figure's min and median over the runs.

A shared machine makes one run a sample, not a measurement. The summary takes every numeric
cell of every table (by row label and column header, whichever bench made it) and every aim's
measured value, and gives their min, median and max over the runs, with each run's 1-minute
load average beside them.
"""

from __future__ import annotations

from relive.bench._report import Aim, Report, Row, Table
from relive.bench._stats import percentile


def _numbers(report: Report) -> dict[str, float]:
    out: dict[str, float] = {}
    for table in report.tables:
        for row in table.rows:
            for header, cell in zip(table.headers[1:], row[1:], strict=False):
                if isinstance(cell, int | float) and not isinstance(cell, bool):
                    out[f"{row[0]} | {header}"] = float(cell)
    return out


def summarize_runs(reports: list[Report]) -> Report:
    """One report of `reports` (the same bench, same sizes): min, median, max of each figure."""
    if not reports:
        raise ValueError("no runs to summarize")
    first = reports[0]
    cells = [_numbers(r) for r in reports]
    rows: list[Row] = []
    for key in cells[0]:
        values = [c[key] for c in cells if key in c]
        rows.append(Row(key, min(values), percentile(values, 50), max(values)))
    aims = []
    for i, aim in enumerate(first.aims):
        measured = [r.aims[i].measured for r in reports if len(r.aims) > i]
        met = [r.aims[i].met for r in reports if len(r.aims) > i]
        median = percentile(measured, 50)
        rows.append(Row(f"aim: {aim.name}", min(measured), median, max(measured)))
        aims.append(
            Aim(
                f"{aim.name} (runs met: {sum(met)}/{len(met)})",
                aim.target,
                median,
                all(met),
                aim.hard,
                aim.figure,
            )
        )
    loads = [r.params.get("load_1m") for r in reports]
    params = {k: v for k, v in first.params.items() if k != "load_1m"}
    return Report(
        title=f"{first.title}, {len(reports)} runs",
        params={**params, "runs": len(reports), "load_1m": loads},
        tables=[Table("", "figure | column", ["min", "median", "max"], rows)],
        aims=aims,
        notes=[*first.notes, *(["each aim is met only if every run met it"] if aims else [])],
        data={"runs": [r.to_dict() for r in reports]},
    )
