"""A page that cannot keep up: audio is dropped first; a JSON overflow closes its socket."""

from __future__ import annotations

from relive.web._outbox import Outbox


def test_audio_is_dropped_when_half_full() -> None:
    box = Outbox(maxsize=4)
    for _ in range(4):
        box.audio(b"\0\0")
    assert box.queue.qsize() == 2
    assert box.audio_dropped == 2
    box.json({"type": "status"})
    assert not box.overflowed.is_set()


def test_json_overflow_drops_the_queue_and_asks_to_close() -> None:
    box = Outbox(maxsize=3)
    for n in range(4):
        box.json({"n": n})
    assert box.overflowed.is_set()
    assert box.queue.qsize() == 1
    assert box.queue.get_nowait() is None  # the sender closes the socket; the page reconnects
    box.json({"n": 5})
    box.audio(b"\0\0")
    assert box.queue.empty()
