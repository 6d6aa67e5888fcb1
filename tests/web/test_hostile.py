"""Hostile clients against the real backend: spoofed hosts and origins (DNS rebinding), a client
hoarding pages, broken Unicode, near-miss ids, floods; headers and logs that give nothing away."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import secrets
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from relive.emulator import Emulator
from relive.web import Limits, SessionSettings, WebBackend, WebSettings, create_app, make_opener
from relive.web import _incoming as incoming
from relive.web import _protocol as protocol
from relive.web import serve as serve_app
from relive.web._access import SECURITY_HEADERS
from tests.web.conftest import Stack
from tests.web.test_socket import TIMEOUT, closed_with, hello, next_json, open_page


async def handshake(url: str, headers: dict[str, str]) -> int:
    """The HTTP status of a raw WebSocket handshake with exactly these headers."""
    host, _, port = url.removeprefix("http://").rpartition(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    key = base64.b64encode(secrets.token_bytes(16)).decode()
    lines = [
        "GET /ws HTTP/1.1",
        *(f"{k}: {v}" for k, v in headers.items()),
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
    ]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    await writer.drain()
    async with asyncio.timeout(TIMEOUT):
        status = await reader.readline()
    writer.close()
    return int(status.split()[1])


async def test_dns_rebinding_is_refused(stack: Stack) -> None:
    """A rebinding page has Host and Origin agree on its own name: that must not be enough."""
    port = stack.url.rpartition(":")[2]
    evil = f"attacker.example:{port}"
    assert await handshake(stack.url, {"Host": evil, "Origin": f"http://{evil}"}) == 403
    own = stack.url.removeprefix("http://")
    assert await handshake(stack.url, {"Host": own, "Origin": stack.url}) == 101
    async with httpx.AsyncClient() as http:
        page = await http.get(stack.url + "/", headers={"Host": evil})
        assert page.status_code == 421
        assert await http.get(stack.url + "/", headers={"Host": f"localhost:{port}"})
        # Probes name the replica by its address (the kubelet, HAProxy): they answer any Host,
        # with nothing a rebinding page could use; every other path stays refused.
        probe = {"Host": f"10.1.2.3:{port}"}
        assert (await http.get(stack.url + "/healthz", headers=probe)).json() == {"ok": True}
        assert (await http.get(stack.url + "/readyz", headers=probe)).json() == {"ready": True}
        assert (await http.get(stack.url + "/healthz/x", headers=probe)).status_code == 421
        assert (await http.get(stack.url + "/static/app.js", headers=probe)).status_code == 421


async def test_a_socket_without_origin_is_refused(stack: Stack) -> None:
    own = stack.url.removeprefix("http://")
    assert await handshake(stack.url, {"Host": own}) == 403
    assert await handshake(stack.url, {"Host": own, "Origin": ""}) == 403
    other_port = f"http://127.0.0.1:{int(own.rpartition(':')[2]) ^ 1}"
    assert await handshake(stack.url, {"Host": own, "Origin": other_port}) == 403


@pytest.fixture
async def app_origin_stack() -> AsyncIterator[str]:
    async with Emulator(tls=True) as emu:
        opener = make_opener(emu.client(api_key="test-key"), SessionSettings())
        settings = WebSettings(allowed_origins=frozenset({"https://app.example"}))
        async with serve_app(create_app(WebBackend(opener, settings))) as url:
            yield url


async def test_allowed_origins_replace_the_default(app_origin_stack: str) -> None:
    url = app_origin_stack
    own = url.removeprefix("http://")
    assert await handshake(url, {"Host": own, "Origin": "https://app.example"}) == 101
    assert await handshake(url, {"Host": own, "Origin": url}) == 403  # not listed
    assert await handshake(url, {"Host": own, "Origin": "https://app.example.evil"}) == 403


@pytest.fixture
async def small_stack() -> AsyncIterator[Stack]:
    async with Emulator(tls=True) as emu:
        opener = make_opener(emu.client(api_key="test-key"), SessionSettings())
        limits = Limits(messages_per_s=0.01, messages_burst=1, max_violations=3)
        settings = WebSettings(max_pages_per_client=2, limits=limits)
        backend = WebBackend(opener, settings)
        async with serve_app(create_app(backend)) as url:
            yield Stack(emu, backend, None, url)  # type: ignore[arg-type]


async def test_one_client_cannot_hold_every_page(small_stack: Stack) -> None:
    pages = [await open_page(small_stack) for _ in range(3)]
    for ws in pages[:2]:
        await hello(ws, secrets.token_hex(16))
    await pages[2].send(json.dumps({"type": "hello", "page": secrets.token_hex(16)}))
    assert await closed_with(pages[2]) == 1013
    assert "one client" in (pages[2].close_reason or "")
    assert len(small_stack.backend._registry) == 2
    for ws in pages[:2]:
        await ws.close()


async def _pages_from(url: str, forwarded_for: list[str]) -> list[int | None]:
    """Open a page per `X-Forwarded-For` value, in turn; the close code of each (None: welcomed)."""
    codes: list[int | None] = []
    sockets = []
    for client in forwarded_for:
        ws = await connect(
            url.replace("http://", "ws://") + "/ws",
            origin=url,  # type: ignore[arg-type]
            additional_headers={"X-Forwarded-For": client},
            open_timeout=TIMEOUT,
        )
        sockets.append(ws)
        await ws.send(json.dumps({"type": "hello", "page": secrets.token_hex(16)}))
        try:
            frame = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
        except ConnectionClosed:
            codes.append(ws.close_code)
        else:
            codes.append(None if frame["type"] == "welcome" else await closed_with(ws))
    for ws in sockets:
        await ws.close()
    return codes


@pytest.mark.parametrize("trusted", [False, True])
async def test_the_page_cap_counts_forwarded_clients_only_behind_a_trusted_proxy(
    trusted: bool,
) -> None:
    """Behind a load balancer every page comes from its address: `trusted_proxies` lets the cap
    count browsers by `X-Forwarded-For`; from anyone else the header is ignored (it is forgeable,
    and would let one client hold every page)."""
    async with Emulator(tls=True) as emu:
        opener = make_opener(emu.client(api_key="test-key"), SessionSettings())
        backend = WebBackend(opener, WebSettings(max_pages_per_client=1))
        proxies = ["127.0.0.1"] if trusted else []
        async with serve_app(create_app(backend), trusted_proxies=proxies) as url:
            codes = await _pages_from(url, ["203.0.113.1", "203.0.113.2", "203.0.113.1"])
    if trusted:  # two browsers, one page each; the first browser's second page is one too many
        assert codes == [None, None, 1013]
    else:  # the header is ignored: all three are this one loopback client
        assert codes == [None, 1013, 1013]


async def test_the_rate_limited_error_comes_before_the_close(small_stack: Stack) -> None:
    ws = await open_page(small_stack)
    await hello(ws, secrets.token_hex(16))
    for _ in range(4):  # one allowed, three refused: the third refusal closes the socket
        await ws.send(json.dumps({"type": "mute", "muted": False}))
    errors = [await next_json(ws, "error") for _ in range(3)]
    assert [e["code"] for e in errors] == ["rate_limited"] * 3
    assert await closed_with(ws) == 1008


@pytest.mark.parametrize(
    "frame",
    [
        '{"type": "text", "text": "hi \\ud800 there"}',
        '{"type": "text", "text": "\\udfff"}',
    ],
)
async def test_lone_surrogates_in_text_are_refused_cleanly(
    stack: Stack, frame: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    ws = await open_page(stack)
    await hello(ws, secrets.token_hex(16))
    await ws.send(frame)
    error = await next_json(ws, "error")
    assert error["code"] == "bad_request" and "Unicode" in error["message"]
    await ws.send(json.dumps({"type": "mute", "muted": False}))  # the socket is still open
    await ws.ping()
    await ws.close()
    assert "Traceback" not in caplog.text


@pytest.mark.parametrize(
    "hello_frame",
    [
        '{"type": "hello", "page": "PAGE", "secret": "\\ud800"}',
        '{"type": "hello", "page": "PAGE\\n", "secret": null}',
        '{"type": "hello", "page": "PAGE\\u0000", "secret": null}',
    ],
)
async def test_bad_hellos_get_a_close_frame(
    stack: Stack, hello_frame: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    page = secrets.token_hex(16)
    first = await open_page(stack)
    await hello(first, page)  # the page exists: a secret is compared
    await first.close()
    ws = await open_page(stack)
    await ws.send(hello_frame.replace("PAGE", page))
    assert await closed_with(ws) == 4400
    assert "Traceback" not in caplog.text


def test_json_nested_too_deep_is_a_clear_refusal() -> None:
    """8 KiB of "[" is within the size limit but past the JSON parser's recursion (atheris)."""
    with pytest.raises(protocol.ProtocolError, match="nests too deep"):
        incoming.parse("[" * 4000 + "]" * 4000, Limits())
    with pytest.raises(protocol.ProtocolError, match="Unicode"):  # a str a caller made (atheris)
        incoming.parse('{"type": "text", "text": "a\ud800"}', Limits())


async def test_every_response_has_the_security_headers(stack: Stack) -> None:
    async with httpx.AsyncClient() as http:
        for path in ("/", "/static/app.js", "/healthz", "/nope", "/favicon.ico"):
            response = await http.get(stack.url + path)
            for name, value in SECURITY_HEADERS.items():
                assert response.headers.get(name) == value, (path, name)
        health = await http.get(stack.url + "/healthz")
        assert health.json() == {"ok": True}  # no page count


async def _chat(ws: ClientConnection, text: str) -> dict[str, Any]:
    await ws.send(json.dumps({"type": "text", "text": text}))
    async with asyncio.timeout(TIMEOUT):
        while True:
            msg = await next_json(ws, "transcript")
            if any(t["role"] == "model" and t["final"] for t in msg["recent"]):
                return msg


async def test_info_logs_do_not_show_page_ids(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    page = secrets.token_hex(16)
    ws = await open_page(stack)
    await hello(ws, page)
    await _chat(ws, "hello")
    await ws.close()
    await stack.backend.forget_all()
    assert any(r.name.startswith("relive") for r in caplog.records), "nothing was logged"
    assert page not in caplog.text
    assert page[:12] not in caplog.text
