"""The journal of numbered client messages: what to send, what to replay, what is settled.

Every client message gets an index, in the order the app sent it. An entry is *settled* once the
server cannot need it again: its turn was answered, or a resumable handle was issued after it (a
handle is a snapshot of the state when it was issued). Settled entries are forgotten; the rest
are replayed, in order, on the next connection. Memory stays bounded: media chunks beyond the
bound are dropped oldest first (and counted); a text turn beyond it is refused. Media already
sent is kept only up to `replay_media_bytes`, newest first: a reconnect never replays more, so a
long call with no answered turn (minutes of streamed silence) holds seconds of audio, not all.
"""

from __future__ import annotations

import bisect
from collections import deque
from dataclasses import dataclass
from typing import Any, Literal

from relive._errors import SessionError

Method = Literal[
    "send_client_content", "send_realtime_input", "send_tool_response", "send_context_update"
]


class BufferFullError(SessionError):
    """The journal holds as many unanswered messages as the policy allows."""


@dataclass
class Entry:
    """One client message: the SDK method to call and its (validated) keyword arguments.

    `ends_turn`: the model answers it with a turn (a complete clientContent, realtime text,
    activityEnd). `media`: an audio/video chunk, which may be dropped when the buffer is full.
    `text`: the user's words, for the transcript and for `GaveUp.undelivered`. `opens_turn`:
    user-only clientContent without turnComplete, i.e. part of a turn still being sent
    (content with model turns in it is history, settled like anything else).
    """

    index: int
    method: Method
    kwargs: dict[str, Any]
    size: int
    ends_turn: bool = False
    media: bool = False
    text: str = ""
    opens_turn: bool = False  # the first part of a user turn sent in parts

    @property
    def kind(self) -> str:
        if self.method == "send_realtime_input":
            return "realtime_input." + next(iter(self.kwargs), "?")
        return self.method.removeprefix("send_")


def _index(entry: Entry) -> int:
    return entry.index


