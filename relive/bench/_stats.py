"""Percentiles and summaries of samples, exact and dependency-free.

Percentiles use linear interpolation between closest ranks (numpy's default "linear"
method), so known data gives known answers in tests.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass


def percentile(values: Sequence[float], p: float) -> float:
    """The `p`-th percentile (0..100) of `values`, interpolating between closest ranks."""
    if not values:
        raise ValueError("percentile of no samples is undefined; measure at least one")
    if not 0.0 <= p <= 100.0:
        raise ValueError(f"percentile must be within 0..100, got {p}")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100.0
    low = math.floor(rank)
    high = math.ceil(rank)
    if low == high:
        return float(ordered[low])
    weight = rank - low
    return float(ordered[low] + (ordered[high] - ordered[low]) * weight)


@dataclass(frozen=True)
class Summary:
    """Count, spread and tail of a set of samples (same unit as the samples)."""

    n: int
    mean: float
    min: float
    p50: float
    p95: float
    p99: float
    max: float

    def to_dict(self) -> dict[str, float | int]:
        """The summary as a JSON-ready dict."""
        return asdict(self)

    def scaled(self, factor: float) -> Summary:
        """The same summary in another unit (e.g. seconds to milliseconds)."""
        return Summary(
            n=self.n,
            mean=self.mean * factor,
            min=self.min * factor,
            p50=self.p50 * factor,
            p95=self.p95 * factor,
            p99=self.p99 * factor,
            max=self.max * factor,
        )


def summarize(values: Sequence[float]) -> Summary:
    """Summarize `values`; raises ValueError when there are none."""
    if not values:
        raise ValueError("cannot summarize no samples; measure at least one")
    return Summary(
        n=len(values),
        mean=math.fsum(values) / len(values),
        min=float(min(values)),
        p50=percentile(values, 50),
        p95=percentile(values, 95),
        p99=percentile(values, 99),
        max=float(max(values)),
    )


def ratio(numerator: float, denominator: float) -> float:
    """`numerator / denominator`, or infinity/NaN instead of a crash when the base is zero."""
    if denominator == 0:
        return math.inf if numerator > 0 else math.nan
    return numerator / denominator
