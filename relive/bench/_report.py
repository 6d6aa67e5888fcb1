"""What a bench run hands back: titled tables for people and a JSON document for machines.

Each measured value is one `Figure`: the table shows it under its label, the JSON holds it
under its key, so a figure is named once for both. A table of rows x columns (raw SDK vs relive)
is a list of `Row`s under `Column`s whose keys place each cell in the JSON (`raw.turns_per_s`).

Aims are checked in the run itself and printed with the figures; a *hard* aim (like "0 lost
turns") fails the command, a soft one (like "throughput >= 0.9x raw") is reported, not enforced,
because timing on a shared machine is noise-prone. An aim measured on a figure names its key.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Figure:
    """One measured value: the table shows it as `label (unit)`, the JSON holds it at `key`.

    `key` is a dotted path under the JSON's `figures` (`"downtime.relive_drop_ms"`); left
    empty, it is the label in snake case. `value` may be a structure (a `Summary`, a dict):
    `show` then says which of its parts the table's cells show.
    """

    label: str
    value: Any
    key: str = ""
    unit: str = ""
    show: tuple[Any, ...] | None = None

    @property
    def path(self) -> str:
        """The JSON key, given or derived from the label."""
        return self.key or snake(self.label)

    @property
    def text(self) -> str:
        """The label as the table shows it, with the unit."""
        return f"{self.label} ({self.unit})" if self.unit else self.label

    @property
    def cells(self) -> tuple[Any, ...]:
        """What the table shows of the value."""
        return (self.value,) if self.show is None else self.show


@dataclass(frozen=True)
class Column:
    """A value column of a table: its header and where its cells go in the JSON.

    `key` prefixes each row's key (`raw` + `turns_per_s`); empty, the column is the table's
    own (a ratio of the others, say) and not in the JSON.
    """

    header: str
    key: str = ""


@dataclass(frozen=True, init=False)
class Row:
    """One line of a table with columns: a label and one value per column.

    `key` is the row's part of each cell's JSON key (the label in snake case when empty); a
    blank cell (`""`) is shown empty and left out of the JSON. A cell may be a `Figure` of its
    own (a value kept in bytes, shown in KiB): it keeps its key and shows its `show`.
    """

    label: str
    values: tuple[Any, ...]
    key: str = ""
    unit: str = ""

    def __init__(self, label: str, *values: Any, key: str = "", unit: str = "") -> None:
        object.__setattr__(self, "label", label)
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "key", key)
        object.__setattr__(self, "unit", unit)


@dataclass(frozen=True)
class Table:
    """A titled table: the first header names the labels, `columns` the values.

    `lines` are `Figure`s (one value, or its `show` parts, per line) or `Row`s (one value per
    column, each a figure at `column.key + "." + row.key`).
    """

    title: str
    label: str
    columns: Sequence[Column | str]
    lines: Sequence[Figure | Row]

    @property
    def headers(self) -> list[str]:
        """The label header and every column's."""
        return [self.label, *(_column(c).header for c in self.columns)]

    @property
    def rows(self) -> list[list[Any]]:
        """Each line as the table shows it: the label, then one cell per column."""
        out: list[list[Any]] = []
        for line in self.lines:
            if isinstance(line, Figure):
                out.append([line.text, *line.cells])
            else:
                label = f"{line.label} ({line.unit})" if line.unit else line.label
                out.append([label, *(_shown(v) for v in line.values)])
        return out

    def figures(self) -> Iterator[Figure]:
        """Every figure in the table, a `Row`'s keyed cells included."""
        for line in self.lines:
            if isinstance(line, Figure):
                yield line
                continue
            for column, value in zip(self.columns, line.values, strict=True):
                column = _column(column)
                if isinstance(value, Figure):
                    yield value
                elif column.key and not (isinstance(value, str) and value == ""):
                    yield Figure(
                        f"{line.label} | {column.header}",
                        value,
                        key=f"{column.key}.{line.key or snake(line.label)}",
                        unit=line.unit,
                    )

    def figure(self, key: str) -> Figure:
        """The figure at JSON key `key` (an aim refers to it)."""
        for figure in self.figures():
            if figure.path == key:
                return figure
        raise KeyError(f"no figure {key!r} in table {self.title!r}")


@dataclass(frozen=True)
class Aim:
    """One target and whether this run met it (`figure`: the JSON key of what was measured)."""

    name: str
    target: str
    measured: float
    met: bool
    hard: bool = False
    figure: str = ""

    @classmethod
    def at_most(
        cls, name: str, limit: float, measured: float | Figure, *, hard: bool = False
    ) -> Aim:
        """Met when `measured <= limit` (the limit is written once)."""
        value, key = _measure(measured)
        return cls(name, f"<= {limit:g}", value, value <= limit, hard, key)

    @classmethod
    def at_least(
        cls, name: str, limit: float, measured: float | Figure, *, hard: bool = False
    ) -> Aim:
        """Met when `measured >= limit`."""
        value, key = _measure(measured)
        return cls(name, f">= {limit:g}", value, value >= limit, hard, key)

    @classmethod
    def none(cls, name: str, measured: float | Figure, *, hard: bool = True) -> Aim:
        """Met when nothing of the kind happened (`measured == 0`); hard by default."""
        value, key = _measure(measured)
        return cls(name, "== 0", value, value == 0, hard, key)

    @classmethod
    def holds(cls, name: str, measured: bool | Figure, *, hard: bool = False) -> Aim:
        """Met when the condition (a yes/no figure) holds."""
        value, key = _measure(measured)
        return cls(name, "yes", value, bool(value), hard, key)

    def to_dict(self) -> dict[str, Any]:
        """The aim as a JSON-ready dict."""
        return {
            "name": self.name,
            "target": self.target,
            "measured": _json_number(self.measured),
            "met": self.met,
            "hard": self.hard,
            **({"figure": self.figure} if self.figure else {}),
        }


