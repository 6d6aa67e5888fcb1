"""`relive emulator`: run the emulator until Ctrl-C, printing the URL it serves."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import typing
from typing import Any

from relive import _argtypes, _loop
from relive._net import is_loopback
from relive.emulator._collector import tune_for_serving
from relive.emulator._control import check_token
from relive.emulator._emulator import Emulator
from relive.emulator._settings import EmulatorSettings


def _settings_from(args: argparse.Namespace) -> EmulatorSettings:
    changes: dict[str, Any] = {}
    for f in dataclasses.fields(EmulatorSettings):
        value = getattr(args, f.name, None)
        if value is not None:
            changes[f.name] = value
    return EmulatorSettings(**changes)


def _arg_type(hint: Any) -> type:
    """The command-line type of a setting (`float | None` -> float)."""
    for kind in (int, float, str):
        if hint is kind or kind in typing.get_args(hint):
            return kind
    raise TypeError(f"no command-line type for {hint!r}")


def register(subparsers: Any) -> None:
    """Add the `emulator` subcommand (every setting is an option)."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "emulator",
        help="run the offline Gemini Live emulator",
        description="Run an offline Gemini Live server that the official SDKs connect to.",
    )
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1; anything else warns: it is reachable "
        "from other machines)",
    )
    p.add_argument(
        "--control-token",
        default=os.environ.get("RELIVE_CONTROL_TOKEN"),
        metavar="TOKEN",
        help="let clients off loopback use /emulator/* with Authorization: Bearer TOKEN (24+ "
        "URL-safe chars; default $RELIVE_CONTROL_TOKEN; without one, control is loopback-only)",
    )
    p.add_argument(
        "--port", type=_argtypes.port, default=0, help="port, 0-65535 (default 0: a free one)"
    )
    p.add_argument("--tls", action="store_true", help="serve wss:// with a local trustme CA")
    p.add_argument(
        "--ca-file", metavar="FILE", help="with --tls: write the CA certificate (PEM) here"
    )
    p.add_argument(
        "--api-key",
        action="append",
        dest="api_keys",
        metavar="KEY",
        help="accept only this key (repeatable); default: any non-empty key",
    )
    p.add_argument(
        "--lenient",
        dest="strict",
        action="store_false",
        default=None,
        help="accept any model and any field the emulator can read (default: strict, as the "
        "real API)",
    )
    defaults = EmulatorSettings()
    hints = typing.get_type_hints(EmulatorSettings)
    for f in dataclasses.fields(EmulatorSettings):
        if f.name == "strict":
            continue
        default = getattr(defaults, f.name)
        kind = _arg_type(hints[f.name])
        shown = "the model profile's" if default is None or default == "" else default
        p.add_argument(
            "--" + f.name.replace("_", "-"),
            dest=f.name,
            type=_argtypes.non_negative(kind) if kind is not str else str,
            default=None,
            metavar="S" if kind is str else "N",
            help=f"{EmulatorSettings.help(f.name)} (default {shown})",
        )
    p.set_defaults(handler=run)


async def _serve(args: argparse.Namespace) -> None:
    emu = Emulator(
        _settings_from(args),
        tls=args.tls,
        host=args.host,
        port=args.port,
        api_keys=set(args.api_keys) if args.api_keys else None,
        ca_file=args.ca_file,
        control_token=args.control_token,
    )
    if not is_loopback(args.host):
        print(
            f"WARNING: listening on {args.host}, not loopback: other machines can reach this "
            "emulator" + ("" if args.api_keys else " and use it with any key (see --api-key)"),
            file=sys.stderr,
            flush=True,
        )
    async with emu:
        tune_for_serving()  # this process is the server: see `_collector.py`
        print(f"relive emulator serving {emu.url}", flush=True)
        if emu.ca_pem_path is not None:
            print(f"CA certificate: {emu.ca_pem_path}", flush=True)
        print(f"control: {emu.url}/emulator/stats (Ctrl-C to stop)", flush=True)
        await emu.serve_forever()


def run(args: argparse.Namespace) -> int:
    try:
        _settings_from(args)
        check_token(args.control_token)
        if args.ca_file and not args.tls:
            raise ValueError("--ca-file needs --tls")
    except ValueError as exc:
        print(f"relive emulator: {exc}", file=sys.stderr)
        return 2
    return _loop.serve("emulator", args.host, args.port, _serve(args))
