"""`relive demo` as a user runs it (a real subprocess): the resilience panel is on with the
emulator and off with real Gemini unless `--panel`; `-v` prints the emulator's control URL.

Real Gemini is never reached: a page's welcome comes before any session is opened.
"""

from __future__ import annotations

import json
import ssl
import urllib.request
from typing import Any

from websockets.sync.client import connect
from websockets.typing import Origin

from tests.web.run_demo import demo


def welcome(url: str) -> dict[str, Any]:
    with connect(url.replace("http", "ws") + "/ws", origin=Origin(url), open_timeout=10) as ws:
        ws.send(json.dumps({"type": "hello", "page": "ab" * 16, "secret": None}))
        msg: dict[str, Any] = json.loads(ws.recv(timeout=10))
        return msg


def test_with_the_emulator_the_panel_is_on_and_v_prints_the_control_url() -> None:
    with demo("-v") as (url, lines):
        (control,) = [line for line in lines if "emulator control" in line]
        stats_url, ca = control.split()[4], control.split("CA certificate ")[1].rstrip(")")
        context = ssl.create_default_context(cafile=ca)
        with urllib.request.urlopen(stats_url, context=context, timeout=10) as response:
            assert "sessions" in json.loads(response.read())
        hi = welcome(url)
        assert hi["panel"] is True and hi["model"]["emulator"] is True
        assert hi["faults"] == ["drop_page", "goaway", "drop", "lose_session"]


def test_without_v_no_control_url() -> None:
    with demo() as (_, lines):
        assert not [line for line in lines if "control" in line]


def test_with_real_gemini_the_panel_is_off_unless_asked_for() -> None:
    with demo(key="not-a-real-key") as (url, lines):
        assert any("real Gemini" in line for line in lines)
        hi = welcome(url)
        assert hi["panel"] is False and hi["faults"] == [] and hi["model"]["emulator"] is False
        assert hi["model"]["name"].startswith("gemini-")
    with demo("--panel", key="not-a-real-key") as (url, _):
        hi = welcome(url)
        assert hi["panel"] is True and hi["faults"] == ["drop_page"]
