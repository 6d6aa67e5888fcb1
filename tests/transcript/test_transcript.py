"""Transcript assembly from streamed server content, interruption marks, bounds, condensing."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from google.genai import types

from relive.transcript import Condensed, ExtractiveSummarizer, Transcript, Turn


def content(**kwargs: object) -> types.LiveServerContent:
    return types.LiveServerContent.model_validate(kwargs)


def model_text(text: str) -> types.LiveServerContent:
    return content(model_turn={"parts": [{"text": text}]})


def test_text_turns_stream_in_order() -> None:
    t = Transcript()
    t.add_user_text("hello")
    t.on_server_content(model_text("You said: "))
    t.on_server_content(model_text("hello."))
    assert t.turns[-1] == Turn("model", "You said: hello.", interrupted=False, final=False)
    t.on_server_content(content(generation_complete=True))
    t.on_server_content(content(turn_complete=True))
    assert [x.to_dict() for x in t.turns] == [
        {"role": "user", "text": "hello", "interrupted": False, "final": True},
        {"role": "model", "text": "You said: hello.", "interrupted": False, "final": True},
    ]


def test_audio_turns_come_from_transcriptions() -> None:
    t = Transcript()
    t.on_server_content(content(input_transcription={"text": "what is "}))
    t.on_server_content(content(input_transcription={"text": "up", "finished": True}))
    t.on_server_content(content(output_transcription={"text": "Not "}))
    # Audio parts carry no text; the transcription is the model's words.
    audio = {"inline_data": {"data": b"\0\0", "mime_type": "audio/pcm"}}
    t.on_server_content(content(model_turn={"parts": [audio]}))
    t.on_server_content(content(output_transcription={"text": "much."}))
    t.on_server_content(content(turn_complete=True))
    assert [(x.role, x.text, x.final) for x in t.turns] == [
        ("user", "what is up", True),
        ("model", "Not much.", True),
    ]


def test_transcription_wins_over_text_parts() -> None:
    t = Transcript()
    t.on_server_content(model_text("draft"))
    t.on_server_content(content(output_transcription={"text": "spoken"}))
    assert t.turns[-1].text == "spoken"


def test_thought_parts_are_not_shown() -> None:
    t = Transcript()
    t.on_server_content(content(model_turn={"parts": [{"text": "hmm", "thought": True}]}))
    t.on_server_content(model_text("answer"))
    assert t.turns[-1].text == "answer"


def test_barge_in_marks_the_model_turn_interrupted() -> None:
    t = Transcript()
    t.add_user_text("tell me a story")
    t.on_server_content(model_text("Once upon"))
    t.on_server_content(content(interrupted=True))
    t.on_server_content(content(turn_complete=True))
    t.add_user_text("stop")
    assert [(x.role, x.text, x.interrupted) for x in t.turns] == [
        ("user", "tell me a story", False),
        ("model", "Once upon", True),
        ("user", "stop", False),
    ]


def test_a_cut_connection_marks_the_streaming_turn() -> None:
    t = Transcript()
    t.add_user_text("hi")
    t.on_server_content(model_text("Hel"))
    t.mark_cut()
    assert t.turns[-1].interrupted and t.turns[-1].final
    t.on_server_content(model_text("Hello again"))
    assert t.turns[-1].text == "Hello again" and not t.turns[-1].final


def test_memory_is_bounded_by_folding_old_turns() -> None:
    t = Transcript(max_turns=10, summarizer=ExtractiveSummarizer(max_topics=3, words=2))
    for i in range(50):
        t.add_user_text(f"question {i} about things")
        t.on_server_content(model_text(f"answer {i}"))
        t.on_server_content(content(turn_complete=True))
    assert len(t) == 10
    assert t.earlier_count == 90
    assert t.earlier_summary == "question 42…; question 43…; question 44…"
    assert t.turns[0].text == "question 45 about things"


def test_condensed_folds_older_turns_and_keeps_recent_verbatim() -> None:
    t = Transcript()
    for i in range(5):
        t.add_user_text(f"topic {i}")
        t.on_server_content(model_text(f"reply {i}"))
        t.on_server_content(content(turn_complete=True))
    c = t.condensed(keep_recent=2)
    assert c.folded_turns == 8
    assert c.summary == "topic 0; topic 1; topic 2; topic 3"
    assert [x.text for x in c.recent] == ["topic 4", "reply 4"]
    assert c.render().splitlines()[0] == "Earlier (8 turns): topic 0; topic 1; topic 2; topic 3"
    # Condensing does not change the transcript itself.
    assert len(t) == 10


def test_pluggable_summarizer() -> None:
    class Counting:
        def summarize(self, turns: Sequence[Turn], *, previous: str) -> str:
            return f"{len(turns)} turns"

    t = Transcript(summarizer=Counting())
    for i in range(4):
        t.add_user_text(str(i))
    assert t.condensed(keep_recent=1).summary == "3 turns"


def test_restore_and_clear() -> None:
    t = Transcript()
    t.restore([Turn("user", "a"), Turn("model", "b", interrupted=True)], summary="x", folded=4)
    assert [x.final for x in t.turns] == [True, True]
    assert t.condensed(keep_recent=5) == Condensed(summary="x", folded_turns=4, recent=t.turns)
    t.clear()
    assert t.turns == [] and t.earlier_summary == "" and t.earlier_count == 0


@pytest.mark.parametrize("bad", [0, 1])
def test_bad_bounds_are_refused(bad: int) -> None:
    with pytest.raises(ValueError, match="max_turns"):
        Transcript(max_turns=bad)
    with pytest.raises(ValueError, match="keep_recent"):
        Transcript().condensed(keep_recent=-1)


def test_last_exchange() -> None:
    t = Transcript()
    assert t.last_exchange() == (None, None)
    t.add_user_text("q1")
    t.on_server_content(model_text("a1"))
    t.on_server_content(content(turn_complete=True))
    t.add_user_text("q2")  # not answered yet
    user, model = t.last_exchange()
    assert user is not None and model is not None
    assert (user.text, model.text) == ("q1", "a1")


def test_a_semicolon_in_user_text_stays_one_topic() -> None:
    """Topics are joined with "; ": one typed by the user must not split its topic in two."""
    s = ExtractiveSummarizer(max_topics=2)
    first = s.summarize([Turn("user", "red; blue", final=True)], previous="")
    assert first == "red, blue"
    assert s.summarize([Turn("user", "green", final=True)], previous=first) == "red, blue; green"
    t = Transcript(max_turns=2, summarizer=ExtractiveSummarizer(max_topics=2))
    for text in ("a; b", "c", "d", "e"):
        t.add_user_text(text)
    assert t.earlier_summary == "a, b; c"  # "a; b" is one topic, kept whole, then dropped whole
    t.add_user_text("f")
    assert t.earlier_summary == "c; d"


@pytest.mark.parametrize("keep_recent", [0, 1, 2, 3])
def test_a_turn_still_streaming_is_never_folded(keep_recent: int) -> None:
    seen: list[Turn] = []

    class Recording:
        def summarize(self, turns: Sequence[Turn], *, previous: str) -> str:
            seen.extend(turns)
            return f"{len(seen)} folded"

    t = Transcript(max_turns=2, summarizer=Recording())
    for i in range(3):
        t.add_user_text(f"q{i}")
        t.on_server_content(model_text(f"a{i}"))
        t.on_server_content(content(turn_complete=True))
    t.add_user_text("q3")
    t.on_server_content(model_text("still "))  # the model is mid-reply
    c = t.condensed(keep_recent=keep_recent)
    assert c.recent and c.recent[-1].text == "still " and not c.recent[-1].final
    assert all(turn.final for turn in seen), "a streaming turn went into the summary"
    t.on_server_content(model_text("talking"))
    assert t.turns[-1].text == "still talking"  # the streaming turn is whole and still growing
    assert len(t) == 2 and t.earlier_count == 6


def test_answered_turns_end_at_the_newest_answer() -> None:
    t = Transcript()
    assert t.answered_turns() == []
    t.add_user_text("one")
    t.on_server_content(model_text("first"))
    t.on_server_content(content(turn_complete=True))
    t.add_user_text("two")
    t.on_server_content(model_text("second"))
    assert [x.text for x in t.answered_turns()] == ["one", "first"]  # "second" still generating
    # Generation complete: the server holds the answer, though turnComplete trails (AUDIO plays).
    t.on_server_content(content(generation_complete=True))
    assert [x.text for x in t.answered_turns()] == ["one", "first", "two", "second"]
    assert not t.turns[-1].final
    t.on_server_content(content(turn_complete=True))
    t.add_user_text("three, not answered")
    assert [x.text for x in t.answered_turns()] == ["one", "first", "two", "second"]
    t.clear()
    assert t.answered_turns() == []
