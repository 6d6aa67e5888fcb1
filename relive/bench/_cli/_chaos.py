"""Flags of `relive bench chaos`: many sessions x turns under random faults, with the fault
names and model families it offers (kept here so `--help` needs no emulator import)."""

from __future__ import annotations

import argparse
import random
from typing import Any

from relive import _argtypes
from relive.bench._cli._shared import add_common, positive_int, run

# One model of each family, for `relive bench chaos --model`.
CHAOS_MODELS = (
    "gemini-2.5-flash-native-audio-preview-12-2025",
    "gemini-live-2.5-flash-preview",
    "gemini-3.1-flash-live-preview",
    "gemini-3.8-live",
)

# The fault names of `relive bench chaos`.
CHAOS_FAULTS = (
    "drop",
    "drop_mid_turn",
    "goaway",
    "goaway_too_late",
    "close_1011",
    "refuse_resumption",
    "expire_handles",
    "silent_drop",
)


def register(sub: Any) -> None:
    """Add `chaos` to the `relive bench` subcommands."""
    p = sub.add_parser("chaos", help="many sessions x turns under random faults")
    p.add_argument("--sessions", type=positive_int, default=8, help="sessions (8)")
    p.add_argument("--turns", type=positive_int, default=25, help="turns per session (25)")
    p.add_argument("--fault-rate", type=_fraction, default=0.3, help="faults per turn (0.3)")
    p.add_argument("--seed", type=int, default=None, help="random seed (printed; random if unset)")
    p.add_argument(
        "--model",
        default=None,
        metavar="M",
        help="the model, and so the emulator's model profile (handle cadence, goAway lead, "
        "rules), e.g. " + ", ".join(CHAOS_MODELS) + " (default: the bench model)",
    )
    p.add_argument(
        "--faults",
        type=_fault_names,
        default=None,
        help="comma-separated subset of: " + ", ".join(CHAOS_FAULTS) + " (all)",
    )
    add_common(p)
    p.set_defaults(handler=_run_chaos)


def _run_chaos(args: argparse.Namespace) -> int:
    from relive.bench._chaos import run_chaos

    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    if not args.json:
        print(f"chaos seed: {seed}  (repeat with --seed {seed})", flush=True)
    return run(
        args,
        lambda: run_chaos(
            sessions=args.sessions,
            turns=args.turns,
            fault_rate=args.fault_rate,
            seed=seed,
            faults=args.faults,
            **({"model": args.model} if args.model else {}),
        ),
    )


def _fault_names(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in CHAOS_FAULTS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown fault {', '.join(unknown) or '(none given)'}; choose from "
            + ", ".join(CHAOS_FAULTS)
        )
    return names


def _fraction(text: str) -> float:
    value = _argtypes.non_negative(float)(text)
    if value > 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value
