"""Flags of `relive bench emulator`: the emulator in its own process, and with `--compare-tree`
another source tree's emulator beside it (runs alternating which goes first)."""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path
from typing import Any

from relive.bench._cli._shared import add_common, positive_float, positive_int, run


def register(sub: Any) -> None:
    """Add `emulator` to the `relive bench` subcommands."""
    p = sub.add_parser(
        "emulator",
        help="the emulator in its own process: CPU per message, sessions held, rates",
    )
    p.add_argument("--sessions", type=positive_int, default=1000, help="sessions held (1000)")
    p.add_argument(
        "--seconds", type=positive_float, default=3.0, help="length of each rate run (3)"
    )
    p.add_argument("--concurrency", type=positive_int, default=50, help="parallel connects (50)")
    p.add_argument(
        "--stream-sessions", type=positive_int, default=32, help="sessions streaming (32)"
    )
    p.add_argument(
        "--compare-tree",
        metavar="DIR",
        help="also measure the emulator of this relive source tree (e.g. a git worktree of an "
        "older commit), runs alternating; prints both and this/other",
    )
    p.add_argument("--tls", action="store_true", help="over wss:// (as the Python SDK needs)")
    add_common(p)  # --loop: the event loop of both processes
    p.set_defaults(handler=_run_emulator)


def _run_emulator(args: argparse.Namespace) -> int:
    from relive.bench._emulator import run_emulator

    tree = Path(args.compare_tree).resolve() if args.compare_tree else None
    if tree is not None and not (tree / "relive" / "emulator" / "__init__.py").is_file():
        print(f"relive bench emulator: no relive source tree at {tree}", file=sys.stderr)
        return 2
    runs = itertools.count()
    return run(
        args,
        lambda: run_emulator(
            sessions=args.sessions,
            seconds=args.seconds,
            concurrency=args.concurrency,
            stream_sessions=args.stream_sessions,
            tls=args.tls,
            loop=args.loop,
            compare_tree=tree,
            other_first=next(runs) % 2 == 1,
        ),
    )