@dataclass
class Report:
    """The outcome of one bench subcommand: its tables (the first is the main one) and aims.

    `data` holds what the JSON carries beside the tables' figures (raw samples, per-round
    values, counters by name); `figures` is both, as one nested dict.
    """

    title: str
    params: dict[str, Any]
    tables: list[Table]
    aims: list[Aim] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        """True when a hard aim was missed (the command then exits non-zero)."""
        return any(aim.hard and not aim.met for aim in self.aims)

    @property
    def headers(self) -> list[str]:
        """The main table's headers."""
        return self.tables[0].headers

    @property
    def rows(self) -> list[list[Any]]:
        """The main table's rows."""
        return self.tables[0].rows

    @property
    def sections(self) -> list[Table]:
        """The tables under the main one."""
        return self.tables[1:]

    @property
    def figures(self) -> dict[str, Any]:
        """Every table's figures at their keys, and `data`, as one nested dict."""
        out = _deep_copy(self.data)
        for table in self.tables:
            for figure in table.figures():
                _place(out, figure.path, figure.value)
        return out

    def figure(self, key: str) -> Figure:
        """The figure at JSON key `key`, in whichever table holds it."""
        for table in self.tables:
            with contextlib.suppress(KeyError):
                return table.figure(key)
        raise KeyError(f"no figure {key!r} in {self.title!r}")

    def table(self) -> str:
        """A plain-text rendering: parameters, the tables, aims and notes."""
        lines = [self.title, "=" * len(self.title)]
        if self.params:
            lines.append("  ".join(f"{k}={v}" for k, v in self.params.items()))
            lines.append("")
        lines.append(format_table(self.headers, self.rows))
        for section in self.sections:
            lines += ["", section.title, format_table(section.headers, section.rows)]
        if self.aims:
            lines.append("")
            lines.append(
                format_table(
                    ["aim", "target", "measured", "met"],
                    [[a.name, a.target, a.measured, ("yes" if a.met else "NO")] for a in self.aims],
                )
            )
        for note in self.notes:
            lines.append(f"note: {note}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """The report as a JSON-ready dict."""
        return {
            "title": self.title,
            "params": self.params,
            "headers": self.headers,
            "rows": _json_value(self.rows),
            "figures": _json_value(self.figures),
            "sections": [
                {"title": s.title, "headers": s.headers, "rows": _json_value(s.rows)}
                for s in self.sections
            ],
            "aims": [a.to_dict() for a in self.aims],
            "notes": self.notes,
            "failed": self.failed,
        }

    def to_json(self) -> str:
        """The report as JSON text."""
        return json.dumps(self.to_dict(), indent=2, allow_nan=False)


def snake(label: str) -> str:
    """A label as a JSON key: `"turns lost (never answered)"` -> `"turns_lost_never_answered"`."""
    return re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")


def format_cell(value: Any) -> str:
    """Numbers with a sensible number of digits; everything else via str()."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        if math.isinf(value):
            return "inf"
        if value == 0:
            return "0"
        if abs(value) >= 100:
            return f"{value:.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        if abs(value) >= 1:
            return f"{value:.2f}"
        if abs(value) >= 0.01:
            return f"{value:.3f}"  # ratios near an aim like 0.9 need the third digit
        return f"{value:.2g}"
    return str(value)


def format_table(headers: list[str], rows: list[list[Any]]) -> str:
    """Left-aligned first column, right-aligned numbers, one space-padded line per row."""
    cells = [[format_cell(c) for c in row] for row in rows]
    for row in cells:
        if len(row) != len(headers):
            raise ValueError(f"row {row} has {len(row)} cells, expected {len(headers)}")
    widths = [len(h) for h in headers]
    for row in cells:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]

    def line(row: list[str]) -> str:
        parts = [
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(r) for r in cells)])


def _column(column: Column | str) -> Column:
    return column if isinstance(column, Column) else Column(column)


def _shown(cell: Any) -> Any:
    if isinstance(cell, Figure):
        (shown,) = cell.cells
        return shown
    return cell


def _measure(measured: float | bool | Figure) -> tuple[float, str]:
    if isinstance(measured, Figure):
        return float(measured.value), measured.path
    return float(measured), ""


def _place(out: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    for part in parents:
        out = out.setdefault(part, {})
        if not isinstance(out, dict):
            raise ValueError(f"figure key {path!r} runs through a value at {part!r}")
    if leaf in out:
        raise ValueError(f"two figures at key {path!r}")
    out[leaf] = value


def _deep_copy(data: dict[str, Any]) -> dict[str, Any]:
    return {k: _deep_copy(v) if isinstance(v, dict) else v for k, v in data.items()}


def _json_number(value: float) -> float | str | None:
    if math.isnan(value):
        return None
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


def _json_value(value: Any) -> Any:
    if isinstance(value, float):
        return _json_number(value)
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return _json_value(to_dict())
    return value
