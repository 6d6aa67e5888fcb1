"""`relive emulator` runs a server, prints its URL, and stops on Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import signal
import ssl
import sys
from pathlib import Path

from google import genai
from google.genai import types

from relive.emulator._cli import _settings_from, register
from tests.emulator.sdk_helpers import MODEL, say, text_config
from tests.signals import sigint_default


async def test_cli_serves_tls_with_ca_file(tmp_path: Path) -> None:
    ca_file = tmp_path / "ca.pem"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "relive.cli",
        "emulator",
        "--port",
        "0",
        "--tls",
        "--ca-file",
        str(ca_file),
        "--connection-lifetime",
        "30",
        "--goaway-lead",
        "10",
        "--chunk-interval",
        "0.001",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        preexec_fn=sigint_default,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 10)).decode()
        assert line.startswith("relive emulator serving https://127.0.0.1:")
        url = line.split()[-1]
        ctx = ssl.create_default_context(cafile=str(ca_file))
        client = genai.Client(
            api_key="cli-key",
            http_options=types.HttpOptions(
                base_url=url, api_version="v1beta", async_client_args={"ssl": ctx}
            ),
        )
        async with client.aio.live.connect(model=MODEL, config=text_config()) as session:
            reply = await say(session, "via the cli")
        assert reply.text == "You said: via the cli. (turn 1, remembers 1)"
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = await asyncio.wait_for(proc.communicate(), 10)
    assert proc.returncode == 0, err.decode()
    assert b"cli-key" not in err  # keys are never printed


async def test_cli_refuses_bad_settings() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "relive.cli",
        "emulator",
        "--connection-lifetime",
        "0",
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), 10)
    assert proc.returncode == 2
    assert b"EmulatorSettings.connection_lifetime must be > 0" in err


def _write_quick_start(where: Path) -> Path:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "emulator.md").read_text()
    script = where / "quick_start.py"
    script.write_text(doc.split("```python\n", 1)[1].split("```", 1)[0])
    return script


async def test_the_quick_start_in_the_docs_runs(tmp_path: Path) -> None:
    script = _write_quick_start(tmp_path)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(script),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 0, err.decode()
    assert out.decode() == "You said: hello. (turn 1, remembers 1)"


def test_cli_options_for_the_profiles_and_lenient_checking() -> None:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    options = (
        "--lenient --first-handle setup --idle-timeout 0 --unknown-model-profile 3.1-flash-live"
    )
    args = parser.parse_args(["emulator", *options.split()])
    settings = _settings_from(args)
    assert settings.strict is False and settings.first_handle == "setup"
    assert settings.idle_timeout == 0.0 and settings.unknown_model_profile == "3.1-flash-live"
    assert settings.connection_lifetime is None  # not given: the model profile's
    assert _settings_from(parser.parse_args(["emulator"])).strict is True
