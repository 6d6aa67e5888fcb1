"""A PNG of reconnect downtime, relive against a bare raw-SDK connect+setup (Agg, no display)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # after use("Agg"): the backend must be chosen first
from matplotlib import ticker


def plot_downtime(
    series: Mapping[str, Sequence[float]],
    path: str | Path,
    *,
    title: str = "Reconnect downtime: relive vs raw SDK connect+setup",
) -> Path:
    """Write an empirical CDF plus a box plot of each series (milliseconds) to `path` as PNG."""
    target = Path(path)
    if not series or not any(series.values()):
        raise ValueError("nothing to plot: every series is empty")
    fig, (cdf_ax, box_ax) = plt.subplots(
        1, 2, figsize=(11, 4.5), gridspec_kw={"width_ratios": [3, 2]}
    )
    try:
        labels: list[str] = []
        data: list[list[float]] = []
        for label, values in series.items():
            if not values:
                continue
            ordered = sorted(values)
            n = len(ordered)
            fractions = [(i + 1) / n for i in range(n)]
            cdf_ax.step(ordered, fractions, where="post", label=f"{label} (n={n})")
            labels.append(label)
            data.append(ordered)
        cdf_ax.set_xscale("log")  # the tail (a busy machine) would squash the body otherwise
        cdf_ax.set_xlabel("downtime (ms, log scale)")
        cdf_ax.set_ylabel("fraction of reconnects")
        cdf_ax.set_ylim(0, 1.02)
        cdf_ax.grid(True, alpha=0.3)
        cdf_ax.legend(loc="lower right", fontsize="small")
        cdf_ax.set_title("cumulative distribution")
        box_ax.boxplot(data[::-1], orientation="horizontal", showfliers=True)  # first on top
        box_ax.set_yticks(range(1, len(labels) + 1), labels[::-1], fontsize="small")
        box_ax.set_xscale("log")
        box_ax.set_xlabel("downtime (ms, log scale)")
        box_ax.grid(True, axis="x", alpha=0.3)
        box_ax.set_title("spread (box: p25-p75, whiskers 1.5 IQR)")
        for ax in (cdf_ax, box_ax):
            ax.xaxis.set_major_locator(ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
            ax.xaxis.set_major_formatter(ticker.FormatStrFormatter("%g"))
            ax.xaxis.set_minor_formatter(ticker.NullFormatter())
        fig.suptitle(title)
        fig.tight_layout()
        target.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(target, format="png", dpi=100)
    finally:
        plt.close(fig)
    return target
