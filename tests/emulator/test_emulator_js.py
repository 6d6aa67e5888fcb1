"""The official @google/genai JS SDK (node) against the emulator over ws:// and wss://."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path

import pytest

from relive.emulator import Emulator, EmulatorSettings

JS_DIR = Path(__file__).resolve().parents[1] / "js"


@pytest.mark.js
@pytest.mark.parametrize("tls", [False, True], ids=["ws", "wss"])
async def test_js_sdk_text_turn_handle_and_goaway(tls: bool) -> None:
    node = shutil.which("node")
    if node is None or not (JS_DIR / "node_modules" / "@google" / "genai").is_dir():
        pytest.fail("node and tests/js/node_modules are needed (run `make js-deps`)")
    settings = EmulatorSettings(
        connection_lifetime=1.5, goaway_lead=0.5, chunk_interval=0.005, turn_complete_lag_factor=0
    )
    async with Emulator(settings, tls=tls) as emu:
        env = dict(os.environ)
        if emu.ca_pem_path is not None:
            env["NODE_EXTRA_CA_CERTS"] = str(emu.ca_pem_path)
        proc = await asyncio.create_subprocess_exec(
            node,
            "emulator_smoke.mjs",
            emu.url,
            cwd=JS_DIR,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), timeout=20)
    assert proc.returncode == 0, err.decode()
    events = [json.loads(line) for line in out.decode().splitlines() if line.startswith("{")]
    kinds = [e["event"] for e in events]
    assert kinds.index("generationComplete") < kinds.index("turnComplete")
    turn = next(e for e in events if e["event"] == "turnComplete")
    assert turn["text"] == "You said: hello from js. (turn 1, remembers 1)"
    handle = next(e for e in events if e["event"] == "handle")
    assert handle["length"] >= 22  # >= 128 bits of URL-safe base64
    go_away = next(e for e in events if e["event"] == "goAway")
    assert go_away["timeLeft"] == "0.5s"
    close = next(e for e in events if e["event"] == "close")
    assert close["code"] == 1008  # the real close for an ignored goAway (late 2026)
    assert close["reason"].startswith("Connection aborted because the client failed to close")
    assert kinds.index("goAway") < kinds.index("close")
    assert emu.stats.closes[1008] == 1


@pytest.mark.js
async def test_js_sdk_ephemeral_token_flow_of_a_browser_app() -> None:
    node = shutil.which("node")
    if node is None or not (JS_DIR / "node_modules" / "@google" / "genai").is_dir():
        pytest.fail("node and tests/js/node_modules are needed (run `make js-deps`)")
    settings = EmulatorSettings(chunk_interval=0.0, turn_complete_lag_factor=0)
    async with Emulator(settings, tls=False, api_keys={"server-key"}) as emu:
        proc = await asyncio.create_subprocess_exec(
            node,
            "ephemeral_token.mjs",
            emu.url,
            "server-key",
            cwd=JS_DIR,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), timeout=20)
    assert proc.returncode == 0, err.decode()
    events = {e["event"]: e for e in map(json.loads, out.decode().splitlines()) if "event" in e}
    assert events["minted"] == {"event": "minted", "prefixed": True, "hasExpireTime": True}
    # TEXT although the page asked for AUDIO: the token's constraints replaced its setup.
    assert events["turnComplete"]["text"] == "You said: hello from the page. (turn 1, remembers 1)"
    assert events["refused"]["code"] == 1011
    assert events["refused"]["reason"] == "Token has been used too many times"
    assert "Token has been used too many times" in events["refused"]["connect"]
    assert "done" in events
    kinds = [str(e.kind) for e in emu.events]
    assert kinds.count("token_minted") == 1 and kinds.count("token_admitted") == 1
    assert any(
        e.kind == "connection_opened" and e.data["path"].endswith("Constrained") for e in emu.events
    )
