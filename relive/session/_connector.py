"""The lean connect: a connection's URI, headers and setup frame derived from the SDK once per
session, so a reconnect costs a socket and two frames, not the SDK's whole connect.

`client.aio.live.connect()` rebuilds and re-validates the setup with pydantic on every call,
and its `websockets` connect resolves proxies from the environment each time (`urllib`'s
`getproxies()` walks `os.environ`: ~15% of the client's CPU in a wave of reconnects). Here the
SDK's own pieces (`_t_live_connect_config`, `_LiveConnectParameters_to_mldev`, the client's
`_websocket_base_url`, headers and SSL context) run once per session; the setup JSON is kept as
a template in which only the resumption handle changes; the proxy `websockets` would pick is
resolved once (a change of the proxy environment takes a new session); `setupComplete` is
parsed in one pass, with the SDK's conversion as the fallback.

Only where relive reproduces the SDK exactly: the Developer API with an API key or an
ephemeral token, no per-connection `http_options`, no MCP tools, a config the SDK converts
without error, and every SDK internal named here present. Anything else (Vertex AI, a custom
gateway without a key, a missing internal) gets `None` from `plan()`, and the driver uses the
SDK's connect. Tests hold the two to byte-identical setup frames and the same URI and headers
across the supported SDK range.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import inspect
import json
import logging
import secrets
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pydantic
import websockets
from google import genai
from google.genai import errors, types
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.uri import parse_uri

from relive._clock import Clock
from relive.session import _config as session_config
from relive.session import _wire as wire

log = logging.getLogger("relive.session")

_STRICT: dict[str, Any] = {"by_alias": True, "by_name": False}


def _sdk(module: str, name: str) -> Any:
    """An SDK internal, or None when this SDK version lacks it (then `plan()` says no)."""
    try:
        return getattr(importlib.import_module(f"google.genai.{module}"), name, None)
    except ImportError:  # pragma: no cover - every supported SDK has these modules
        return None


_t_live_connect_config = _sdk("live", "_t_live_connect_config")
_to_mldev = _sdk("_live_converters", "_LiveConnectParameters_to_mldev")
_convert_to_dict = _sdk("_common", "convert_to_dict")
_encode_unserializable = _sdk("_common", "encode_unserializable_types")
_t_model = _sdk("_transformers", "t_model")
_has_mcp = _sdk("_mcp_utils", "has_mcp_tool_usage")
_AsyncSession = _sdk("live", "AsyncSession")
# The SDK must connect with the same function, or "the same URI and headers" means nothing.
_SAME_CONNECT = _sdk("live", "ws_connect") is ws_connect
# websockets 15+ resolves a proxy from the environment on every connect (`proxy=True`); 14
# has no proxy support, so nothing to resolve.
_TAKES_PROXY = "proxy" in inspect.signature(ws_connect.__init__).parameters
_get_proxy: Callable[[Any], str | None] | None = getattr(
    importlib.import_module("websockets.asyncio.client"), "get_proxy", None
)


def available() -> bool:
    """Every SDK internal the lean connect uses is here (else the SDK's connect is used)."""
    internals = (
        _t_live_connect_config,
        _to_mldev,
        _convert_to_dict,
        _encode_unserializable,
        _t_model,
        _has_mcp,
        _AsyncSession,
    )
    return _SAME_CONNECT and all(part is not None for part in internals)


async def _setup_json(api: Any, model: str, cfg: types.LiveConnectConfig) -> str:
    """The setup frame `AsyncLive.connect` sends for `cfg` (Developer API), built its way."""
    parameter_model = await _t_live_connect_config(api, cfg)
    if parameter_model.tools and _has_mcp(parameter_model.tools):
        raise _NotLean("MCP tools")
    transformed_model = _t_model(api, model)
    params = types.LiveConnectParameters(model=transformed_model, config=parameter_model)
    request = _convert_to_dict(
        _to_mldev(api_client=api, from_object=params.model_dump(exclude_none=True))
    )
    del request["config"]
    request = _encode_unserializable(request)
    request.setdefault("setup", {})["model"] = transformed_model
    return json.dumps(request)


class _NotLean(Exception):
    """This session takes the SDK's connect (the reason is logged at DEBUG)."""


@dataclass(frozen=True)
class Connector:
    """What one session's connections are opened with; see `plan()`."""

    api: Any  # the SDK's BaseApiClient (AsyncSession needs it for its own send methods)
    uri: str
    headers: dict[str, str]
    connect_kwargs: dict[str, Any]  # the SDK's SSL context, and the proxy resolved once
    fresh: str  # the setup frame without a handle
    resume: tuple[str, str]  # the setup frame with a handle, split where the handle goes

    def setup_frame(self, handle: str | None) -> str:
        """The setup frame for a connection resuming `handle` (None: a new session)."""
        if handle is None:
            return self.fresh
        before, after = self.resume
        return before + json.dumps(handle) + after

    def open_socket(self) -> ws_connect:
        """The `websockets` connect the SDK would make (await its `__aenter__` to open)."""
        return ws_connect(self.uri, additional_headers=self.headers, **self.connect_kwargs)

    async def setup(self, ws: ClientConnection, handle: str | None) -> Any:
        """Send setup on an open socket and read the reply: the SDK's `AsyncSession`, as its
        connect would yield it (a close during setup raises the SDK's `APIError`)."""
        await ws.send(self.setup_frame(handle))
        try:
            raw = await ws.recv(decode=False)
        except websockets.ConnectionClosed as closed:
            rcvd = closed.rcvd
            code, reason = (rcvd.code, rcvd.reason) if rcvd else (1006, "Abnormal closure.")
            errors.APIError.raise_error(code, reason, None)
        message = setup_reply(raw)
        done = message.setup_complete
        return _AsyncSession(
            api_client=self.api,
            websocket=ws,
            session_id=done.session_id if done else None,
            setup_complete=done,
        )


def setup_reply(raw: bytes | str) -> types.LiveServerMessage:
    """The first server frame as the SDK's connect reads it: one strict pass when it is a
    plain `setupComplete`, else the SDK's own conversion (`_from_response`)."""
    if raw:
        try:
            message = types.LiveServerMessage.model_validate_json(raw, **_STRICT)
        except (pydantic.ValidationError, ValueError):
            pass
        else:
            if message.setup_complete is not None:
                return message
    parsed: types.LiveServerMessage = types.LiveServerMessage._from_response(
        response=wire.load_like_sdk(raw), kwargs={}
    )
    return parsed


async def plan(
    client: genai.Client, model: str, config: types.LiveConnectConfig
) -> Connector | None:
    """The lean connector for this session, or None to use the SDK's connect (logged why)."""
    try:
        return await _plan(client, model, config)
    except _NotLean as why:
        log.debug("connecting through the SDK: %s", why)
    except Exception as exc:  # the SDK refuses the config: its own connect will say so
        log.debug("connecting through the SDK: %r", exc)
    return None


async def _plan(client: genai.Client, model: str, config: types.LiveConnectConfig) -> Connector:
    if not available():
        raise _NotLean("this google-genai lacks an internal the lean connect uses")
    api = client._api_client
    key = api.api_key
    if api.vertexai or not key:
        raise _NotLean("Vertex AI or no API key")
    if config.http_options is not None:
        raise _NotLean("per-connection http_options")
    if any(not isinstance(tool, types.Tool | dict) for tool in config.tools or []):
        raise _NotLean("tools that are not types.Tool (MCP)")
    options = api._http_options
    base_url = api._websocket_base_url()
    if isinstance(base_url, bytes):
        base_url = base_url.decode("utf-8")
    headers = dict(options.headers or {})
    method = "BidiGenerateContent"
    if key.startswith("auth_tokens/"):
        method = "BidiGenerateContentConstrained"
        headers["Authorization"] = f"Token {key}"
        _warn_ephemeral(options.api_version)
    service = f"google.ai.generativelanguage.{options.api_version}.GenerativeService"
    uri = f"{base_url}/ws/{service}.{method}"
    marker = secrets.token_hex(16)
    fresh = await _setup_json(api, model, session_config.with_handle(config, None))
    resume = await _setup_json(api, model, session_config.with_handle(config, marker))
    before, found, after = resume.partition(json.dumps(marker))
    if not found or json.dumps(marker) in after:
        raise _NotLean("the handle is not where the setup template expects it")
    kwargs = dict(api._websocket_ssl_ctx)
    if _TAKES_PROXY and _get_proxy is not None:
        kwargs["proxy"] = _get_proxy(parse_uri(uri))  # what proxy=True would pick each time
    return Connector(api, uri, headers, kwargs, fresh, (before, after))


def _warn_ephemeral(version: str | None) -> None:
    """The SDK's warnings for ephemeral tokens (it gives them per connect; here once)."""
    warn: Callable[..., None] = warnings.warn
    warn(
        "The SDK's ephemeral token support is experimental, and may change in future versions.",
        category=errors.ExperimentalWarning,
        stacklevel=4,
    )
    if version != "v1alpha":
        warn(
            "The SDK's ephemeral token support is in v1alpha only.Please use client = "
            "genai.Client(api_key=token.name, "
            'http_options=types.HttpOptions(api_version="v1alpha")) before session connection.',
            category=errors.ExperimentalWarning,
            stacklevel=4,
        )


EARLY_MAX_AGE = 10.0  # a socket opened early and idle longer than this is not used


class Dialer:
    """One session's connects: the lean connector planned once, and a socket opened early.

    At a goAway the old connection still carries traffic until its safe point, and a
    reconnect's TCP + TLS + WebSocket upgrade does not need the old connection gone: only the
    resuming setup does (the service refuses a resumption while the old connection is open).
    So the driver asks for the next socket as soon as a reconnect is in sight (`open_early`),
    closes the old connection meanwhile, and sends the setup on the early socket after the
    close. A socket that failed, closed or idled over `EARLY_MAX_AGE` is replaced by a fresh one.
    """

    def __init__(
        self,
        client: genai.Client,
        model: str,
        config: types.LiveConnectConfig,
        clock: Clock,
    ) -> None:
        self._client, self._model, self._config, self._clock = client, model, config, clock
        self._planned = False
        self._connector: Connector | None = None
        self._early: asyncio.Task[tuple[ws_connect, ClientConnection]] | None = None
        self._early_at = 0.0
        self._closing: set[asyncio.Task[Any]] = set()

    async def connector(self) -> Connector | None:
        """The lean connector (planned on the first call), or None: use the SDK's connect."""
        if not self._planned:
            self._connector = await plan(self._client, self._model, self._config)
            self._planned = True
        return self._connector

    async def open(
        self, cfg: types.LiveConnectConfig, handle: str | None, *, lean: bool
    ) -> tuple[contextlib.AbstractAsyncContextManager[Any], Any]:
        """Open a connection and complete its setup: its context manager and the SDK's
        `AsyncSession`. The lean connect where it applies (`lean`: `cfg` is the session's
        config with `handle`), on the socket opened early if it is still good; else the SDK's."""
        connector = await self.connector() if lean else None
        if connector is None:
            self.discard_early()
            cm = self._client.aio.live.connect(model=self._model, config=cfg)
            return cm, await cm.__aenter__()
        return await self._connect(connector, handle)

    @property
    def can_open_early(self) -> bool:
        """A socket may be opened early: the lean connect applies and none is open or opening."""
        return self._connector is not None and self._early is None

    def open_early(
        self, gate: Callable[[], contextlib.AbstractAsyncContextManager[None]] | None = None
    ) -> None:
        """Start opening the next connection's socket now (lean connect only), inside `gate`
        (the session's turn among the process's reconnects, `_admission`) if given."""
        if self._connector is None or self._early is not None:
            return
        opening = self._open(self._connector, gate)
        self._early = asyncio.create_task(opening, name="relive-open-early")
        self._early_at = self._clock.now()

    async def _connect(self, connector: Connector, handle: str | None) -> tuple[ws_connect, Any]:
        opened = await self._take_early()
        cm, ws = opened if opened is not None else await self._open(connector)
        try:
            return cm, await connector.setup(ws, handle)
        except asyncio.CancelledError:
            ws.transport.abort()  # timed out or closed: do not wait for a close handshake
            raise
        except Exception as exc:
            await cm.__aexit__(type(exc), exc, exc.__traceback__)
            raise

    async def _take_early(self) -> tuple[ws_connect, ClientConnection] | None:
        early, self._early = self._early, None
        if early is None:
            return None
        try:
            cm, ws = await early
        except Exception as exc:  # the early open failed: open again now, as without it
            log.debug("early socket failed: %r", exc)
            return None
        if ws.state is not websockets.State.OPEN or (
            self._clock.now() - self._early_at > EARLY_MAX_AGE
        ):
            self._close_later(cm)
            return None
        return cm, ws

    def discard_early(self) -> None:
        """The early socket will not be used: close it (in the background)."""
        early, self._early = self._early, None
        if early is None:
            return
        if not early.done():
            early.cancel()
        elif not early.cancelled() and early.exception() is None:
            self._close_later(early.result()[0])

    async def _open(
        self,
        connector: Connector,
        gate: Callable[[], contextlib.AbstractAsyncContextManager[None]] | None = None,
    ) -> tuple[ws_connect, ClientConnection]:
        async with (gate or contextlib.nullcontext)():
            cm = connector.open_socket()
            ws: ClientConnection = await cm.__aenter__()
        return cm, ws

    def _close_later(self, cm: ws_connect) -> None:
        task = asyncio.create_task(cm.__aexit__(None, None, None), name="relive-close-early")
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def aclose(self) -> None:
        """Close the early socket, if any, and wait for what is closing."""
        self.discard_early()
        if self._closing:
            await asyncio.wait(list(self._closing))
