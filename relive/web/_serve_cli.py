"""`relive serve`: the web app as a deployable replica (several behind a load balancer).

`docs/deploy.md` says how to run them.

Unlike `relive demo` it starts no emulator of its own: it talks to real Gemini (`GEMINI_API_KEY`)
or to a shared `relive emulator` (`--emulator URL`), keeps what replicas share in `--store`, and on
SIGTERM drains (`_drain.py`) before it exits.
"""

from __future__ import annotations

import argparse
import logging
import os
import ssl
import sys
from typing import Any

from relive._extras import require

require("relive serve", "serve")

from google import genai  # noqa: E402
from google.genai import types  # noqa: E402

from relive import _argtypes, _loop  # noqa: E402
from relive._app.backing import KEY_VARIABLE  # noqa: E402
from relive.store import (  # noqa: E402
    Sealer,
    SealError,
    SharedHandles,
    StoreError,
    check_url,
    open_state,
)
from relive.web._access import LOOPBACK_HOSTS  # noqa: E402
from relive.web._app import WebBackend, WebSettings, create_app  # noqa: E402
from relive.web._backend import EMULATOR_MODEL, GEMINI_MODEL, SessionSettings, make_opener  # noqa: E402
from relive.web._cli import add_page_ttl  # noqa: E402
from relive.web._drain import drain  # noqa: E402
from relive.web._server import serve  # noqa: E402

log = logging.getLogger("relive.web")


def register(subparsers: Any) -> None:
    """Add the `serve` subcommand to the `relive` command."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "serve",
        help="the web app as one of several replicas (Redis, drain on SIGTERM)",
        description=(
            "Serve the web app for a load balancer: real Gemini with GEMINI_API_KEY, or a "
            "shared relive emulator with --emulator. Pages and sealed handles go to --store, so "
            "another replica resumes a page's sessions; SIGTERM drains within --drain-timeout."
        ),
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=_argtypes.port, default=8080, help="port, 0-65535 (default 8080)")
    p.add_argument(
        "--store",
        default="memory",
        metavar="URL",
        help="where replicas share pages and handles: memory (default: this process only) or "
        "redis://host:port/db",
    )
    p.add_argument(
        "--seal-key-file",
        metavar="FILE",
        help="the key ring that seals handles in the store (one base64 AES-256 key per line, "
        "newest first; default $RELIVE_SEAL_KEY; without one, handles stay in this process)",
    )
    p.add_argument(
        "--allowed-origin",
        action="append",
        default=None,
        metavar="ORIGIN",
        help="an origin whose pages may open the socket, e.g. https://app.example.com "
        "(repeatable; default: the --allow-host names on this server's port)",
    )
    p.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="a host name the app is reached as, besides loopback names (repeatable; others "
        "get 421: DNS rebinding)",
    )
    p.add_argument(
        "--emulator",
        metavar="URL",
        help="a running relive emulator (https://host:port) instead of real Gemini",
    )
    p.add_argument(
        "--emulator-ca", metavar="FILE", help="with --emulator: the CA certificate it serves with"
    )
    p.add_argument(
        "--model", default=None, help=f"real Gemini's Live model (default {GEMINI_MODEL})"
    )
    p.add_argument(
        "--drain-timeout",
        type=_argtypes.positive(float),
        default=25.0,
        metavar="SECONDS",
        help="on SIGTERM, move every page to another replica within this long (default 25, "
        "under Kubernetes' 30 s grace period)",
    )
    p.add_argument(
        "--trusted-proxy",
        action="append",
        default=[],
        metavar="ADDRESS",
        help="a load balancer's address or network (e.g. 10.0.0.0/8) whose X-Forwarded-For "
        "names the browser, so each browser is counted against --max-pages-per-client "
        "(repeatable; default none: the header is ignored)",
    )
    p.add_argument(
        "--max-pages",
        type=_argtypes.positive(int),
        default=WebSettings.max_pages,
        metavar="N",
        help=f"pages this replica holds at once (default {WebSettings.max_pages}); more are "
        "refused with 1013 and retry, through the load balancer, another replica",
    )
    p.add_argument(
        "--max-pages-per-client",
        type=_argtypes.positive(int),
        default=WebSettings.max_pages_per_client,
        metavar="N",
        help=f"pages one client address may hold at once (default "
        f"{WebSettings.max_pages_per_client}); behind a load balancer give --trusted-proxy",
    )
    add_page_ttl(p)
    p.add_argument("-v", "--verbose", action="store_true", help="log the replica's lifecycle")
    p.set_defaults(handler=run)


def _client(args: argparse.Namespace) -> tuple[genai.Client, SessionSettings, str]:
    if args.emulator:
        context = ssl.create_default_context(cafile=args.emulator_ca)
        options = types.HttpOptions(
            base_url=args.emulator.rstrip("/"),
            api_version="v1beta",
            async_client_args={"ssl": context, "verify": context},
        )
        client = genai.Client(api_key="relive-serve", http_options=options)
        return client, SessionSettings(), EMULATOR_MODEL
    key = os.environ[KEY_VARIABLE]  # run() checked it is set
    model = args.model or GEMINI_MODEL
    client = genai.Client(api_key=key, http_options=types.HttpOptions(api_version="v1beta"))
    return client, SessionSettings(call_model=model, text_model=model, text_as_audio=True), model


def _sealer(args: argparse.Namespace) -> Sealer | None:
    if args.seal_key_file:
        return Sealer.from_file(args.seal_key_file)
    return Sealer.from_env()


async def _serve(args: argparse.Namespace, sealer: Sealer | None) -> None:
    client, session_settings, model = _client(args)
    state = open_state(args.store, sealer, page_ttl=args.page_ttl)
    shared = SharedHandles(state)
    settings = WebSettings(
        page_ttl=args.page_ttl,
        model_name=model.removeprefix("models/"),
        emulator=bool(args.emulator),
        allowed_hosts=frozenset({*LOOPBACK_HOSTS, *args.allow_host}),
        allowed_origins=frozenset(args.allowed_origin) if args.allowed_origin else None,
        max_pages=args.max_pages,
        max_pages_per_client=args.max_pages_per_client,
    )
    backend = WebBackend(make_opener(client, session_settings, shared), settings, shared=shared)

    async def on_term() -> None:
        await drain(backend, args.drain_timeout)

    try:
        async with serve(
            create_app(backend),
            args.host,
            args.port,
            on_term=on_term,
            trusted_proxies=args.trusted_proxy,
        ) as url:
            print(f"relive serve: {url}/ (store {state.kind}; SIGTERM drains)", flush=True)
            await url.wait()
    finally:
        await state.close()


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(name)s %(message)s",
    )
    try:
        if args.emulator_ca and not args.emulator:
            raise ValueError("--emulator-ca needs --emulator")
        sealer = _sealer(args)
        if sealer is None and args.store != "memory":
            print(
                "relive serve: WARNING: no seal key (--seal-key-file or $RELIVE_SEAL_KEY): "
                "handles stay in this process, so another replica cannot resume a session",
                file=sys.stderr,
            )
        check_url(args.store)  # a bad URL fails here, clearly (and no client is left open)
        if not args.emulator and not os.environ.get(KEY_VARIABLE):
            raise ValueError(f"set {KEY_VARIABLE} for real Gemini, or give --emulator URL")
    except (ValueError, SealError, StoreError) as exc:
        print(f"relive serve: {exc}", file=sys.stderr)
        return 2
    return _loop.serve("serve", args.host, args.port, _serve(args, sealer))
