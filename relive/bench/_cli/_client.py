"""Flags of the benches of one client, relive vs the raw SDK side by side: `reconnect`,
`overhead`, `cpu`, `memory`."""

from __future__ import annotations

import argparse
from typing import Any

from relive.bench._cli._shared import (
    add_common,
    add_plot,
    non_negative_int,
    plotted,
    positive_float,
    positive_int,
    run,
)


def register(sub: Any) -> None:
    """Add `reconnect`, `overhead`, `cpu` and `memory` to the `relive bench` subcommands."""
    p = sub.add_parser("reconnect", help="planned (goAway) and unplanned (drop) reconnect downtime")
    p.add_argument("--planned", type=positive_int, default=50, help="goAway reconnects (50)")
    p.add_argument("--unplanned", type=positive_int, default=50, help="drop reconnects (50)")
    p.add_argument("--baseline", type=positive_int, default=100, help="raw connect+setups")
    p.add_argument(
        "--chunks-between",
        type=non_negative_int,
        default=5,
        help="20 ms chunks on each connection (5)",
    )
    p.add_argument("--seed", type=int, default=0, help="random phase of the faults (0)")
    p.add_argument(
        "--hog",
        type=non_negative_int,
        default=0,
        help="busy processes spinning beside the run, to measure under CPU load (0)",
    )
    add_plot(p)
    add_common(p)
    p.set_defaults(handler=_run_reconnect)

    p = sub.add_parser("overhead", help="relive vs raw SDK: messages/s and latency per message")
    _blocks(p, turns=100, chunks=1000, rounds=4)
    p.set_defaults(handler=_run_overhead)

    p = sub.add_parser(
        "cpu", help="relive vs raw SDK: CPU time per message in the client and the emulator"
    )
    _blocks(p, turns=200, chunks=2000, rounds=3)
    p.set_defaults(handler=_run_cpu)

    p = sub.add_parser(
        "memory", help="relive vs raw SDK: memory per idle session and per silent call"
    )
    p.add_argument("--sessions", type=positive_int, default=50, help="idle sessions (50)")
    p.add_argument(
        "--seconds", type=positive_float, default=100.0, help="length of the silent call (100)"
    )
    add_common(p)
    p.set_defaults(handler=_run_memory)


def _blocks(p: argparse.ArgumentParser, *, turns: int, chunks: int, rounds: int) -> None:
    """Sizes of benches that alternate raw and relive blocks (overhead, cpu)."""
    p.add_argument(
        "--turns", type=positive_int, default=turns, help=f"text turns per block ({turns})"
    )
    p.add_argument(
        "--chunks", type=positive_int, default=chunks, help=f"audio chunks per block ({chunks})"
    )
    p.add_argument(
        "--rounds", type=positive_int, default=rounds, help=f"alternating blocks ({rounds})"
    )
    add_common(p)


def _run_reconnect(args: argparse.Namespace) -> int:
    from relive.bench._reconnect import run_reconnect

    code = run(
        args,
        lambda: run_reconnect(
            planned=args.planned,
            unplanned=args.unplanned,
            baseline=args.baseline,
            chunks_between=args.chunks_between,
            seed=args.seed,
            plot=args.plot,
            hog=args.hog,
        ),
    )
    return plotted(args, code)


def _run_overhead(args: argparse.Namespace) -> int:
    from relive.bench._overhead import run_overhead

    return run(args, lambda: run_overhead(turns=args.turns, chunks=args.chunks, rounds=args.rounds))


def _run_cpu(args: argparse.Namespace) -> int:
    from relive.bench._cpu import run_cpu

    return run(args, lambda: run_cpu(turns=args.turns, chunks=args.chunks, rounds=args.rounds))


def _run_memory(args: argparse.Namespace) -> int:
    from relive.bench._memory import run_memory

    return run(args, lambda: run_memory(sessions=args.sessions, seconds=args.seconds))
