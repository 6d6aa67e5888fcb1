"""What a bench run hands back: a titled table for people and a JSON document for machines.

Aims are checked in the run itself and printed with the figures; a *hard* aim (like "0 lost
turns") fails the command, a soft one (like "throughput >= 0.9x raw") is reported, not enforced,
because timing on a shared machine is noise-prone.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Aim:
    """One target and whether this run met it."""

    name: str
    target: str
    measured: float
    met: bool
    hard: bool = False

    @classmethod
    def at_most(cls, name: str, limit: float, measured: float, *, hard: bool = False) -> Aim:
        """Met when `measured <= limit` (the limit is written once)."""
        return cls(name, f"<= {limit:g}", float(measured), measured <= limit, hard)

    @classmethod
    def at_least(cls, name: str, limit: float, measured: float, *, hard: bool = False) -> Aim:
        """Met when `measured >= limit`."""
        return cls(name, f">= {limit:g}", float(measured), measured >= limit, hard)

    @classmethod
    def none(cls, name: str, measured: float, *, hard: bool = True) -> Aim:
        """Met when nothing of the kind happened (`measured == 0`); hard by default."""
        return cls(name, "== 0", float(measured), measured == 0, hard)

    def to_dict(self) -> dict[str, Any]:
        """The aim as a JSON-ready dict."""
        return {
            "name": self.name,
            "target": self.target,
            "measured": _json_number(self.measured),
            "met": self.met,
            "hard": self.hard,
        }


@dataclass(frozen=True)
class Section:
    """A further titled table under the main one."""

    title: str
    headers: list[str]
    rows: list[list[Any]]


@dataclass
class Report:
    """The outcome of one bench subcommand."""

    title: str
    params: dict[str, Any]
    headers: list[str]
    rows: list[list[Any]]
    figures: dict[str, Any] = field(default_factory=dict)
    aims: list[Aim] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        """True when a hard aim was missed (the command then exits non-zero)."""
        return any(aim.hard and not aim.met for aim in self.aims)

    def table(self) -> str:
        """A plain-text rendering: parameters, the figures table, aims and notes."""
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
            "rows": [[_json_value(cell) for cell in row] for row in self.rows],
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
