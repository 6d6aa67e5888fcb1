"""The journal keeps only what a reconnect can replay: memory bounded however long the call."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from relive.session._journal import Entry, Journal

CHUNK = 640  # 20 ms of 16 kHz PCM


def _chunk() -> Entry:
    return Entry(index=0, method="send_realtime_input", kwargs={}, size=CHUNK, media=True)


def _text(words: str) -> Entry:
    return Entry(
        index=0, method="send_realtime_input", kwargs={}, size=16, ends_turn=True, text=words
    )


def test_a_silent_100_s_call_keeps_only_the_replayable_audio() -> None:
    budget = 320_000
    journal = Journal(max_entries=5000, max_bytes=16 * 1024 * 1024, replay_media_bytes=budget)
    for _ in range(5000):  # 100 s of 20 ms chunks, no turn ever answered
        journal.append(_chunk())
        assert journal.take_next() is not None
    assert journal.bytes <= budget
    assert len(journal) == budget // CHUNK
    assert journal.dropped == 0  # trimmed as delivered and not replayable: not "dropped"
    replay = journal.rewind(budget)
    assert [e.index for e in replay] == list(range(5000 - budget // CHUNK + 1, 5001))


@given(
    script=st.lists(
        st.sampled_from(["chunk", "chunk", "chunk", "text", "send", "send", "answer", "rewind"]),
        max_size=300,
    ),
    budget_chunks=st.integers(1, 40),
)
def test_trimming_never_changes_what_a_rewind_replays(
    script: list[str], budget_chunks: int
) -> None:
    """Against a journal that keeps everything, every rewind replays the same entries."""
    budget = budget_chunks * CHUNK
    trimmed = Journal(max_entries=10_000, max_bytes=1 << 30, replay_media_bytes=budget)
    full = Journal(max_entries=10_000, max_bytes=1 << 30)
    for step in script:
        for journal in (trimmed, full):
            if step == "chunk":
                journal.append(_chunk())
            elif step == "text":
                journal.append(_text("hello"))
            elif step == "send":
                while journal.take_next() is not None:
                    pass
            elif step == "answer":
                journal.turn_answered()
        if step == "rewind":
            assert [e.index for e in trimmed.rewind(budget)] == [
                e.index for e in full.rewind(budget)
            ]
        assert trimmed.unanswered_turn_texts() == full.unanswered_turn_texts()
        sent_media = [e for e in trimmed.unsettled() if e.media and e.index < trimmed.cursor]
        assert sum(e.size for e in sent_media) <= budget
