"""argparse types with ranges, shared by the `relive` subcommands.

A bad value becomes argparse's own one-line error and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import TypeVar

N = TypeVar("N", int, float)


def port(text: str) -> int:
    """A TCP port, 0 (any free port) to 65535."""
    value = _number(int, text, "a whole number")
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text} is not a port (0-65535; 0 picks a free one)")
    return value


def positive(kind: Callable[[str], N]) -> Callable[[str], N]:
    """A finite number above zero, parsed by `kind` (int or float)."""

    def parse(text: str) -> N:
        value = _number(kind, text, "a number")
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{text} must be above 0")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its "invalid ..." message
    return parse


def non_negative(kind: Callable[[str], N]) -> Callable[[str], N]:
    """A finite number, zero or more, parsed by `kind` (int or float)."""

    def parse(text: str) -> N:
        value = _number(kind, text, "a number")
        if value < 0:
            raise argparse.ArgumentTypeError(f"{text} must be 0 or more")
        return value

    parse.__name__ = kind.__name__
    return parse


def _number(kind: Callable[[str], N], text: str, what: str) -> N:
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text} is not a finite number")
    return value
