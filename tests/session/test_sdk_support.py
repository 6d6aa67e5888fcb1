"""A feature the installed google-genai lacks is a clear error, never an AttributeError."""

from __future__ import annotations

import pytest

import relive
from relive.emulator import Emulator
from tests.sdk_support import HAS_CONTEXT_UPDATE
from tests.session.helpers import MODEL


async def test_send_context_update_works_or_says_which_sdk_it_needs(
    relive_emulator: Emulator,
) -> None:
    async with relive.connect(relive_emulator.client(), model=MODEL, mode="text") as session:
        if HAS_CONTEXT_UPDATE:
            await session.send_context_update(system_instruction="Be brief.")
            await relive_emulator.wait_event("context_update", timeout=5)
        else:
            with pytest.raises(relive.UnsupportedBySdkError, match="google-genai") as info:
                await session.send_context_update(system_instruction="Be brief.")
            assert isinstance(info.value, relive.SessionError)
            assert isinstance(info.value, NotImplementedError)