class Journal:
    """Numbered client messages from the oldest unsettled one on."""

    def __init__(
        self, *, max_entries: int, max_bytes: int, replay_media_bytes: int | None = None
    ) -> None:
        self._entries: deque[Entry] = deque()
        self._replay_media_bytes = replay_media_bytes
        self._sent_media: deque[Entry] = deque()  # media sent since the last rewind, in order
        self._sent_media_bytes = 0
        self._bytes = 0
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self.next_index = 1
        self.cursor = 1  # index of the next entry to send on the current connection
        self.settled = 0  # every index <= settled is never sent again
        self.highest_sent = 0  # highest index ever sent on any connection
        self.dropped = 0
        # Turns not answered yet, as (first, last) index: a clientContent turn sent in parts
        # starts at its first part.
        self._pending: deque[tuple[int, int]] = deque()
        self._open_turn: int | None = None  # first part of a clientContent turn not complete

    # -- adding --------------------------------------------------------------------------------

    def append(self, entry_without_index: Entry) -> tuple[Entry, int]:
        """Number and keep an entry; returns it and how many media chunks were dropped for it."""
        entry = entry_without_index
        entry.index = self.next_index
        dropped = 0
        while self._entries and (
            len(self._entries) + 1 > self._max_entries or self._bytes + entry.size > self._max_bytes
        ):
            # A chunk already sent can go first: it was delivered, it just will not be replayed.
            victim = next((e for e in self._entries if e.media and e.index < self.cursor), None)
            if victim is not None:
                self._entries.remove(victim)
                self._bytes -= victim.size
                continue
            victim = next((e for e in self._entries if e.media), None)
            if victim is None:
                if entry.media:  # nothing older to drop: drop the new chunk itself
                    self.dropped += 1
                    return entry, 1
                raise BufferFullError(
                    f"{len(self._entries)} unanswered messages ({self._bytes} bytes) are waiting "
                    "for the server; wait for the session to catch up before sending more"
                )
            self._entries.remove(victim)
            self._bytes -= victim.size
            self.dropped += 1
            dropped += 1
        self.next_index += 1
        self._entries.append(entry)
        self._bytes += entry.size
        if entry.ends_turn:
            first = entry.index
            if entry.method == "send_client_content":
                first = self._open_turn or entry.index
                self._open_turn = None
            self._pending.append((first, entry.index))
        elif entry.opens_turn and self._open_turn is None:
            self._open_turn = entry.index  # a turn in parts: settled only once complete
        return entry, dropped

    # -- sending -------------------------------------------------------------------------------

    def take_next(self) -> Entry | None:
        """The next entry to send on this connection (advances the cursor), or None."""
        entries = self._entries
        if not entries or entries[-1].index < self.cursor:
            return None
        if entries[-1].index == self.cursor:
            entry = entries[-1]  # the usual case: the one just appended (no search)
        else:
            entry = entries[bisect.bisect_left(entries, self.cursor, key=_index)]
        self.cursor = entry.index + 1
        self.highest_sent = max(self.highest_sent, entry.index)
        if entry.media and self._replay_media_bytes is not None:
            self._keep_replayable(entry, self._replay_media_bytes)
        return entry

    def _keep_replayable(self, sent: Entry, budget: int) -> None:
        """Forget sent media beyond what a rewind would replay (oldest first)."""
        self._sent_media.append(sent)
        self._sent_media_bytes += sent.size
        while self._sent_media_bytes > budget:
            old = self._sent_media.popleft()
            self._sent_media_bytes -= old.size
            if old.index <= self.settled:
                continue  # settled since: already forgotten
            entries = self._entries
            if entries and entries[0] is old:  # the usual case: the oldest entry (no search)
                entries.popleft()
                self._bytes -= old.size
                continue
            position = bisect.bisect_left(entries, old.index, key=_index)
            if position < len(entries) and entries[position] is old:
                del entries[position]
                self._bytes -= old.size

    def rewind(self, max_media_bytes: int | None = None) -> list[Entry]:
        """A new connection: send again everything not settled. Returns what will be replayed.

        A tool response is not replayed: the tool call it answered belonged to a generation the
        resumed state does not hold; the model asks again. Media already delivered is replayed
        up to `max_media_bytes`, newest first (what the user said just before the cut); older
        chunks (minutes of silence, say) are forgotten.
        """
        self.cursor = self.settled + 1
        self._sent_media.clear()  # counted again as they are replayed
        self._sent_media_bytes = 0
        stale = [e for e in self._entries if e.method == "send_tool_response"]
        if max_media_bytes is not None:
            budget = max_media_bytes
            for entry in reversed(self._entries):
                if entry.media and entry.index <= self.highest_sent:
                    budget -= entry.size
                    if budget < 0:
                        stale.append(entry)
        for entry in stale:
            self._entries.remove(entry)
            self._bytes -= entry.size
        return [e for e in self._entries if e.index <= self.highest_sent]

    def discard(self, index: int) -> None:
        """Forget an entry the SDK refused to send (it would never be answered)."""
        for entry in self._entries:
            if entry.index == index:
                self._entries.remove(entry)
                self._bytes -= entry.size
                break
        for turn in [t for t in self._pending if t[1] == index]:
            self._pending.remove(turn)

    def last_sent(self) -> int:
        return self.cursor - 1

    # -- settling ------------------------------------------------------------------------------

    @property
    def pending_turns(self) -> int:
        """Turn-ending messages sent and not answered yet."""
        return sum(1 for _, last in self._pending if last < self.cursor)

    @property
    def unanswered_turns(self) -> int:
        """Turn-ending messages not answered yet, sent or still waiting to be sent."""
        return len(self._pending)

    def turn_answered(self, answer_began_after: int | None = None) -> None:
        """The server completed a turn: the oldest sent, unanswered turn is answered.

        `answer_began_after`: the last index sent when the model began this answer. Media sent
        after it (the user speaking again) is not covered by the answer.
        """
        if self._pending and self._pending[0][1] < self.cursor:
            self._pending.popleft()
        self.settle_answered(answer_began_after)

    def settle_answered(self, limit: int | None = None) -> None:
        """Settle everything before the oldest unanswered turn (a turn or a handle came in)."""
        mark = self._pending[0][0] - 1 if self._pending else self.last_sent()
        if self._open_turn is not None:
            mark = min(mark, self._open_turn - 1)
        if limit is not None:
            mark = min(mark, limit)
        self.settle_upto(mark)

    def settle_upto(self, mark: int) -> None:
        mark = min(mark, self.last_sent())
        if mark <= self.settled:
            return
        self.settled = mark
        while self._entries and self._entries[0].index <= mark:
            gone = self._entries.popleft()
            self._bytes -= gone.size
        while self._pending and self._pending[0][1] <= mark:
            self._pending.popleft()
        if self._open_turn is not None and self._open_turn <= mark:
            self._open_turn = None

    # -- reading -------------------------------------------------------------------------------

    def unsettled(self) -> list[Entry]:
        return list(self._entries)

    def unanswered_turn_texts(self) -> list[str]:
        """The user's words of turns not answered yet (sent or waiting)."""
        texts = []
        for first, last in self._pending:
            words = [e.text for e in self._entries if first <= e.index <= last and e.text]
            if words:
                texts.append(" ".join(words))
        return texts

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def bytes(self) -> int:
        return self._bytes
