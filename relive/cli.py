"""The `relive` command: demo, emulator, chat and bench.

Each part registers its own subcommand (`register(subparsers)`) so this file stays a switchboard.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="relive",
        description="Resilient sessions for the Gemini Live API.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    from relive.emulator import _cli as emulator_cli

    emulator_cli.register(sub)
    from relive.web import _cli as web_cli

    web_cli.register(sub)
    from relive.bench import _cli as bench_cli

    bench_cli.register(sub)
    from relive._app import chat as chat_cli

    chat_cli.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = args.handler
    result: int = handler(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
