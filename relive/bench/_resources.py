"""CPU and memory of one process, measured with psutil, so each side of a run gets its own figure.

A `ProcessMeter` takes a snapshot at the start of a window and another at the end; the
difference in CPU time over the wall time is the share of one core that process used.
"""

from __future__ import annotations

from dataclasses import dataclass

import psutil

from relive._clock import Clock, MonotonicClock


@dataclass(frozen=True)
class Usage:
    """A process's cumulative CPU seconds and resident memory at one moment."""

    wall_s: float
    cpu_s: float
    rss_bytes: int


@dataclass(frozen=True)
class Window:
    """What a process used between two snapshots."""

    wall_s: float
    cpu_s: float
    rss_start_bytes: int
    rss_end_bytes: int

    @property
    def cpu_share(self) -> float:
        """Fraction of one core used over the window (1.0 = one core busy throughout)."""
        return self.cpu_s / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def rss_growth_bytes(self) -> int:
        return self.rss_end_bytes - self.rss_start_bytes


class ProcessMeter:
    """Snapshots of one process (this one by default)."""

    def __init__(self, pid: int | None = None, clock: Clock | None = None) -> None:
        self._process = psutil.Process(pid)
        self._clock = clock or MonotonicClock()

    @property
    def pid(self) -> int:
        return int(self._process.pid)

    def snapshot(self) -> Usage:
        times = self._process.cpu_times()
        rss = int(self._process.memory_info().rss)
        return Usage(wall_s=self._clock.now(), cpu_s=times.user + times.system, rss_bytes=rss)

    @staticmethod
    def window(start: Usage, end: Usage) -> Window:
        return Window(
            wall_s=end.wall_s - start.wall_s,
            cpu_s=end.cpu_s - start.cpu_s,
            rss_start_bytes=start.rss_bytes,
            rss_end_bytes=end.rss_bytes,
        )
