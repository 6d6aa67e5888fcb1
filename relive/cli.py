"""The `relive` command: demo, emulator, chat, bench and conformance.

Each part registers its own subcommand (`register(subparsers)`) so this file stays a switchboard.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Any

from relive._errors import MissingExtraError


def build_parser() -> argparse.ArgumentParser:
    """The `relive` parser, with a subcommand per part whose extra is installed."""
    parser = argparse.ArgumentParser(
        prog="relive",
        description="Resilient sessions for the Gemini Live API.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command, module in _COMMANDS:
        try:
            cli = importlib.import_module(module)
        except MissingExtraError as missing:
            _unavailable(sub, command, str(missing))
        else:
            cli.register(sub)
    return parser


# (command, module with its `register(subparsers)`), in --help order
_COMMANDS = [
    ("emulator", "relive.emulator._cli"),
    ("demo", "relive.web._cli"),
    ("serve", "relive.web._serve_cli"),
    ("bench", "relive.bench._cli"),
    ("conformance", "relive.conformance._cli"),
    ("chat", "relive._app.chat"),
]


def _unavailable(sub: Any, command: str, why: str) -> None:
    """A command whose extra is missing: it says which one, and fails."""
    p: argparse.ArgumentParser = sub.add_parser(command, help=f"(unavailable: {why})")
    p.add_argument("rest", nargs=argparse.REMAINDER)

    def run(args: argparse.Namespace) -> int:
        print(f"relive {command}: {why}", file=sys.stderr)
        return 2

    p.set_defaults(handler=run)


def main(argv: Sequence[str] | None = None) -> int:
    """Run `relive` with `argv` (default: the command line); returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = args.handler
    result: int = handler(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
