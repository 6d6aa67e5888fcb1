"""What every bench shares: the emulator settings, the model name, configs and the raw SDK path.

The emulator is set to answer at once (no pacing between chunks, no playback lag), so the
figures measure the client side, not the scripted model's simulated speaking time.
"""

from __future__ import annotations

import math
import os
import ssl
from typing import Any

from google import genai
from google.genai import types

from relive._clock import Clock
from relive.emulator import EmulatorSettings
from relive.session import HandleStore, LiveSession, Policy, connect

MODEL = "gemini-live-2.5-flash-preview"
API_KEY = "bench-key"

BENCH_SETTINGS = EmulatorSettings(
    connection_lifetime=3600.0,
    goaway_lead=60.0,
    chunk_interval=0.0,
    first_chunk_delay=0.0,
    turn_complete_lag_factor=0.0,
    speech_seconds_per_char=0.001,
)


def machine_load() -> float:
    """The 1-minute load average (other work on the machine skews the wall-clock figures); every
    bench's report prints it."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return math.nan


def call_config() -> types.LiveConnectConfig:
    """A voice call: audio in, audio out."""
    return types.LiveConnectConfig(response_modalities=[types.Modality.AUDIO])


def call_session(client: genai.Client, owner: str, policy: Policy | None = None) -> LiveSession:
    """A relive call session with the benches' setup and a handle store of its own."""
    return connect(
        client,
        model=MODEL,
        config=call_config(),
        mode="call",
        handles=HandleStore(),
        owner=owner,
        policy=policy,
    )


def text_config() -> types.LiveConnectConfig:
    """A text chat."""
    return types.LiveConnectConfig(response_modalities=[types.Modality.TEXT])


def user_turn(text: str) -> types.Content:
    return types.Content(role="user", parts=[types.Part(text=text)])


def client_for(url: str, ca_pem: str | None, api_key: str = API_KEY) -> genai.Client:
    """A `genai.Client` for an emulator in another process (its URL and CA file)."""
    args: dict[str, Any] = {}
    if ca_pem is not None:
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca_pem)
        args["ssl"] = ctx
    options = types.HttpOptions(base_url=url, api_version="v1beta", async_client_args=args)
    return genai.Client(api_key=api_key, http_options=options)


async def raw_connect_setup(
    client: genai.Client, config: types.LiveConnectConfig, clock: Clock
) -> float:
    """Seconds for one bare connect + setup (until setupComplete) with the raw SDK."""
    cm = client.aio.live.connect(model=MODEL, config=config)
    start = clock.now()
    await cm.__aenter__()
    elapsed = clock.now() - start
    await cm.__aexit__(None, None, None)
    return elapsed
