"""A state machine's one door, checked against its table for one (state, trigger) pair."""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from typing import TypeVar

import pytest

from relive import IllegalTransitionError

S = TypeVar("S", bound=enum.Enum)
T = TypeVar("T", bound=enum.Enum)


def check_door(
    go: Callable[[T], None], read: Callable[[], S], table: Mapping[S, Mapping[T, S]], trigger: T
) -> None:
    """`go(trigger)` moves where the table says from the state `read()` gives, or raises."""
    before = read()
    target = table[before].get(trigger)
    if target is None:
        with pytest.raises(IllegalTransitionError, match=str(trigger.value)):
            go(trigger)
        assert read() is before
    else:
        go(trigger)
        assert read() is target
