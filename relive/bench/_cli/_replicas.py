"""Flags of the benches of `relive serve` replicas (Redis, HAProxy): `failover` (one replica
stopped under N calls) and `replica` (the calls one replica holds at real time)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from relive.bench._cli._shared import (
    add_common,
    add_plot,
    plotted,
    positive_float,
    positive_int,
    run,
)


def register(sub: Any) -> None:
    """Add `failover` and `replica` to the `relive bench` subcommands."""
    p = sub.add_parser(
        "failover",
        help="calls on two relive serve replicas (HAProxy, Redis): one SIGTERMed, one SIGKILLed",
        description=(
            "N calls (real-time 20 ms audio, spoken and chat turns) through HAProxy to two "
            "relive serve replicas sharing Redis and the emulator. Each run sends every Live "
            "connection a goAway, then stops one replica (SIGTERM in one run, SIGKILL in the "
            "other): per call the downtime of its move, as a ratio to the goAway reconnect, and "
            "turns lost, duplicated or stuck. Needs redis-server and haproxy on PATH."
        ),
    )
    p.add_argument("--calls", type=_at_least_two, default=100, help="concurrent calls (100)")
    p.add_argument(
        "--stop",
        type=_stops,
        default=["term", "kill"],
        help="how the replica is stopped, one run each: term, kill or term,kill (term,kill)",
    )
    p.add_argument(
        "--hold", type=positive_float, default=5.0, help="seconds of call around each event (5)"
    )
    p.add_argument(
        "--turn-every", type=positive_float, default=2.0, help="seconds between turns (2)"
    )
    add_plot(p)
    add_common(p)
    p.set_defaults(handler=_run_failover)

    p = sub.add_parser(
        "replica",
        help="calls one relive serve process holds at real time (Redis, emulator)",
        description=(
            "Ramp the calls on one relive serve replica (real-time 20 ms audio, a spoken turn "
            "every --turn-every seconds, a fresh replica per step) until the audio it delivers to "
            "the emulator falls below 0.95 of real time; also its CPU per call-second, which "
            "holds on a loaded machine. Needs redis-server on PATH."
        ),
    )
    p.add_argument(
        "--calls",
        type=_counts,
        default=[50, 100, 200, 300],
        help="the ramp, comma-separated (50,100,200,300)",
    )
    p.add_argument("--hold", type=positive_float, default=10.0, help="seconds measured (10)")
    p.add_argument(
        "--turn-every", type=positive_float, default=2.0, help="seconds between turns (2)"
    )
    add_common(p)
    p.set_defaults(handler=_run_replica)


def _run_failover(args: argparse.Namespace) -> int:
    from relive.bench._failover import run_failover

    if _missing("failover", "redis-server", "haproxy"):
        return 2
    code = run(
        args,
        lambda: run_failover(
            calls=args.calls,
            stops=args.stop,
            hold=args.hold,
            turn_every=args.turn_every,
            plot=args.plot,
        ),
    )
    return plotted(args, code)


def _run_replica(args: argparse.Namespace) -> int:
    from relive.bench._capacity import run_replica

    if _missing("replica", "redis-server"):
        return 2
    return run(
        args, lambda: run_replica(calls=args.calls, hold=args.hold, turn_every=args.turn_every)
    )


def _missing(bench: str, *tools: str) -> bool:
    """True, having said which, when one of the `tools` the bench starts is not installed."""
    from relive.bench._replicas import ToolMissingError, require_tools

    try:
        require_tools(*tools)
    except ToolMissingError as exc:
        print(f"relive bench {bench}: {exc}", file=sys.stderr)
        return True
    return False


def _stops(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names or any(n not in ("term", "kill") for n in names):
        raise argparse.ArgumentTypeError(f"must be term, kill or term,kill, got {text!r}")
    return names


def _counts(text: str) -> list[int]:
    parts = [n for n in text.split(",") if n.strip()]
    if not parts:
        raise argparse.ArgumentTypeError(f"needs one count or more, comma-separated: {text!r}")
    return [positive_int(n) for n in parts]


def _at_least_two(text: str) -> int:
    value = positive_int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"must be at least 2 (a call on each replica), got {text}")
    return value
