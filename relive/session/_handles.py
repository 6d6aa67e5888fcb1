"""Resumption handles, in memory only: the newest resumable one per (owner, mode).

Nothing here is ever written to disk: a new process or page starts a new session, by design.
A handle is a secret (it resumes someone's conversation), so reprs show only a short hash.
"""

from __future__ import annotations

import hashlib
from collections import deque
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from relive.transcript import Transcript


def redact(handle: str | None) -> str:
    """A handle as it may appear in logs: a short hash, never the handle itself."""
    if not handle:
        return "<none>"
    return "<handle #" + hashlib.sha256(handle.encode()).hexdigest()[:8] + ">"


class HandleStore:
    """The newest resumable handle per (owner, mode), kept in memory.

    It also keeps the transcript of each (owner, mode) conversation, so a later `connect` that
    resumes the conversation opens with its history, and the answered exchanges the handle lacks
    (a handle is a snapshot), so that `connect` restores them.
    """

    def __init__(self) -> None:
        self._handles: dict[tuple[str, str], str] = {}
        self._transcripts: dict[tuple[str, str], Transcript] = {}
        self._exchanges: dict[tuple[str, str], deque[tuple[str, str]]] = {}

    def get(self, owner: str, mode: str) -> str | None:
        """The newest resumable handle for (owner, mode), or None."""
        return self._handles.get((owner, mode))

    def put(self, owner: str, mode: str, handle: str) -> None:
        """Keep `handle` as the newest for (owner, mode)."""
        if not handle:
            raise ValueError("an empty handle cannot be stored")
        self._handles[(owner, mode)] = handle

    def forget(self, owner: str, mode: str) -> None:
        """Drop the handle (and the transcript) of this conversation."""
        self._handles.pop((owner, mode), None)
        self._transcripts.pop((owner, mode), None)
        self._exchanges.pop((owner, mode), None)

    def transcript(self, owner: str, mode: str) -> Transcript | None:
        """The transcript of the conversation the stored handle resumes, if any."""
        if (owner, mode) not in self._handles:
            return None
        return self._transcripts.get((owner, mode))

    def keep_transcript(self, owner: str, mode: str, transcript: Transcript) -> None:
        """Keep the conversation's transcript with its handle, for a later `connect`."""
        self._transcripts[(owner, mode)] = transcript

    def exchanges(self, owner: str, mode: str) -> deque[tuple[str, str]] | None:
        """(user words, model words) of answered exchanges the stored handle lacks, if any."""
        if (owner, mode) not in self._handles:
            return None
        return self._exchanges.get((owner, mode))

    def keep_exchanges(self, owner: str, mode: str, exchanges: deque[tuple[str, str]]) -> None:
        """Keep the conversation's exchanges the handle lacks (the session updates them)."""
        self._exchanges[(owner, mode)] = exchanges

    def __len__(self) -> int:
        return len(self._handles)

    def __contains__(self, key: object) -> bool:
        return key in self._handles

    def __repr__(self) -> str:
        inner = ", ".join(f"{o}/{m}: {redact(h)}" for (o, m), h in self._handles.items())
        return f"HandleStore({inner})"
