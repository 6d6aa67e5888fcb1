"""Turns of a Live conversation, assembled from the streamed pieces the server sends.

The Live API never sends a whole turn: the user's words arrive as `inputTranscription` chunks (or
as the text the app sent), the model's as `outputTranscription` chunks (audio) or `modelTurn` text
parts, and `interrupted` / `turnComplete` close a turn. `Transcript` folds those pieces into
`Turn`s in order, marks interrupted turns, and keeps memory bounded by folding the oldest turns
into a summary.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from google.genai import types

from relive.transcript._condense import Condensed, ExtractiveSummarizer, Summarizer

Role = Literal["user", "model"]


@dataclass
class Turn:
    """One turn of the conversation.

    `final` is False while the turn is still streaming. `interrupted` marks a model turn the user
    cut off (barge-in) or that a lost connection cut: its text is what the user actually got.
    """

    role: Role
    text: str = ""
    interrupted: bool = False
    final: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The turn as a JSON-ready dict."""
        return {
            "role": self.role,
            "text": self.text,
            "interrupted": self.interrupted,
            "final": self.final,
        }


@dataclass
class _ModelDraft:
    """The model turn being streamed: transcription wins over text parts when both come."""

    turn: Turn
    transcription: list[str] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)

    def refresh(self) -> None:
        self.turn.text = "".join(self.transcription) if self.transcription else "".join(self.parts)


class Transcript:
    """An ordered, bounded list of turns.

    At most `max_turns` turns are kept verbatim; older ones are folded into `earlier_summary` by the
    summarizer, so a conversation that runs for days keeps a constant footprint.
    """

    def __init__(self, *, max_turns: int = 500, summarizer: Summarizer | None = None) -> None:
        if max_turns < 2:
            raise ValueError(f"max_turns must be at least 2, got {max_turns}")
        self._max_turns = max_turns
        self._summarizer: Summarizer = summarizer or ExtractiveSummarizer()
        self._turns: list[Turn] = []
        self._user: Turn | None = None
        self._model: _ModelDraft | None = None
        self._generated: Turn | None = None  # a model turn whose generation is complete
        self.earlier_summary = ""
        self.earlier_count = 0

    # -- reading ---------------------------------------------------------------------------------

    @property
    def turns(self) -> list[Turn]:
        """The turns kept verbatim, oldest first (a copy)."""
        return list(self._turns)

    def __len__(self) -> int:
        return len(self._turns)

    def last_exchange(self) -> tuple[Turn | None, Turn | None]:
        """The newest model turn and the user turn before it (without copying the list)."""
        model_at = next(
            (i for i in range(len(self._turns) - 1, -1, -1) if self._turns[i].role == "model"),
            None,
        )
        if model_at is None:
            return None, None
        user = next(
            (self._turns[i] for i in range(model_at - 1, -1, -1) if self._turns[i].role == "user"),
            None,
        )
        return user, self._turns[model_at]

    def condensed(self, keep_recent: int = 6) -> Condensed:
        """Older turns folded into a short summary, the last `keep_recent` verbatim.

        A turn still streaming is never folded (nor anything after it): its words are not all
        said yet, so it stays in `recent` whatever `keep_recent` asks.
        """
        if keep_recent < 0:
            raise ValueError(f"keep_recent must be >= 0, got {keep_recent}")
        split = max(0, len(self._turns) - keep_recent)
        streaming = next((i for i, t in enumerate(self._turns) if not t.final), len(self._turns))
        split = min(split, streaming)
        older = self._turns[:split]
        summary = self.earlier_summary
        if older:
            summary = self._summarizer.summarize(older, previous=summary)
        return Condensed(
            summary=summary,
            folded_turns=self.earlier_count + len(older),
            recent=[Turn(t.role, t.text, t.interrupted, t.final) for t in self._turns[split:]],
        )

    def answered_turns(self) -> list[Turn]:
        """The turns up to the newest answered model turn: one that finished, or whose
        generation is complete while its `turnComplete` has yet to come (in AUDIO it trails by
        the playback time). The server holds that answer; a copy of the transcript made for a
        session resumed elsewhere must show it too."""
        turns = self._turns
        for i in range(len(turns) - 1, -1, -1):
            if turns[i].role == "model" and (turns[i].final or turns[i] is self._generated):
                return turns[: i + 1]
        return []

    def to_dicts(self) -> list[dict[str, Any]]:
        """The turns as JSON-ready dicts."""
        return [t.to_dict() for t in self._turns]

    # -- writing ---------------------------------------------------------------------------------

    def add_user_text(self, text: str) -> Turn:
        """A user turn the app sent as text (clientContent or realtimeInput.text)."""
        self._close_user()
        self._close_model(interrupted=False)
        turn = Turn("user", text, final=True)
        self._append(turn)
        return turn

    def on_server_content(self, content: types.LiveServerContent) -> None:
        """Fold one `serverContent` message into the transcript."""
        if content.input_transcription and content.input_transcription.text:
            self._user_piece(content.input_transcription.text)
        if content.input_transcription and content.input_transcription.finished:
            self._close_user()
        if content.output_transcription and content.output_transcription.text:
            self._model_draft().transcription.append(content.output_transcription.text)
            self._model_draft().refresh()
        if content.model_turn and content.model_turn.parts:
            texts = [p.text for p in content.model_turn.parts if p.text and not p.thought]
            if texts:
                self._model_draft().parts.extend(texts)
                self._model_draft().refresh()
        if content.generation_complete and self._model is not None:
            self._generated = self._model.turn
        if content.interrupted:
            self._close_user()
            self._close_model(interrupted=True)
        if content.turn_complete:
            self._close_user()
            self._close_model(interrupted=False)

    def mark_cut(self) -> None:
        """The connection was lost mid-turn: what streamed so far is all the user got."""
        self._close_user()
        self._close_model(interrupted=True)

    def restore(self, turns: Sequence[Turn], *, summary: str = "", folded: int = 0) -> None:
        """Start from a previous transcript (a resumed session opens with its history)."""
        self.clear()
        self.earlier_summary = summary
        self.earlier_count = folded
        for t in turns:
            self._append(Turn(t.role, t.text, t.interrupted, final=True))

    def clear(self) -> None:
        """Forget everything: a new session starts with an empty transcript."""
        self._turns.clear()
        self._user = None
        self._model = None
        self._generated = None
        self.earlier_summary = ""
        self.earlier_count = 0

    # -- internals -------------------------------------------------------------------------------

    def _user_piece(self, text: str) -> None:
        if self._user is None:
            self._close_model(interrupted=False)
            self._user = Turn("user", "")
            self._append(self._user)
        self._user.text += text

    def _model_draft(self) -> _ModelDraft:
        if self._model is None:
            self._close_user()
            turn = Turn("model", "")
            self._model = _ModelDraft(turn)
            self._append(turn)
        return self._model

    def _close_user(self) -> None:
        if self._user is not None:
            self._user.text = self._user.text.strip()
            self._user.final = True
            self._user = None

    def _close_model(self, *, interrupted: bool) -> None:
        if self._model is not None:
            self._model.turn.final = True
            self._model.turn.interrupted = interrupted
            self._model = None

    def _append(self, turn: Turn) -> None:
        self._turns.append(turn)
        excess = len(self._turns) - self._max_turns
        if excess <= 0:
            return
        # Fold the oldest finished turns; a turn still streaming is never folded.
        folded = [t for t in self._turns[:excess] if t.final]
        if not folded:
            return
        self.earlier_summary = self._summarizer.summarize(folded, previous=self.earlier_summary)
        self.earlier_count += len(folded)
        del self._turns[: len(folded)]
