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

from relive.session import HandleStore
from relive.store._errors import StoreError
from relive.store._state import SharedState
from relive.transcript import Transcript
from relive.transcript._transcript import Turn

log = logging.getLogger("relive.store")

_Key = tuple[str, str]


class SharedHandles(HandleStore):
    """Handles (and their transcripts) in memory, copied to `state` as they change."""

    def __init__(self, state: SharedState) -> None:
        super().__init__()
        self.state = state
        self.keep_shared = False  # draining: a session's end leaves its handle for another replica
        self._pending: dict[_Key, str | None] = {}  # newest handle to write (None: delete)
        self._writers: dict[_Key, asyncio.Task[None]] = {}

    def put(self, owner: str, mode: str, handle: str) -> None:
        super().put(owner, mode, handle)
        self._schedule((owner, mode), handle)

    def forget(self, owner: str, mode: str) -> None:
        super().forget(owner, mode)
        if not self.keep_shared:
            self._schedule((owner, mode), None)

    def _schedule(self, key: _Key, handle: str | None) -> None:
        self._pending[key] = handle
        if key not in self._writers:
            self._writers[key] = asyncio.get_running_loop().create_task(self._write(key))

    async def _write(self, key: _Key) -> None:
        owner, mode = key
        try:
            while key in self._pending:
                handle = self._pending.pop(key)
                try:
                    if handle is None:
                        await self.state.forget_handle(owner, mode)
                    else:
                        await self.state.put_handle(owner, mode, handle)
                        transcript = super().transcript(owner, mode)
                        if transcript is not None:
                            await self.state.put_note(owner, mode, _dump(transcript))
                except StoreError as exc:  # FallbackKV does not raise; a bare store may
                    log.warning("a handle was not shared: %s", exc)
        finally:
            del self._writers[key]

    async def flush(self) -> None:
        """Return once every change so far is in the store (before a draining replica exits)."""
        while self._writers:
            await asyncio.gather(*self._writers.values(), return_exceptions=True)

    async def load(self, owner: str, mode: str) -> bool:
        """Take the store's newest handle (and transcript) of (owner, mode) into memory.

        Returns whether there was one. When there is none, what memory held is forgotten too:
        a session that ended elsewhere must not be resumed from a stale copy here.
        """
        handle = await self.state.get_handle(owner, mode)
        if handle is None:
            HandleStore.forget(self, owner, mode)
            return False
        HandleStore.put(self, owner, mode, handle)
        note = await self.state.get_note(owner, mode)
        if note is not None:
            self.keep_transcript(owner, mode, _load(note))
        return True


def _dump(transcript: Transcript) -> str:
    return json.dumps(
        {
            "summary": transcript.earlier_summary,
            "folded": transcript.earlier_count,
            "turns": [t.to_dict() for t in transcript.turns if t.final or t.text],
        }
    )


def _load(text: str) -> Transcript:
    transcript = Transcript()
    try:
        data = json.loads(text)
        turns = [Turn(t["role"], str(t["text"]), bool(t.get("interrupted"))) for t in data["turns"]]
        transcript.restore(turns, summary=str(data["summary"]), folded=int(data["folded"]))
    except (ValueError, KeyError, TypeError) as exc:
        log.warning("a stored transcript was dropped: %s", exc)
    return transcript
