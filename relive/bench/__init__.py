"""`relive bench`: reconnect, overhead, scale and chaos figures against the raw SDK, same run.

Every run talks to the embedded emulator over real loopback sockets, so the figures are
reproducible offline. Ratios against the plain `google-genai` session measured side by side
matter more than absolute times on a noisy machine. The runs (`run_reconnect`, `run_overhead`,
`run_scale`, `run_wave`, `run_chaos`, ...) are imported on first use, so `relive --help` stays
light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from relive._extras import require

require("relive.bench", "bench")

from relive.bench._report import Aim, Column, Figure, Report, Row, Table  # noqa: E402
from relive.bench._stats import Summary, percentile, summarize  # noqa: E402

if TYPE_CHECKING:
    from relive.bench._chaos import run_chaos
    from relive.bench._cpu import run_cpu
    from relive.bench._emulator import run_emulator
    from relive.bench._memory import run_memory
    from relive.bench._overhead import run_overhead
    from relive.bench._reconnect import run_reconnect
    from relive.bench._scale import run_scale
    from relive.bench._wave import run_wave

_RUNS = {
    "run_chaos": "relive.bench._chaos",
    "run_cpu": "relive.bench._cpu",
    "run_emulator": "relive.bench._emulator",
    "run_memory": "relive.bench._memory",
    "run_overhead": "relive.bench._overhead",
    "run_reconnect": "relive.bench._reconnect",
    "run_scale": "relive.bench._scale",
    "run_wave": "relive.bench._wave",
}


def __getattr__(name: str) -> Any:
    """The runs, imported when first asked for."""
    if name in _RUNS:
        return getattr(importlib.import_module(_RUNS[name]), name)
    raise AttributeError(f"module 'relive.bench' has no attribute {name!r}")


__all__ = [
    "Aim",
    "Column",
    "Figure",
    "Report",
    "Row",
    "Summary",
    "Table",
    "percentile",
    "run_chaos",
    "run_cpu",
    "run_emulator",
    "run_memory",
    "run_overhead",
    "run_reconnect",
    "run_scale",
    "run_wave",
    "summarize",
]
