"""Exchanges the server answered that no resumable handle holds yet.

A handle is a snapshot. A connection that ends after an answer and before the next resumable
handle resumes into a state without that exchange. Sending the user's turn again would have it
answered twice; sending nothing would have the model forget it. `RestoreLog` keeps those
exchanges and hands them out as history (`[user, model]` contents, sent without turnComplete)
for the first thing to send on a resumed connection, until a handle provably holds them.

It also carries the seed of a new session started because resumption kept being refused: the
condensed transcript, sent as history first thing on the fresh connection.
"""

from __future__ import annotations

from collections import deque

from google.genai import types

from relive.transcript import Condensed, Transcript, Turn

# At most this many answered exchanges are kept (normally 0 or 1 are waiting).
MAX_RESTORED_EXCHANGES = 16
# A seeded new session gets this many recent turns verbatim; older ones only as a summary.
SEED_TURNS = 50
# Stands for the user's words when a spoken turn came without an input transcription.
UNTRANSCRIBED = "[the user spoke]"


class RestoreLog:
    """Which answered exchanges the newest handle lacks, and when to send them back."""

    def __init__(
        self,
        uncovered: deque[tuple[str, str]] | None = None,
        max_exchanges: int = MAX_RESTORED_EXCHANGES,
    ) -> None:
        # (user words, model words) of answered exchanges the newest handle lacks. The deque is
        # kept with the handle (`HandleStore.exchanges`): a later session, maybe in another
        # process, that resumes that handle restores them.
        self.uncovered: deque[tuple[str, str]] = (
            uncovered if uncovered is not None else deque(maxlen=max_exchanges)
        )
        self._due: tuple[int, list[types.Content]] | None = None
        self._seed: list[types.Content] = []
        self._unproven = False  # history sent on this connection, not yet provably taken in
        self._last_noted: Turn | None = None

    def __len__(self) -> int:
        return len(self.uncovered)

    def answered(self, transcript: Transcript) -> None:
        """The model answered: its last model turn and the user turn before it are one exchange."""
        user, model = transcript.last_exchange()
        if model is None or model is self._last_noted:
            return  # no words from the model this turn (a tool call, say)
        self._last_noted = model
        self.uncovered.append(((user.text if user else "") or UNTRANSCRIBED, model.text))

    def server_progressed(self) -> None:
        """An answer or a turn's end came on this connection: the server is past everything
        sent before it, so history sent on it is in the server's state."""
        self._unproven = False

    def handle_issued(self) -> None:
        """A resumable handle came: it holds every exchange, unless history is still unproven."""
        if not self._unproven:
            self.uncovered.clear()

    @property
    def seed_pending(self) -> bool:
        """A seed waits for the next fresh connection."""
        return bool(self._seed)

    def seed(self, condensed: Condensed, *, unanswered: list[str]) -> None:
        """Send `condensed` as history first thing on the next fresh connection.

        User turns in `unanswered` (matched from the newest) are left out with the model's
        cut answer to them: the journal sends them again, to be answered whole.
        """
        recent = list(condensed.recent)
        pending = list(unanswered)
        left_out: set[int] = set()
        for i in range(len(recent) - 1, -1, -1):
            if recent[i].role == "user" and recent[i].text in pending:
                pending.remove(recent[i].text)
                left_out.add(i)
                j = i + 1
                while j < len(recent) and recent[j].role == "model":
                    left_out.add(j)  # part of an answer the replay will give again
                    j += 1
        recent = [t for i, t in enumerate(recent) if i not in left_out]
        contents = []
        if condensed.summary:
            earlier = f"(Earlier in this conversation: {condensed.summary})"
            contents.append(types.Content(role="user", parts=[types.Part(text=earlier)]))
        for turn in recent:
            if turn.text:
                role = "model" if turn.role == "model" else "user"
                contents.append(types.Content(role=role, parts=[types.Part(text=turn.text)]))
        self.clear()
        self._seed = contents

    def opened(self, conn_id: int, *, resumed: bool, history_allowed: bool = True) -> int:
        """A connection came up; returns how many exchanges are due on it.

        `history_allowed`: the model takes history on a resumed connection (not 3.x, which
        refuses `clientContent` mid-session; there the exchanges are not restored).
        """
        self._due = None
        self._unproven = False
        if not resumed:
            self.uncovered.clear()  # a new conversation holds none of the old one
            if self._seed:
                self._due, self._seed = (conn_id, self._seed), []
            return 0
        if self.uncovered and history_allowed:
            self._due = (conn_id, self._contents(self.uncovered))
            self._unproven = True
            return len(self.uncovered)
        return 0

    def clear(self) -> None:
        self.uncovered.clear()
        self._due = None
        self._seed = []
        self._unproven = False

    def take(self, conn_id: int) -> list[types.Content]:
        """The history to send first on connection `conn_id` (once), or nothing."""
        if self._due is None or self._due[0] != conn_id:
            return []
        contents, self._due = self._due[1], None
        return contents

    @staticmethod
    def _contents(exchanges: deque[tuple[str, str]]) -> list[types.Content]:
        contents: list[types.Content] = []
        for user, model in exchanges:
            contents.append(types.Content(role="user", parts=[types.Part(text=user)]))
            contents.append(types.Content(role="model", parts=[types.Part(text=model)]))
        return contents
