"""`relive conformance`: the wire checks, as a table or `--json`; exit 1 when one fails."""

from __future__ import annotations

import argparse
import asyncio
import json
import textwrap
from typing import Any

from relive.conformance._checks import CHECKS
from relive.conformance._families import FAMILIES
from relive.conformance._run import DEFAULT_MODELS, Result, run

DESCRIPTION = """\
Check, with the official google-genai SDK, what a Live endpoint does against what the real
service is reported to do per model family: when resumption handles come, the order of
generationComplete, turnComplete and the handle, goAway and its deadline close, the close codes
and reasons for invalid handles, unknown models, bad keys, per-model rules. Each check says what
it expects and why a client cares.

--target emulator (default) runs them on an embedded emulator. --target real runs them on
Gemini (GEMINI_API_KEY) and prints its answers beside the emulator's, so anyone with a key can
show where the emulator is wrong; --target URL does the same for any server speaking the
protocol (e.g. https://127.0.0.1:PORT of a "relive emulator --tls", with --ca-file).
"""


def register(subparsers: Any) -> None:
    """Add the `conformance` subcommand."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "conformance",
        help="check an endpoint (emulator, real Gemini, a URL) against the real service's rules",
        description=DESCRIPTION,
        epilog="checks: "
        + ", ".join(c.name for c in CHECKS)
        + ". families: "
        + ", ".join(f"{f.name} ({f.example})" for f in FAMILIES),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--target",
        default="emulator",
        help="emulator (default), real (needs GEMINI_API_KEY), or a base URL (https://...)",
    )
    p.add_argument(
        "--model",
        action="append",
        dest="models",
        metavar="M",
        help="a model to check (repeatable); default: one of each family",
    )
    p.add_argument(
        "--check", action="append", dest="checks", metavar="NAME", help="only this check"
    )
    p.add_argument(
        "--slow",
        action="store_true",
        help="also run the goAway check on a non-emulator target (a full ~10 min lifetime)",
    )
    p.add_argument("--ca-file", help="with an https URL target: trust this CA (PEM)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(handler=main)


def _side(label: str, outcome: Any) -> str:
    mark = {True: "ok", False: "FAIL", None: "--"}[outcome.passed]
    return f"      {label:<9} {mark:<4} {outcome.observed}"


def table(target: str, results: list[Result]) -> str:
    """The human report: per model, each check with its expectation, reason and answers."""
    beside = target != "emulator"
    lines = [f"relive conformance: target {target}" + (", beside the emulator" if beside else "")]
    model = None
    for r in results:
        if r.model != model:
            model = r.model
            lines.append(f"\nmodel {r.model} ({r.family})")
        status = "PASS" if r.passed else "FAIL"
        if r.target.passed is None and (r.emulator is None or r.emulator.passed is None):
            status = "INFO"
        lines.append(
            f"  {status} {r.check}" + ("  [target and emulator differ]" if r.differs else "")
        )
        lines.append(f"      expects:  {r.expects}")
        lines.extend(
            textwrap.wrap(r.why, 96, initial_indent="      why:      ", subsequent_indent=" " * 16)
        )
        lines.append(_side(target if beside else "observed", r.target))
        if r.emulator is not None:
            lines.append(_side("emulator", r.emulator))
    failed = sum(not r.passed for r in results)
    differ = sum(r.differs for r in results)
    plural = "" if len(results) == 1 else "s"
    summary = f"\n{len(results)} check{plural}, {failed} failed"
    if beside:
        summary += f", {differ} where {target} and the emulator differ"
    lines.append(summary)
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    models = tuple(args.models or DEFAULT_MODELS)
    known = {c.name for c in CHECKS}
    unknown = sorted(set(args.checks or ()) - known)
    if unknown:
        print(f"relive conformance: unknown check {unknown}; known: {sorted(known)}")
        return 2
    results = asyncio.run(
        run(args.target, models, slow=args.slow, ca_file=args.ca_file, only=args.checks or ())
    )
    if args.json:
        report = {
            "target": args.target,
            "passed": all(r.passed for r in results),
            "results": [r.to_dict() for r in results],
        }
        print(json.dumps(report, indent=2))
    else:
        print(table(args.target, results))
    return 0 if all(r.passed for r in results) else 1
