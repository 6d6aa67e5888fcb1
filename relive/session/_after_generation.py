"""The callbacks waiting for the model's generation to end (`after_generation_complete`).

Split from the driver (`_driver.py`), which decides when the generation has ended; this runs the
callbacks waiting for that, sync or async, and keeps their tasks until they finish.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger("relive.session")


class GenerationWaiters:
    """Callbacks to run once, at the next end of the model's generation (or the session's)."""

    def __init__(self) -> None:
        self._waiting: list[Callable[[], Any]] = []
        self._tasks: set[asyncio.Task[Any]] = set()  # an async callback's, until it finishes

    def add(self, callback: Callable[[], Any]) -> None:
        self._waiting.append(callback)

    def run(self) -> None:
        """Run (or, if async, start) every callback waiting so far; a failing one is logged."""
        callbacks, self._waiting = self._waiting, []
        for callback in callbacks:
            try:
                result = callback()
            except Exception:
                log.exception("after_generation_complete callback failed")
                continue
            if inspect.isawaitable(result):
                task = asyncio.ensure_future(result)
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
