"""The event loop relive's own commands run on: uvloop when it is installed, else asyncio's.

`pip install 'relive[fast]'` brings uvloop (not on Windows). The library itself never picks a
loop: an app's sessions run on whatever loop the app runs.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Coroutine
from typing import Any, Literal, TypeVar

T = TypeVar("T")
LoopName = Literal["auto", "asyncio", "uvloop"]
LOOPS: tuple[LoopName, ...] = ("auto", "asyncio", "uvloop")


def factory(loop: LoopName = "auto") -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop factory for "uvloop" (or "auto" when installed), else None (asyncio's)."""
    if loop == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        if loop == "uvloop":
            raise
        return None
    new_loop: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return new_loop


def run(main: Coroutine[Any, Any, T], *, loop: LoopName = "auto") -> T:
    """`asyncio.run(main)` on the chosen loop."""
    with asyncio.Runner(loop_factory=factory(loop)) as runner:
        return runner.run(main)


def serve(command: str, host: str, port: int, main: Coroutine[Any, Any, None]) -> int:
    """Run a server command until Ctrl-C: exit status 0, or 1 with one line if it cannot bind."""
    try:
        run(main)
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        print(f"relive {command}: cannot listen on {host}:{port}: {exc}", file=sys.stderr)
        return 1
    return 0
