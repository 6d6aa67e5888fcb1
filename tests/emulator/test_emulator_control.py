"""The control endpoints are off the public surface: loopback or a token, POST for faults, no web
page, bounded numbers; and a bind beyond loopback is announced loudly."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import subprocess
import sys
import urllib.error
import urllib.request

import pytest
import websockets

from relive.emulator import Emulator
from relive.emulator._control import refusal
from tests.sdk_support import needs_http_post

pytestmark = needs_http_post

DEV = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent?key=k"
TOKEN = "k7Jx0Qy3VnR8wZb2Lm5Tc9Hd4Gf6Pa1S"
LOCAL = {"host": "127.0.0.1:9"}


@pytest.mark.parametrize(
    ("method", "path", "headers", "peer", "token", "status"),
    [
        ("POST", "/emulator/faults/drop", LOCAL, "127.0.0.1", None, None),
        ("GET", "/emulator/stats", {"host": "[::1]:9"}, "::1", None, None),
        ("GET", "/emulator/stats", {"host": "localhost"}, "::ffff:127.0.0.1", None, None),
        ("GET", "/emulator/faults/drop", LOCAL, "127.0.0.1", None, 405),  # side effects: POST
        ("DELETE", "/emulator/stats", LOCAL, "127.0.0.1", None, 405),
        ("POST", "/emulator/faults/drop", {**LOCAL, "origin": "http://evil.example"}, "127.0.0.1",
         None, 403),
        ("POST", "/emulator/faults/drop", {**LOCAL, "origin": "null"}, "127.0.0.1", None, 403),
        ("GET", "/emulator/stats", {**LOCAL, "sec-fetch-site": "cross-site"}, "127.0.0.1", None,
         403),
        ("GET", "/emulator/stats", {"host": "rebound.example:9"}, "127.0.0.1", None, 403),
        ("GET", "/emulator/stats", {}, "127.0.0.1", None, 403),
        ("POST", "/emulator/faults/drop", {"host": "10.0.0.5:9"}, "10.0.0.7", None, 403),
        ("POST", "/emulator/faults/drop", {"host": "10.0.0.5:9"}, "10.0.0.7", TOKEN, 401),
        ("POST", "/emulator/faults/drop", {"host": "h", "authorization": "Bearer nope"},
         "10.0.0.7", TOKEN, 401),
        ("POST", "/emulator/faults/drop", {"host": "h", "authorization": f"Bearer {TOKEN}"},
         "10.0.0.7", TOKEN, None),
        ("POST", "/emulator/faults/drop", LOCAL, "127.0.0.1", TOKEN, 401),  # a token binds all
    ],
)  # fmt: skip
def test_who_may_use_the_control_endpoints(
    method: str,
    path: str,
    headers: dict[str, str],
    peer: str,
    token: str | None,
    status: int | None,
) -> None:
    refused = refusal(method, path, headers, peer, token)
    assert (refused[0] if refused else None) == status, refused


def _http(url: str, method: str = "POST", **headers: str) -> tuple[int, str]:
    request = urllib.request.Request(url, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


async def _call(url: str, method: str = "POST", **headers: str) -> tuple[int, str]:
    return await asyncio.to_thread(_http, url, method, **headers)


@pytest.mark.relive_emulator(tls=False)
async def test_a_web_page_cannot_drop_sessions(relive_emulator: Emulator) -> None:
    base = relive_emulator.url + "/emulator/faults"
    async with websockets.connect(relive_emulator.ws_url + DEV) as ws:
        await ws.send('{"setup": {"model": "models/gemini-live-2.5-flash-preview"}}')
        await ws.recv()
        assert (await _call(base + "/drop", "GET"))[0] == 405  # a link or an <img>
        assert (await _call(base + "/drop", Origin="http://evil.example"))[0] == 403  # a form
        assert relive_emulator.stats.open_connections == 1
        assert relive_emulator.stats.aborts == 0
        assert (await _call(base + "/drop"))[0] == 200  # a local test process may
        await relive_emulator.wait_for(lambda s: s.open_connections == 0)


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "1e308", "61", "-1", "1" * 5000])
@pytest.mark.relive_emulator(tls=False)
async def test_timed_faults_are_bounded(relive_emulator: Emulator, value: str) -> None:
    base = relive_emulator.url + "/emulator/faults"
    for fault in ("latency?seconds=", "ping_delay?seconds=", "goaway_now?time_left="):
        status, body = await _call(base + "/" + fault + value)
        if value == "61" and not fault.startswith("latency"):
            assert status == 200  # pongs up to 120 s late (the real service is slow), goAway 1 h
            continue
        assert status == 400, (fault, value, body)
    assert relive_emulator.faults.latency == 0.0
    with pytest.raises(ValueError):
        relive_emulator.faults.set_latency(math.inf)
    with pytest.raises(ValueError):
        relive_emulator.faults.goaway_now(1e308)


@pytest.mark.relive_emulator(tls=False)
async def test_close_fault_code_is_checked(relive_emulator: Emulator) -> None:
    base = relive_emulator.url + "/emulator/faults/close?code="
    for code in ("1006", "999", "5000", "1" * 5000, "x"):
        assert (await _call(base + code))[0] == 400, code
    assert (await _call(base + "4000"))[0] == 200


async def test_with_a_token_every_control_request_needs_it() -> None:
    async with Emulator(tls=False, control_token=TOKEN) as emu:
        stats = emu.url + "/emulator/stats"
        assert (await _call(stats, "GET"))[0] == 401
        assert (await _call(stats, "GET", Authorization="Bearer " + "x" * 32))[0] == 401
        assert (await _call(stats, "GET", Authorization="Bearer " + TOKEN))[0] == 200
    with pytest.raises(ValueError, match="at least 24"):
        Emulator(tls=False, control_token="secret")


async def test_a_bind_beyond_loopback_warns(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="relive.emulator")
    async with Emulator(tls=False, host="0.0.0.0"):
        pass
    assert any("not loopback" in r.getMessage() for r in caplog.records)
    caplog.clear()
    async with Emulator(tls=False):
        pass
    assert not caplog.records


def test_cli_refuses_a_short_control_token() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "relive.cli", "emulator", "--control-token", "short"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "at least 24" in done.stderr
    assert "short" not in done.stderr.replace("--control-token", "")  # the token is not echoed


@pytest.mark.relive_emulator(tls=False)
async def test_a_known_fault_without_its_parameter_is_400_and_an_unknown_fault_404(
    relive_emulator: Emulator,
) -> None:
    base = relive_emulator.url + "/emulator/faults"
    for fault in ("latency", "set_latency", "ping_delay"):
        status, body = await _call(f"{base}/{fault}")
        assert status == 400, (fault, body)
        assert "'seconds' missing" in json.loads(body)["error"]
    status, body = await _call(base + "/no_such_fault")
    assert status == 404 and "unknown fault" in json.loads(body)["error"]
    assert (await _call(base + "/set_latency?seconds=0.5"))[0] == 200
    assert relive_emulator.faults.latency == 0.5


def test_paths_are_matched_whole() -> None:
    """`re.match` with `$` takes a final newline; every path rule uses fullmatch."""
    from relive.emulator._rest import is_rest
    from relive.emulator._routes import match_route

    live = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
    assert match_route(live) is not None and match_route(live + "\n") is None
    assert is_rest("/v1alpha/auth_tokens") and not is_rest("/v1alpha/auth_tokens\n")
