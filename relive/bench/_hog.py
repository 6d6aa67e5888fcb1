"""Busy processes beside a bench run, to see the same figures on a machine short of CPU.

`relive bench reconnect --hog 2` runs two processes that spin for the whole run (on a 2-core
machine: every core contended), the condition under which in-flight audio used to go missing.
"""

from __future__ import annotations

import multiprocessing
import time
from types import TracebackType

# A hog never outlives this, even if its parent is killed before it can stop it.
MAX_SECONDS = 3600.0


def _spin(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


class CpuHog:
    """`count` spinning child processes while the `with` block runs."""

    def __init__(self, count: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._processes = [
            ctx.Process(target=_spin, args=(MAX_SECONDS,), daemon=True, name=f"relive-hog-{i}")
            for i in range(count)
        ]

    def __enter__(self) -> CpuHog:
        for process in self._processes:
            process.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for process in self._processes:
            process.terminate()
        for process in self._processes:
            process.join(5.0)
