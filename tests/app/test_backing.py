"""The apps' one choice between real Gemini and the embedded emulator."""

from __future__ import annotations

import pytest

from relive._app.backing import KEY_VARIABLE, gemini_or_emulator
from relive.emulator import EmulatorSettings


async def test_without_a_key_an_emulator_runs_behind_the_client(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(KEY_VARIABLE, raising=False)
    settings = EmulatorSettings(connection_lifetime=7.0)
    async with gemini_or_emulator(emulator_settings=settings, emulator_key="k") as it:
        assert it.emulator is not None
        assert it.emulator.settings.connection_lifetime == 7.0
        async with it.client.aio.live.connect(
            model="gemini-live-2.5-flash-preview", config={}
        ) as session:
            await session.send_client_content(turns={"role": "user", "parts": [{"text": "hi"}]})
            async for message in session.receive():
                if message.server_content and message.server_content.turn_complete:
                    break
        assert it.emulator.stats.sessions == 1
    assert it.emulator.stats.open_connections == 0


async def test_a_key_means_real_gemini_unless_the_emulator_is_forced(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(KEY_VARIABLE, "not-a-real-key")
    async with gemini_or_emulator(api_version="v1beta") as it:
        assert it.emulator is None
        assert it.client._api_client.api_key == "not-a-real-key"
        assert it.client._api_client._http_options.api_version == "v1beta"
    async with gemini_or_emulator(force_emulator=True) as it:
        assert it.emulator is not None
        assert it.emulator.url.startswith("https://127.0.0.1:")
