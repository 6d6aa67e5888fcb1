"""A real Debian `redis-server` on a free loopback port, for the store and replica tests.

The launcher is the bench's (`relive.bench._replicas`); here a missing server fails the test.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from relive.bench._replicas import RedisServer, ToolMissingError, free_port, require_tools
from relive.bench._replicas import running_redis as _running_redis

__all__ = ["RedisServer", "free_port", "running_redis"]


@contextlib.contextmanager
def running_redis(where: Path) -> Iterator[RedisServer]:
    try:
        require_tools("redis-server")
    except ToolMissingError as exc:
        pytest.fail(str(exc))
    with _running_redis(where) as server:
        yield server
