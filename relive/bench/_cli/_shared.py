"""What every `relive bench` subcommand shares: `--json`, `--repeat K`, `--loop`, number types,
and the run that turns its report into output and an exit status."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from relive import _argtypes, _loop
from relive.bench._repeat import summarize_runs
from relive.bench._report import Report

log = logging.getLogger("relive.bench")

positive_int = _argtypes.positive(int)
positive_float = _argtypes.positive(float)
non_negative_int = _argtypes.non_negative(int)


def add_common(p: argparse.ArgumentParser) -> None:
    """`--json`, `--repeat K` and `--loop`, which every bench takes."""
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument(
        "--repeat",
        type=positive_int,
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


def add_plot(p: argparse.ArgumentParser) -> None:
    """`--plot FILE` of the benches that draw their downtime distributions."""
    p.add_argument("--plot", metavar="FILE", help="write a PNG of the downtime distributions")


def run(args: argparse.Namespace, make: Callable[[], Coroutine[Any, Any, Report]]) -> int:
    """Run `make()` `--repeat` times on the `--loop` asked, print its report (or the summary of
    the runs), and return the exit status: 1 for a missed hard aim, 2 for a run that could not
    finish, 130 when interrupted."""
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
    print(report.to_json() if args.json else report.table())
    return 1 if report.failed else 0


def plotted(args: argparse.Namespace, code: int) -> int:
    """Say where `--plot` wrote its PNG (after a table, when the run finished)."""
    if args.plot and code == 0 and not args.json:
        print(f"plot written to {args.plot}")
    return code
