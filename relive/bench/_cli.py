"""`relive bench reconnect|overhead|cpu|memory|scale|wave|failover|replica|chaos|emulator`: sizes as
flags, a table or `--json`.

`emulator` is registered by `relive.emulator._bench` (the emulator measured on its own).

Defaults finish well under a minute on a 2-core machine; docs/performance.md lists bigger runs.
Exit status is 1 when a hard aim (0 lost, duplicated or stuck turns) is missed, 2 when a run
could not finish (the reason is printed).
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from relive import _argtypes, _loop
from relive.bench._repeat import summarize_runs
from relive.bench._report import Report

log = logging.getLogger("relive.bench")


def register(subparsers: Any) -> None:
    """Add `bench` and its sub-subcommands to the `relive` parser."""
    bench = subparsers.add_parser(
        "bench",
        help="measure reconnects, overhead, scale and chaos against the raw SDK",
        description=(
            "Measure relive against the raw SDK in the same run: reconnect downtime, overhead per "
            "message, concurrent sessions, and turns lost under random faults. Defaults finish in "
            "under a minute; docs/performance.md lists bigger runs. Exit status 1: a hard aim "
            "(0 lost, duplicated or stuck turns) was missed; 2: a run could not finish."
        ),
    )
    sub = bench.add_subparsers(dest="bench_command", required=True, metavar="BENCH")

    p = sub.add_parser("reconnect", help="planned (goAway) and unplanned (drop) reconnect downtime")
    p.add_argument("--planned", type=_positive_int, default=50, help="goAway reconnects (50)")
    p.add_argument("--unplanned", type=_positive_int, default=50, help="drop reconnects (50)")
    p.add_argument("--baseline", type=_positive_int, default=100, help="raw connect+setups")
    p.add_argument(
        "--chunks-between",
        type=_argtypes.non_negative(int),
        default=5,
        help="20 ms chunks on each connection (5)",
    )
    p.add_argument("--seed", type=int, default=0, help="random phase of the faults (0)")
    p.add_argument(
        "--hog",
        type=_argtypes.non_negative(int),
        default=0,
        help="busy processes spinning beside the run, to measure under CPU load (0)",
    )
    p.add_argument("--plot", metavar="FILE", help="write a PNG of the downtime distributions")
    _common(p)
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
    p.add_argument("--sessions", type=_positive_int, default=50, help="idle sessions (50)")
    p.add_argument(
        "--seconds", type=_positive_float, default=100.0, help="length of the silent call (100)"
    )
    _common(p)
    p.set_defaults(handler=_run_memory)

    p = sub.add_parser("scale", help="concurrent call sessions streaming real-time audio")
    p.add_argument("--sessions", type=_positive_int, default=100, help="sessions (100)")
    p.add_argument("--hold", type=_positive_float, default=5.0, help="seconds held (5)")
    p.add_argument("--connect-concurrency", type=_positive_int, default=20, help="parallel setups")
    p.add_argument(
        "--turn-every", type=_positive_float, default=2.0, help="seconds between turns (2)"
    )
    p.add_argument(
        "--side", choices=["relive", "raw"], default="relive", help="relive or the raw SDK"
    )
    p.add_argument(
        "--chunk-ms", type=_positive_int, default=20, help="audio chunk length in ms (20)"
    )
    p.add_argument(
        "--mass-drop",
        action="store_true",
        help="after the hold, cut every connection at once and time the recovery (relive)",
    )
    _common(p)
    p.set_defaults(handler=_run_scale)

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
        "--hold", type=_positive_float, default=5.0, help="seconds of call around each event (5)"
    )
    p.add_argument(
        "--turn-every", type=_positive_float, default=2.0, help="seconds between turns (2)"
    )
    p.add_argument("--plot", metavar="FILE", help="write a PNG of the downtime distributions")
    _common(p)
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
    p.add_argument("--hold", type=_positive_float, default=10.0, help="seconds measured (10)")
    p.add_argument(
        "--turn-every", type=_positive_float, default=2.0, help="seconds between turns (2)"
    )
    _common(p)
    p.set_defaults(handler=_run_replica)

    p = sub.add_parser(
        "wave",
        help="every session reconnecting at once (goAway or drop wave) vs raw connect+setups",
        description=(
            "Hold N relive sessions, then have the emulator send every connection a goAway, or "
            "cut every one, at once (or spread over --stagger seconds); each session's downtime "
            "against N raw-SDK connect+setups started on the same schedule just before."
        ),
    )
    p.add_argument("--sessions", type=_positive_int, default=100, help="sessions (100)")
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
    p.add_argument("--connect-concurrency", type=_positive_int, default=20, help="parallel setups")
    p.add_argument(
        "--time-left", type=_positive_float, default=10.0, help="the goAway's timeLeft (10 s)"
    )
    _common(p)
    p.set_defaults(handler=_run_wave)

    p = sub.add_parser("chaos", help="many sessions x turns under random faults")
    p.add_argument("--sessions", type=_positive_int, default=8, help="sessions (8)")
    p.add_argument("--turns", type=_positive_int, default=25, help="turns per session (25)")
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
    _common(p)
    p.set_defaults(handler=_run_chaos)

    # The emulator alone (sessions held, connections/s, messages/s): the emulator's own bench.
    from relive.emulator._bench import register_bench

    register_bench(sub)


def _blocks(p: argparse.ArgumentParser, *, turns: int, chunks: int, rounds: int) -> None:
    """Sizes of benches that alternate raw and relive blocks (overhead, cpu)."""
    p.add_argument(
        "--turns", type=_positive_int, default=turns, help=f"text turns per block ({turns})"
    )
    p.add_argument(
        "--chunks", type=_positive_int, default=chunks, help=f"audio chunks per block ({chunks})"
    )
    p.add_argument(
        "--rounds", type=_positive_int, default=rounds, help=f"alternating blocks ({rounds})"
    )
    _common(p)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument(
        "--repeat",
        type=_positive_int,
        default=1,
        metavar="K",
        help="run K times; print each figure's min, median and max over the runs (1)",
    )
    p.add_argument(
        "--loop",
        choices=_loop.LOOPS,
        default="auto",
        help="event loop: uvloop when installed (auto), or force one",
    )


def _emit(report: Report, as_json: bool) -> int:
    print(report.to_json() if as_json else report.table())
    return 1 if report.failed else 0


def _run(args: argparse.Namespace, make: Callable[[], Coroutine[Any, Any, Report]]) -> int:
    try:
        reports = [_loop.run(make(), loop=args.loop) for _ in range(args.repeat)]
        report = reports[0] if len(reports) == 1 else summarize_runs(reports)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except ModuleNotFoundError as exc:
        print(
            f"relive bench {args.bench_command} needs {exc.name}: pip install 'relive[bench]'",
            file=sys.stderr,
        )
        return 2
    except Exception as exc:  # a run that could not finish: say what stopped it, no traceback
        log.debug("bench run failed", exc_info=True)
        print(
            f"relive bench {args.bench_command} could not finish: {type(exc).__name__}: {exc}",
            file=sys.stderr,
        )
        return 2
    return _emit(report, args.json)


def _run_reconnect(args: argparse.Namespace) -> int:
    from relive.bench._reconnect import run_reconnect

    code = _run(
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
    return _plotted(args, code)


def _plotted(args: argparse.Namespace, code: int) -> int:
    """Say where `--plot` wrote its PNG (after a table, when the run finished)."""
    if args.plot and code == 0 and not args.json:
        print(f"plot written to {args.plot}")
    return code


def _run_overhead(args: argparse.Namespace) -> int:
    from relive.bench._overhead import run_overhead

    return _run(
        args, lambda: run_overhead(turns=args.turns, chunks=args.chunks, rounds=args.rounds)
    )


def _run_cpu(args: argparse.Namespace) -> int:
    from relive.bench._cpu import run_cpu

    return _run(args, lambda: run_cpu(turns=args.turns, chunks=args.chunks, rounds=args.rounds))


def _run_memory(args: argparse.Namespace) -> int:
    from relive.bench._memory import run_memory

    return _run(args, lambda: run_memory(sessions=args.sessions, seconds=args.seconds))


def _run_scale(args: argparse.Namespace) -> int:
    from relive.bench._scale import run_scale

    return _run(
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


def _run_failover(args: argparse.Namespace) -> int:
    from relive.bench._failover import run_failover
    from relive.bench._replicas import ToolMissingError, require_tools

    try:
        require_tools()
    except ToolMissingError as exc:
        print(f"relive bench failover: {exc}", file=sys.stderr)
        return 2
    code = _run(
        args,
        lambda: run_failover(
            calls=args.calls,
            stops=args.stop,
            hold=args.hold,
            turn_every=args.turn_every,
            plot=args.plot,
        ),
    )
    return _plotted(args, code)


def _run_replica(args: argparse.Namespace) -> int:
    from relive.bench._capacity import run_replica
    from relive.bench._replicas import ToolMissingError, require_tools

    try:
        require_tools("redis-server")
    except ToolMissingError as exc:
        print(f"relive bench replica: {exc}", file=sys.stderr)
        return 2
    return _run(
        args, lambda: run_replica(calls=args.calls, hold=args.hold, turn_every=args.turn_every)
    )


def _run_wave(args: argparse.Namespace) -> int:
    from relive.bench._wave import run_wave

    return _run(
        args,
        lambda: run_wave(
            sessions=args.sessions,
            faults=args.faults,
            stagger=args.stagger,
            connect_concurrency=args.connect_concurrency,
            time_left=args.time_left,
        ),
    )


def _run_chaos(args: argparse.Namespace) -> int:
    from relive.bench._chaos import run_chaos

    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    if not args.json:
        print(f"chaos seed: {seed}  (repeat with --seed {seed})", flush=True)
    return _run(
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


# One model of each family, for `relive bench chaos --model` (no emulator import for `--help`).
CHAOS_MODELS = (
    "gemini-2.5-flash-native-audio-preview-12-2025",
    "gemini-live-2.5-flash-preview",
    "gemini-3.1-flash-live-preview",
    "gemini-3.8-live",
)

# The fault names of `relive bench chaos` (kept here so `--help` needs no emulator import).
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


def _fault_names(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in CHAOS_FAULTS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown fault {', '.join(unknown) or '(none given)'}; choose from "
            + ", ".join(CHAOS_FAULTS)
        )
    return names


def _stops(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names or any(n not in ("term", "kill") for n in names):
        raise argparse.ArgumentTypeError(f"must be term, kill or term,kill, got {text!r}")
    return names


def _counts(text: str) -> list[int]:
    parts = [n for n in text.split(",") if n.strip()]
    if not parts:
        raise argparse.ArgumentTypeError(f"needs one count or more, comma-separated: {text!r}")
    return [_positive_int(n) for n in parts]


def _at_least_two(text: str) -> int:
    value = _argtypes.positive(int)(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"must be at least 2 (a call on each replica), got {text}")
    return value


def _wave_faults(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names or any(n not in ("goaway", "drop") for n in names):
        raise argparse.ArgumentTypeError(f"choose goaway, drop or both (goaway,drop), got {text}")
    return names


_positive_int = _argtypes.positive(int)
_positive_float = _argtypes.positive(float)


def _fraction(text: str) -> float:
    value = _argtypes.non_negative(float)(text)
    if value > 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value
