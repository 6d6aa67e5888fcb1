"""The chat's resend lane: messages a page sends again after a move go to the model in turn.

After a move the page sends again, back to back, every chat message no stored record covers.
Sent so, each would cut off the model's answer to the one before (as a user who barges in does),
and the page, which may have shown those answers, would lose them. So each waits for the answer
to the one before it (and a message typed meanwhile waits behind them), but not forever: a model
that never ends an answer (it stalls, or waits on a tool call nobody answers) would hold every
waiting message until the session ends, lost to the user without a word. Once the model has
said nothing for `ANSWER_WAIT` seconds since a message came into the lane, that message goes
anyway: the model then has it (the page shows it, and keeps it until an answer covers it), where
one held back would be lost; at worst it cuts off an answer that was not coming.

This module is the rule only (no I/O, time from a `Clock`); `ModeSession` drives it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from relive._clock import Clock

ANSWER_WAIT = 20.0
"""Seconds of model silence a chat message sent again waits for the answer to the one before
it. A model answering says something within a few seconds (a long answer streams on, and each
part restarts the wait); this long with nothing is a model that is not answering, and about as
long as a user waits for a sent message to show an answer before giving up on it."""


@dataclass(frozen=True)
class Waiting:
    """A chat message in the lane: its text, the page's number of it, when it came in."""

    text: str
    seq: int | None
    since: float


class ResendLane:
    """The messages waiting their turn, oldest first, and when the first may go unanswered."""

    def __init__(self, clock: Clock, wait: float = ANSWER_WAIT) -> None:
        if wait <= 0:
            raise ValueError(f"the answer wait must be positive, not {wait}")
        self.clock = clock
        self.wait = wait
        self._waiting: deque[Waiting] = deque()
        self._heard = float("-inf")  # when the model last said something

    def __len__(self) -> int:
        return len(self._waiting)

    def add(self, text: str, seq: int | None) -> None:
        """A message to send once the one before it is answered (or its wait is over)."""
        self._waiting.append(Waiting(text, seq, self.clock.now()))

    def heard(self) -> None:
        """The model said something: an answer is under way, so the wait starts again."""
        self._heard = self.clock.now()

    def due_in(self) -> float:
        """Seconds until the first waiting message goes even if the answer before it has not
        come (0: it may go now). The lane must not be empty."""
        first = self._waiting[0]
        return max(0.0, max(first.since, self._heard) + self.wait - self.clock.now())

    def take(self) -> Waiting:
        """The first waiting message, out of the lane (to be sent now)."""
        return self._waiting.popleft()
