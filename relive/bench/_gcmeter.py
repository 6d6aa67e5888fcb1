"""The client process's garbage collections over a measured window, from a `gc.callbacks` hook.

A full (generation 2) collection walks every object the collector tracks and holds the event
loop meanwhile: with 1,000 sessions held, 0.2-0.5 s at a time, in the middle of a wave. So a
bench that times a crowd says how many full collections fell in each window and how long they
paused the process, and how many tracked objects the held sessions keep (what each full
collection walks).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from relive._clock import Clock, MonotonicClock
from relive.bench._report import Column, Row, Table


@dataclass
class Collections:
    """The collections of one window: full ones, and every generation's pause together."""

    full: int = 0
    full_pause_s: float = 0.0
    full_max_s: float = 0.0
    full_collected: int = 0  # objects the full collections freed (cyclic garbage)
    all_pause_s: float = 0.0  # every collection's, young ones included


class GcMeter:
    """Times the process's collections while a `window()` is open (one at a time)."""

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock = clock or MonotonicClock()
        self._window: Collections | None = None
        self._began: float | None = None

    @contextmanager
    def window(self) -> Iterator[Collections]:
        """Count the collections from here to the end of the block in the `Collections` given."""
        if self._window is not None:
            raise RuntimeError("one window at a time")
        self._window = Collections()
        gc.callbacks.append(self._on_collect)
        try:
            yield self._window
        finally:
            gc.callbacks.remove(self._on_collect)
            self._window, self._began = None, None

    def _on_collect(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._began = self._clock.now()
            return
        window, began = self._window, self._began
        if window is None or began is None:
            return  # the window opened mid-collection
        pause = self._clock.now() - began
        window.all_pause_s += pause
        if info["generation"] == 2:
            window.full += 1
            window.full_pause_s += pause
            window.full_max_s = max(window.full_max_s, pause)
            window.full_collected += info["collected"]


def tracked() -> int:
    """The objects the collector tracks now (what a full collection walks)."""
    return len(gc.get_objects())


def settle(freeze: bool = False) -> int:
    """A full collection (then `gc.freeze()` when asked), so a measured window starts from a
    known collector state, not with the garbage of what ran before it; the objects tracked then
    (before the freeze: frozen ones are not counted)."""
    gc.unfreeze()
    gc.collect()
    count = tracked()
    if freeze:
        gc.freeze()
    return count


def collections_table(windows: list[tuple[str, str, Collections]]) -> Table:
    """One column per window (its header, its JSON key, what it saw), one row per measure."""
    seen = [c for _, _, c in windows]
    return Table(
        "garbage collections of the client process, in each window",
        "collections",
        [Column(header, key) for header, key, _ in windows],
        [
            Row("full (gen 2) collections", *(c.full for c in seen), key="full"),
            Row(
                "their pause, total",
                *(1000 * c.full_pause_s for c in seen),
                key="full_pause_ms",
                unit="ms",
            ),
            Row("the longest", *(1000 * c.full_max_s for c in seen), key="full_max_ms", unit="ms"),
            Row("objects they freed", *(c.full_collected for c in seen), key="full_collected"),
            Row(
                "every collection's pause (young ones too)",
                *(1000 * c.all_pause_s for c in seen),
                key="all_pause_ms",
                unit="ms",
            ),
        ],
    )
