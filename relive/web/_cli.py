"""`relive demo`: the web demo on 127.0.0.1, against the embedded emulator or real Gemini."""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from google import genai

from relive import _argtypes, _loop
from relive._app.backing import gemini_or_emulator
from relive._net import is_loopback
from relive.web._access import LOOPBACK_HOSTS
from relive.web._app import WebBackend, WebSettings, create_app
from relive.web._backend import EMULATOR_MODEL, GEMINI_MODEL, SessionSettings, make_opener
from relive.web._panel import FaultSwitch
from relive.web._server import serve


def register(subparsers: Any) -> None:
    """Add the `demo` subcommand to the `relive` command."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "demo",
        help="voice call and text chat in the browser",
        description=(
            "Start the web demo. Uses the embedded emulator, or real Gemini when GEMINI_API_KEY "
            "is set (the key stays on the server)."
        ),
    )
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1; anything else warns: other machines can "
        "reach the demo and spend its key)",
    )
    p.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="a host name the page may be opened as, besides 127.0.0.1, localhost and ::1 and "
        "the --host address (repeatable; others are refused: DNS rebinding)",
    )
    p.add_argument(
        "--port", type=_argtypes.port, default=0, help="port, 0-65535 (default 0: any free port)"
    )
    p.add_argument(
        "--model", default=None, help=f"real Gemini's Live model (default {GEMINI_MODEL})"
    )
    p.add_argument(
        "--emulator", action="store_true", help="use the emulator even if GEMINI_API_KEY is set"
    )
    p.add_argument(
        "--panel",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show the resilience panel (default: with the emulator only; with real Gemini only "
        "its readout and 'Drop page socket' work)",
    )
    add_page_ttl(p)
    p.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="log the backend's lifecycle and print the emulator's control URL",
    )
    p.set_defaults(handler=run)


def add_page_ttl(p: argparse.ArgumentParser) -> None:
    """`--page-ttl`, shared by `relive demo` and `relive serve`."""
    p.add_argument(
        "--page-ttl",
        type=_argtypes.positive(float),
        default=60.0,
        metavar="SECONDS",
        help="how long a closed page's sessions are kept (default 60)",
    )


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(name)s %(message)s",
    )
    return _loop.serve("demo", args.host, args.port, _demo(args))  # uvloop when installed


@dataclass
class _Model:
    client: genai.Client
    settings: SessionSettings
    name: str
    faults: FaultSwitch | None = None  # the embedded emulator's, for the resilience panel


@contextlib.asynccontextmanager
async def _model(args: argparse.Namespace) -> AsyncIterator[_Model]:
    # Live's native-audio models are served on v1beta (the SDK's Live default is v1).
    backing = gemini_or_emulator(
        force_emulator=args.emulator, api_version="v1beta", emulator_key="relive-demo"
    )
    async with backing as it:
        emu = it.emulator
        if emu is None:
            model = args.model or GEMINI_MODEL
            print(f"relive demo: real Gemini ({model}); the API key stays on this server")
            settings = SessionSettings(call_model=model, text_model=model, text_as_audio=True)
            yield _Model(it.client, settings, model)
            return
        print("relive demo: embedded emulator (set GEMINI_API_KEY for real Gemini)")
        if args.verbose:  # for curl: the faults and stats of the embedded emulator
            print(
                f"relive demo: emulator control {emu.url}/emulator/stats "
                f"(TLS; CA certificate {emu.ca_pem_path})",
                flush=True,
            )
        yield _Model(it.client, SessionSettings(), EMULATOR_MODEL, emu.faults)


async def _demo(args: argparse.Namespace) -> None:
    async with _model(args) as model:
        emulator = model.faults is not None
        hosts = {*LOOPBACK_HOSTS, *args.allow_host}
        if args.host not in ("0.0.0.0", "::"):
            hosts.add(args.host.strip("[]"))
        settings = WebSettings(
            page_ttl=args.page_ttl,
            model_name=model.name.removeprefix("models/"),
            emulator=emulator,
            panel=emulator if args.panel is None else args.panel,
            allowed_hosts=frozenset(hosts),
        )
        if not is_loopback(args.host):
            print(
                f"WARNING: relive demo listens on {args.host}, not loopback: other machines can "
                "open the page and use its sessions (and the API key behind them)",
                file=sys.stderr,
                flush=True,
            )
        opener = make_opener(model.client, model.settings)
        backend = WebBackend(opener, settings, faults=model.faults)
        async with serve(create_app(backend), args.host, args.port) as url:
            print(f"relive demo: open {url}/  (Ctrl-C to stop)", flush=True)
            await url.wait()  # until Ctrl-C / SIGTERM (uvicorn handles both)
