"""A `HandleStore` whose handles and transcripts are also written, sealed, to the shared state.

The session machine is sans-I/O and reads and writes its `HandleStore` synchronously; this one
keeps that contract (memory first) and copies each change to the store in the background, newest
value per key, so another replica can resume the conversation after this one is gone. `load`
brings a conversation a page had on another replica back into memory before its session opens.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from relive.session import HandleStore
from relive.session._restore import MAX_RESTORED_EXCHANGES
from relive.store._errors import StoreError
from relive.store._state import SharedState
from relive.transcript import Transcript
from relive.transcript._transcript import Turn

log = logging.getLogger("relive.store")

_Key = tuple[str, str]


class SharedHandles(HandleStore):
    """Handles (and their transcripts) in memory, copied to `state` as they change.

    Each record also says how far the page's input is *covered*: `cover(owner, mode, seq)` tells
    which page input (by the page's sequence number) the handle and the exchanges kept with it
    hold; once a record saying so is in the shared store (not only in this replica's memory),
    the listener of (owner, mode) hears that number, and the page may forget those inputs.
    """

    def __init__(self, state: SharedState) -> None:
        super().__init__()
        self.state = state
        self.keep_shared = False  # draining: a session's end leaves its handle for another replica
        self._pending: dict[_Key, str | None] = {}  # newest handle to write (None: delete)
        self._final: dict[_Key, str] = {}  # the note of a pending write whose session ended
        self._writers: dict[_Key, asyncio.Task[None]] = {}
        self._covers: dict[_Key, int] = {}  # the page's input covered by what memory holds
        self._kept: set[str] = set()  # owners whose ending sessions leave their handles shared
        self._listeners: dict[_Key, Callable[[int], None]] = {}

    def put(self, owner: str, mode: str, handle: str) -> None:
        super().put(owner, mode, handle)
        self._schedule((owner, mode), handle)

    def forget(self, owner: str, mode: str) -> None:
        key = (owner, mode)
        keep = self.keep_shared or owner in self._kept
        if keep and isinstance(self._pending.get(key), str):
            # A record still to be written goes as memory holds it now, not as forgotten.
            self._final[key] = self._note(key, self._covers.get(key))
        super().forget(owner, mode)
        if not keep:
            self._covers.pop(key, None)
            self._schedule(key, None)

    async def end(self, owner: str, mode: str) -> None:
        """The user ended (owner, mode): forget its record here and in the store, even while
        draining or handing the page over, and return once the store no longer holds it."""
        key = (owner, mode)
        HandleStore.forget(self, owner, mode)
        self._covers.pop(key, None)
        self._final.pop(key, None)
        self._schedule(key, None)
        writer = self._writers.get(key)
        if writer is not None:
            await asyncio.gather(writer, return_exceptions=True)

    def keep(self, owner: str) -> None:
        """Sessions of `owner` that end from now on leave their handles for another replica."""
        self._kept.add(owner)

    def unkeep(self, owner: str) -> None:
        self._kept.discard(owner)

    def cover(self, owner: str, mode: str, seq: int) -> None:
        """The handle in memory and its exchanges hold the page's input up to `seq`: write that."""
        key = (owner, mode)
        self._covers[key] = max(seq, self._covers.get(key, 0))
        handle = self.get(owner, mode)
        if handle is not None:
            self._schedule(key, handle)

    def listen(self, owner: str, mode: str, listener: Callable[[int], None] | None) -> None:
        """Call `listener(seq)` each time a record covering input up to `seq` is shared."""
        if listener is None:
            self._listeners.pop((owner, mode), None)
        else:
            self._listeners[(owner, mode)] = listener

    def _schedule(self, key: _Key, handle: str | None) -> None:
        self._pending[key] = handle
        if key not in self._writers:
            self._writers[key] = asyncio.get_running_loop().create_task(self._write(key))

    async def _write(self, key: _Key) -> None:
        owner, mode = key
        try:
            while key in self._pending:
                handle = self._pending.pop(key)
                covers = self._covers.get(key)
                final = self._final.pop(key, None)
                try:
                    if handle is None:
                        await self.state.forget_handle(owner, mode)
                        continue
                    note = final if final is not None else self._note(key, covers)
                    await self.state.put_handle(owner, mode, handle, note)
                    if final is not None:
                        self._covers.pop(key, None)  # the session ended: nothing more to cover
                except StoreError as exc:  # FallbackKV does not raise; a bare store may
                    log.warning("a handle was not shared: %s", exc)
                    continue
                listener = self._listeners.get(key)
                if covers and listener is not None and self.state.durable:
                    listener(covers)
        finally:
            del self._writers[key]

    def _note(self, key: _Key, covers: int | None) -> str:
        transcript = HandleStore.transcript(self, *key)
        exchanges = HandleStore.exchanges(self, *key)
        return json.dumps(
            {
                **(_dump(transcript) if transcript is not None else {}),
                "exchanges": [list(e) for e in exchanges or ()],
                "covers": covers or 0,
            }
        )

    async def flush(self) -> None:
        """Return once every change so far is in the store (before a draining replica exits)."""
        while self._writers:
            await asyncio.gather(*self._writers.values(), return_exceptions=True)

    async def covered(self, owner: str, mode: str) -> int:
        """The page input (its sequence number) the stored record of (owner, mode) covers."""
        return await self.stored(owner, mode) or 0

    async def stored(self, owner: str, mode: str) -> int | None:
        """What the stored record of (owner, mode) covers (as `covered`), or None when the
        store holds no record of it (none was written yet, or it was lost or expired)."""
        record = await self.state.get_record(owner, mode)
        return _read(record[1]).covers if record else None

    async def load(self, owner: str, mode: str) -> bool:
        """Take the store's newest handle (and transcript) of (owner, mode) into memory.

        Returns whether there was one. When there is none, what memory held is forgotten too:
        a session that ended elsewhere must not be resumed from a stale copy here.
        """
        record = await self.state.get_record(owner, mode)
        if record is None:
            HandleStore.forget(self, owner, mode)
            return False
        handle, note = record
        HandleStore.put(self, owner, mode, handle)
        kept = _read(note)
        if kept.transcript is not None:
            self.keep_transcript(owner, mode, kept.transcript)
        self.keep_exchanges(owner, mode, deque(kept.exchanges, maxlen=MAX_RESTORED_EXCHANGES))
        self._covers[(owner, mode)] = kept.covers
        return True


def _dump(transcript: Transcript) -> dict[str, Any]:
    """The answered part of the transcript: up to the last answered model turn (finished, or
    its generation complete: the exchanges kept with the handle hold it, so the transcript
    another replica shows must too). A user turn after it is not answered, so not covered: the
    page sends its input again and it comes back then."""
    return {
        "summary": transcript.earlier_summary,
        "folded": transcript.earlier_count,
        "turns": [t.to_dict() for t in transcript.answered_turns() if t.final or t.text],
    }


@dataclass(frozen=True)
class _Kept:
    """What a stored note holds."""

    transcript: Transcript | None
    exchanges: list[tuple[str, str]]
    covers: int


def _read(text: str) -> _Kept:
    try:
        data = json.loads(text) if text else {}
        exchanges = [(str(u), str(m)) for u, m in data.get("exchanges", [])]
        covers = int(data.get("covers", 0))
    except (ValueError, TypeError, AttributeError) as exc:
        log.warning("a stored note was dropped: %s", exc)
        return _Kept(None, [], 0)
    if "turns" not in data:
        return _Kept(None, exchanges, covers)
    transcript = Transcript()
    try:
        turns = [Turn(t["role"], str(t["text"]), bool(t.get("interrupted"))) for t in data["turns"]]
        transcript.restore(turns, summary=str(data["summary"]), folded=int(data["folded"]))
    except (ValueError, KeyError, TypeError) as exc:
        log.warning("a stored transcript was dropped: %s", exc)
    return _Kept(transcript, exchanges, covers)
