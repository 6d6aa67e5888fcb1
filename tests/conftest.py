"""Fixtures shared by more than one test folder."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest


@pytest.fixture
def no_collector() -> Iterator[None]:
    """The cyclic collector off: only what reference counting frees is freed (the tests that a
    finished connection leaves nothing in reference cycles, client and emulator side)."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
