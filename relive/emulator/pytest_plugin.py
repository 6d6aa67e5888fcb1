"""pytest plugin (entry point `relive_emulator`): fixtures to test a Live app offline.

    async def test_my_app(relive_emulator):
        client = relive_emulator.client()
        ...

Override `relive_emulator_settings` (or mark a test with
`@pytest.mark.relive_emulator(connection_lifetime=2.0, tls=False)`) to change limits.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import pytest

from relive._errors import MissingExtraError

if TYPE_CHECKING:
    from relive.emulator import Emulator, EmulatorSettings

try:  # the plugin loads in every project that has relive installed: never break pytest
    import pytest_asyncio
except ImportError:  # pragma: no cover - exercised only without pytest-asyncio
    pytest_asyncio = None  # type: ignore[assignment]

_OPTIONS = ("tls", "api_keys")


def pytest_configure(config: pytest.Config) -> None:
    """Register the `relive_emulator` marker."""
    config.addinivalue_line(
        "markers",
        "relive_emulator(**settings): settings (and tls=, api_keys=) for the relive_emulator "
        "fixture",
    )


@pytest.fixture
def relive_emulator_settings() -> EmulatorSettings:
    """Settings for `relive_emulator`: fast defaults (short chunk pacing, no audio lag)."""
    try:  # imported here: the plugin loads even where the emulator extra is not installed
        from relive.emulator import EmulatorSettings
    except MissingExtraError as missing:
        pytest.fail(str(missing), pytrace=False)
    return EmulatorSettings(chunk_interval=0.005, turn_complete_lag_factor=0.0)


async def _running(
    request: pytest.FixtureRequest, settings: EmulatorSettings
) -> AsyncIterator[Emulator]:
    marker = request.node.get_closest_marker("relive_emulator")
    overrides: dict[str, Any] = dict(marker.kwargs) if marker else {}
    options = {k: overrides.pop(k) for k in _OPTIONS if k in overrides}
    from relive.emulator import Emulator

    async with Emulator(settings.replace(**overrides), **options) as emu:
        yield emu


if pytest_asyncio is not None:

    @pytest_asyncio.fixture
    async def relive_emulator(
        request: pytest.FixtureRequest, relive_emulator_settings: EmulatorSettings
    ) -> AsyncIterator[Emulator]:
        """A running emulator (TLS on by default) for one test."""
        async for emu in _running(request, relive_emulator_settings):
            yield emu

else:  # pragma: no cover

    @pytest.fixture
    def relive_emulator() -> None:
        """Needs pytest-asyncio."""
        pytest.fail("the relive_emulator fixture needs pytest-asyncio: pip install pytest-asyncio")
