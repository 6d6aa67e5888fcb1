"""The door of relive's state machines: a move is looked up in a table, or it is a bug.

Both the session machine and the emulator's connection keep a table of which trigger moves which
state where (h11's EVENT_TRIGGERED_TRANSITIONS); each changes state only through `move`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import TypeVar

from relive._errors import IllegalTransitionError

S = TypeVar("S", bound=enum.Enum)
T = TypeVar("T", bound=enum.Enum)


def move(table: Mapping[S, Mapping[T, S]], state: S, trigger: T, where: str) -> S:
    """The state `trigger` leads to from `state`; `IllegalTransitionError` if the table has none."""
    new = table[state].get(trigger)
    if new is None:
        raise IllegalTransitionError(
            f"{where}: {trigger.value!r} is not allowed in state {state.value!r}"
        )
    return new
