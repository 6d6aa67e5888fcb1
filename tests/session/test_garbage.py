"""A connection the session leaves is freed at once by reference counting, not left as cyclic
garbage for a full collection: in a crowd, that collection walks every held session's objects
and pauses the event loop for a quarter second or more (`relive bench wave`'s collections)."""

from __future__ import annotations

import weakref

import pytest
from google.genai import types

import relive as rs
from relive.emulator import Emulator
from tests.session.helpers import MODEL, Chat

TEXT = types.LiveConnectConfig(response_modalities=[types.Modality.TEXT])


@pytest.mark.parametrize("fault", ["goaway", "drop"])
async def test_a_left_connection_is_freed_without_the_collector(
    relive_emulator: Emulator, fault: str, no_collector: None
) -> None:
    emu = relive_emulator
    async with rs.connect(emu.client(), model=MODEL, config=TEXT, mode="text") as session:
        chat = Chat(session)
        assert await chat.ask("one") == (1, 1)
        link = session._conn
        assert link is not None
        old_link, old_sdk = weakref.ref(link), weakref.ref(link.sdk)
        del link
        if fault == "goaway":
            emu.faults.goaway_now(time_left=5.0)
        else:
            emu.faults.drop()
        await chat.wait(lambda: len(chat.of(rs.Resumed)) == 1)
        assert old_link() is None, "the old connection's Link is kept by a reference cycle"
        # The SDK session holds the socket; whether websockets then frees the socket at once is
        # its own business (16.x keeps a closed one in its cancelled keepalive task's cycle,
        # for a raw SDK connection alike; 17.x frees it).
        assert old_sdk() is None, "the old SDK session is kept by a reference cycle"
        assert await chat.ask("two") == (2, 2)
        await chat.close()
