"""The injectable clock never goes backwards."""

from __future__ import annotations

import pytest

from relive import Clock, ManualClock, MonotonicClock


def test_manual_clock_moves_only_when_told() -> None:
    clock = ManualClock(10.0)
    assert clock.now() == 10.0
    assert clock.advance(2.5) == 12.5
    clock.set(20.0)
    assert clock.now() == 20.0
    with pytest.raises(ValueError, match="back in time"):
        clock.advance(-1)
    with pytest.raises(ValueError, match="back in time"):
        clock.set(19.0)


def test_both_clocks_satisfy_the_protocol() -> None:
    assert isinstance(ManualClock(), Clock)
    real = MonotonicClock()
    assert isinstance(real, Clock)
    assert real.now() <= real.now()
