"""Flags of the benches of many sessions at once: `scale` (calls streaming real-time audio) and
`wave` (every session reconnecting at once)."""

from __future__ import annotations

import argparse
from typing import Any

from relive import _argtypes
from relive.bench._cli._shared import add_common, positive_float, positive_int, run


def register(sub: Any) -> None:
    """Add `scale` and `wave` to the `relive bench` subcommands."""
    p = sub.add_parser("scale", help="concurrent call sessions streaming real-time audio")
    p.add_argument("--sessions", type=positive_int, default=100, help="sessions (100)")
    p.add_argument("--hold", type=positive_float, default=5.0, help="seconds held (5)")
    p.add_argument("--connect-concurrency", type=positive_int, default=20, help="parallel setups")
    p.add_argument(
        "--turn-every", type=positive_float, default=2.0, help="seconds between turns (2)"
    )
    p.add_argument(
        "--side", choices=["relive", "raw"], default="relive", help="relive or the raw SDK"
    )
    p.add_argument(
        "--chunk-ms", type=positive_int, default=20, help="audio chunk length in ms (20)"
    )
    p.add_argument(
        "--mass-drop",
        action="store_true",
        help="after the hold, cut every connection at once and time the recovery (relive)",
    )
    add_common(p)
    p.set_defaults(handler=_run_scale)

    p = sub.add_parser(
        "wave",
        help="every session reconnecting at once (goAway or drop wave) vs raw connect+setups",
        description=(
            "Hold N relive sessions, then have the emulator send every connection a goAway, or "
            "cut every one, at once (or spread over --stagger seconds); each session's downtime "
            "against N raw-SDK connect+setups started on the same schedule just before."
        ),
    )
    p.add_argument("--sessions", type=positive_int, default=100, help="sessions (100)")
    p.add_argument(
        "--faults",
        type=_wave_faults,
        default=["goaway", "drop"],
        help="comma-separated waves, in order: goaway, drop (goaway,drop)",
    )
    p.add_argument(
        "--stagger",
        type=_argtypes.non_negative(float),
        default=0.0,
        help="spread each wave (and its baseline) evenly over this many seconds (0: at once)",
    )
    p.add_argument("--connect-concurrency", type=positive_int, default=20, help="parallel setups")
    p.add_argument(
        "--time-left", type=positive_float, default=10.0, help="the goAway's timeLeft (10 s)"
    )
    p.add_argument(
        "--latency",
        type=_argtypes.non_negative(float),
        default=0.0,
        help="delay every server message this many seconds (connects wait on the network)",
    )
    p.add_argument(
        "--connect-limit",
        dest="limit_connects",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="the sessions' reconnects take turns (Policy.limit_connects, the default); "
        "--no-connect-limit: every reconnect starts at once",
    )
    p.add_argument(
        "--gc-freeze",
        action="store_true",
        help="gc.freeze() in the client process before each baseline and each wave (both alike)",
    )
    add_common(p)
    p.set_defaults(handler=_run_wave)


def _run_scale(args: argparse.Namespace) -> int:
    from relive.bench._scale import run_scale

    return run(
        args,
        lambda: run_scale(
            sessions=args.sessions,
            hold=args.hold,
            connect_concurrency=args.connect_concurrency,
            turn_every=args.turn_every,
            side=args.side,
            chunk_ms=args.chunk_ms,
            mass_drop=args.mass_drop,
        ),
    )


def _run_wave(args: argparse.Namespace) -> int:
    from relive.bench._wave import run_wave

    return run(
        args,
        lambda: run_wave(
            sessions=args.sessions,
            faults=args.faults,
            stagger=args.stagger,
            connect_concurrency=args.connect_concurrency,
            time_left=args.time_left,
            latency=args.latency,
            limit_connects=args.limit_connects,
            gc_freeze=args.gc_freeze,
        ),
    )


def _wave_faults(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names or any(n not in ("goaway", "drop") for n in names):
        raise argparse.ArgumentTypeError(f"choose goaway, drop or both (goaway,drop), got {text}")
    return names
