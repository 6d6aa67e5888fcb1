"""The pytest plugin works in a project that only installed relive (entry point)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

OUTSIDE_TEST = """
import pytest
from google.genai import types

from relive.emulator import REPLY_PATTERN, Emulator


async def test_fixture(relive_emulator: Emulator) -> None:
    config = types.LiveConnectConfig(response_modalities=[types.Modality.TEXT])
    client = relive_emulator.client()
    async with client.aio.live.connect(model="gemini-live-2.5-flash-preview", config=config) as s:
        await s.send_realtime_input(text="from outside")
        text = ""
        async for message in s.receive():
            text += message.text or ""
    match = REPLY_PATTERN.fullmatch(text)
    assert match and match["text"] == "from outside" and match["n"] == "1"


@pytest.mark.relive_emulator(connection_lifetime=0.5, goaway_lead=0.2, tls=False)
async def test_marker(relive_emulator: Emulator) -> None:
    assert relive_emulator.settings.connection_lifetime == 0.5
    assert relive_emulator.url.startswith("http://")
"""


def _write_project(root: Path) -> None:
    (root / "test_outside.py").write_text(OUTSIDE_TEST)
    (root / "pytest.ini").write_text("[pytest]\nasyncio_mode = auto\n")


async def test_plugin_fixtures_in_a_fresh_project(tmp_path: Path) -> None:
    _write_project(tmp_path)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        str(tmp_path),
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, out.decode()
    assert "2 passed" in out.decode()
