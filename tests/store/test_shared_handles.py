"""SharedHandles: one sealed record per conversation (handle, answered transcript, the exchanges
the handle lacks, the page input it covers), and the covered input heard only once it is shared."""

from __future__ import annotations

import asyncio
from collections import deque

from google.genai import types

from relive._clock import ManualClock
from relive.store import (
    FallbackKV,
    MemoryKV,
    Sealer,
    SharedHandles,
    SharedState,
    StoreUnavailableError,
    new_key,
)
from relive.transcript import Transcript

SEALER = Sealer.from_text(new_key())
HANDLE = "CiQ0ZTc0NjQ3Yi1mYWtlLWhhbmRsZS1mb3ItdGhlLXRlc3Q"


def shared(kv: object) -> SharedHandles:
    return SharedHandles(SharedState(kv, SEALER, page_ttl=60.0))  # type: ignore[arg-type]


def conversation() -> Transcript:
    t = Transcript()
    t.add_user_text("beta")
    part = types.Part(text="You said: beta")
    t.on_server_content(types.LiveServerContent(model_turn=types.Content(parts=[part])))
    t.on_server_content(types.LiveServerContent(turn_complete=True))
    t.add_user_text("gamma, not answered yet")
    return t


async def test_a_record_carries_the_transcript_exchanges_and_covered_input() -> None:
    kv = MemoryKV(ManualClock())
    one, heard = shared(kv), list[int]()
    one.listen("page-a", "text", heard.append)
    one.put("page-a", "text", HANDLE)
    one.keep_transcript("page-a", "text", conversation())
    one.keep_exchanges("page-a", "text", deque([("beta", "You said: beta")]))
    one.cover("page-a", "text", 2)
    await one.flush()
    assert heard and heard[-1] == 2
    other = shared(kv)
    assert await other.covered("page-a", "text") == 2
    assert await other.load("page-a", "text")
    assert other.get("page-a", "text") == HANDLE
    transcript = other.transcript("page-a", "text")
    assert transcript is not None
    # Up to the last answer: the unanswered turn comes back when the page sends it again.
    assert [t.text for t in transcript.turns] == ["beta", "You said: beta"]
    assert list(other.exchanges("page-a", "text") or []) == [("beta", "You said: beta")]
    assert await other.covered("page-a", "text") == 2
    assert await other.covered("page-b", "text") == 0
    # `stored` tells a record that covers nothing from no record at all.
    assert await other.stored("page-a", "text") == 2
    assert await other.stored("page-b", "text") is None
    raw = " ".join(v for v, _ in kv._items.values())
    assert HANDLE not in raw and "beta" not in raw  # sealed


async def test_an_answer_whose_turn_complete_trails_is_in_the_record() -> None:
    # AUDIO: turnComplete trails generationComplete by the playback time. A record written
    # between them keeps the answer as an exchange its handle lacks; its transcript must show it
    # too, or the replica that resumes restores it to the model and hides it from the page.
    t = conversation()
    part = types.Part(text="You said: gamma")
    t.on_server_content(types.LiveServerContent(model_turn=types.Content(parts=[part])))
    t.on_server_content(types.LiveServerContent(generation_complete=True))
    one = shared(MemoryKV(ManualClock()))
    one.put("page-a", "call", HANDLE)
    one.keep_transcript("page-a", "call", t)
    one.keep_exchanges("page-a", "call", deque([("gamma, not answered yet", "You said: gamma")]))
    await one.flush()
    other = shared(one.state.kv)
    assert await other.load("page-a", "call")
    transcript = other.transcript("page-a", "call")
    assert transcript is not None
    assert [x.text for x in transcript.turns][-2:] == ["gamma, not answered yet", "You said: gamma"]


async def test_no_handle_no_record_and_covered_is_not_heard() -> None:
    one, heard = shared(MemoryKV(ManualClock())), list[int]()
    one.listen("p", "call", heard.append)
    one.cover("p", "call", 5)  # nothing to resume from yet: nothing is covered
    await one.flush()
    assert heard == [] and await one.covered("p", "call") == 0


class DownKV(MemoryKV):
    """Redis that cannot be reached."""

    async def put(self, key: str, value: str, ttl: float) -> None:
        raise StoreUnavailableError("down")

    async def get(self, key: str) -> str | None:
        raise StoreUnavailableError("down")


async def test_covered_input_is_not_heard_while_the_store_only_has_memory() -> None:
    clock = ManualClock()
    one, heard = shared(FallbackKV(DownKV(clock), clock, retry_after=60.0)), list[int]()
    one.listen("p", "call", heard.append)
    one.put("p", "call", "H")
    one.cover("p", "call", 3)
    await one.flush()
    await asyncio.sleep(0)
    assert heard == []  # only this replica's memory holds it: a crash would lose it


async def test_a_session_that_ends_before_its_record_is_written_leaves_it_whole() -> None:
    """A draining replica closes a session (its memory forgotten) while the record of its last
    answer is still to be written: the record goes as it was, for the replica that resumes."""
    kv = MemoryKV(ManualClock())
    one = shared(kv)
    one.keep_shared = True
    one.put("page-a", "text", HANDLE)
    one.keep_transcript("page-a", "text", conversation())
    one.keep_exchanges("page-a", "text", deque([("beta", "You said: beta")]))
    one.cover("page-a", "text", 2)
    one.forget("page-a", "text")  # before the writer ran
    await one.flush()
    other = shared(kv)
    assert await other.load("page-a", "text")
    assert list(other.exchanges("page-a", "text") or []) == [("beta", "You said: beta")]
    assert await other.covered("page-a", "text") == 2
    transcript = other.transcript("page-a", "text")
    assert transcript is not None and len(transcript) == 2
