"""Real Gemini or the embedded emulator: the one choice every command-line app makes.

With `GEMINI_API_KEY` set (and no `--emulator`), apps talk to real Gemini and the key stays in
this process; otherwise they start an in-process emulator, so they run offline with no key.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from google import genai
from google.genai import types

if TYPE_CHECKING:
    from relive.emulator import Emulator, EmulatorSettings

KEY_VARIABLE = "GEMINI_API_KEY"


@dataclass(frozen=True)
class Backing:
    """The client to open Live sessions with, and the emulator behind it (None: real Gemini)."""

    client: genai.Client
    emulator: Emulator | None


@contextlib.asynccontextmanager
async def gemini_or_emulator(
    *,
    force_emulator: bool = False,
    api_version: str | None = None,
    emulator_settings: EmulatorSettings | None = None,
    emulator_key: str = "test-key",
) -> AsyncIterator[Backing]:
    """Real Gemini when a key is set and `force_emulator` is not, else a running emulator.

    `api_version` is the one real Gemini is asked on (None: the SDK's default); the emulator
    serves every version.
    """
    key = os.environ.get(KEY_VARIABLE)
    if key and not force_emulator:
        options = types.HttpOptions(api_version=api_version) if api_version else None
        yield Backing(genai.Client(api_key=key, http_options=options), None)
        return
    from relive.emulator import Emulator, EmulatorSettings

    async with Emulator(emulator_settings or EmulatorSettings(), tls=True) as emu:
        yield Backing(emu.client(api_key=emulator_key), emu)
