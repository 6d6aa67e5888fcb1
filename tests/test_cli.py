"""Every bad argument of every `relive` command is one clear line and exit status 2, never a
traceback; `--help` has text for every option and no internal names.
"""

from __future__ import annotations

import argparse

import pytest

from relive.cli import build_parser, main

BAD = [
    (["demo", "--port", "99999"], "argument --port: 99999 is not a port (0-65535"),
    (["demo", "--port", "-1"], "argument --port: -1 is not a port"),
    (["demo", "--port", "http"], "argument --port: 'http' is not a whole number"),
    (["demo", "--page-ttl", "-5"], "argument --page-ttl: -5 must be above 0"),
    (["demo", "--page-ttl", "0"], "argument --page-ttl: 0 must be above 0"),
    (["demo", "--page-ttl", "inf"], "argument --page-ttl: inf is not a finite number"),
    (["demo", "--nope"], "unrecognized arguments: --nope"),
    (["serve", "--max-pages-per-client", "0"], "--max-pages-per-client: 0 must be above 0"),
    (["emulator", "--port", "-1"], "argument --port: -1 is not a port"),
    (["emulator", "--port", "65536"], "argument --port: 65536 is not a port"),
    (["emulator", "--connection-lifetime", "nan"], "nan is not a finite number"),
    (["emulator", "--goaway-lead", "-2"], "argument --goaway-lead: -2 must be 0 or more"),
    (["emulator", "--chunk-words", "2.5"], "argument --chunk-words: '2.5' is not a number"),
    (["chat", "--mode", "video"], "argument --mode: invalid choice: 'video'"),
    (["chat", "--lifetime", "-1"], "argument --lifetime: -1 must be above 0"),
    (["bench", "chaos", "--sessions", "0"], "argument --sessions: 0 must be above 0"),
    (["bench", "chaos", "--fault-rate", "1.5"], "argument --fault-rate: must be between 0 and 1"),
    (["bench", "scale", "--chunk-ms", "0"], "argument --chunk-ms: 0 must be above 0"),
    (["bench", "reconnect", "--chunks-between", "-1"], "-1 must be 0 or more"),
    (["bench", "emulator", "--seconds", "0"], "argument --seconds: 0 must be above 0"),
    (["bench", "emulator", "--sessions", "many"], "'many' is not a number"),
    (["frobnicate"], "argument COMMAND: invalid choice: 'frobnicate'"),
]


@pytest.mark.parametrize(("argv", "message"), BAD, ids=[" ".join(a) for a, _ in BAD])
def test_a_bad_argument_is_one_line_and_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    last = err.rstrip("\n").splitlines()[-1]
    assert last.startswith("relive") and ": error: " in last
    assert message in last


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["emulator", "--connection-lifetime", "0"], "connection_lifetime must be > 0"),
        (["emulator", "--ca-file", "ca.pem"], "--ca-file needs --tls"),
        (["emulator", "--control-token", "short"], "at least 24 URL-safe characters"),
    ],
)
def test_a_bad_combination_is_one_line_and_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("relive emulator: ") and message in err


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _commands() -> list[tuple[str, argparse.ArgumentParser]]:
    found = []
    for name, sub in _subparsers(build_parser()).items():
        found.append((name, sub))
        found += [(f"{name} {n}", p) for n, p in _subparsers(sub).items()]
    return found


@pytest.mark.parametrize(("name", "parser"), _commands(), ids=[n for n, _ in _commands()])
def test_help_says_something_for_every_option(name: str, parser: argparse.ArgumentParser) -> None:
    for action in parser._actions:
        if action.option_strings and action.help != argparse.SUPPRESS:
            assert action.help, f"relive {name} {action.option_strings[0]} has no help"
    text = parser.format_help()
    assert "`" not in text and "relive." not in text and "._" not in text, text
