"""The collections a bench window saw, from the `gc.callbacks` hook."""

from __future__ import annotations

import gc

import pytest

from relive._clock import ManualClock
from relive.bench._gcmeter import GcMeter, tracked


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_a_full_collection_in_the_window_is_counted_with_what_it_freed() -> None:
    meter = GcMeter()
    with meter.window() as seen:
        for _ in range(10):
            _Cycle()  # unreachable at once, freed only by the collector
        gc.collect(1)  # a young collection: paused, but not full
        young = seen.all_pause_s
        assert seen.full == 0
        gc.collect()
    assert seen.full == 1
    assert seen.full_collected >= 10
    assert seen.full_max_s == seen.full_pause_s > 0
    assert seen.all_pause_s >= young + seen.full_pause_s
    gc.collect()
    assert seen.full == 1  # the window is closed


def test_pauses_are_timed_on_the_clock_given() -> None:
    clock = ManualClock()
    meter = GcMeter(clock)
    with meter.window() as seen:
        gc.collect()
    assert seen.full == 1 and seen.full_pause_s == 0.0  # the clock did not move


def test_one_window_at_a_time() -> None:
    meter = GcMeter()
    with meter.window(), pytest.raises(RuntimeError, match="one window"), meter.window():
        pass


def test_tracked_counts_what_the_collector_walks() -> None:
    gc.collect()
    before = tracked()
    held: list[list[int]] = [[] for _ in range(1000)]  # lists are tracked
    assert tracked() - before >= 1000
    del held
