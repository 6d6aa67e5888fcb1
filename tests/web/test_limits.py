"""Rate and size limits of a page socket, and parsing of the page's messages."""

from __future__ import annotations

import json

import pytest

from relive import ManualClock
from relive.web import Limits
from relive.web import _incoming as incoming
from relive.web._limits import SocketLimiter, TokenBucket
from relive.web._protocol import ProtocolError


def test_token_bucket_refills_at_its_rate() -> None:
    clock = ManualClock()
    bucket = TokenBucket(clock, rate=2.0, burst=3)
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    clock.advance(0.5)
    assert bucket.take()
    assert not bucket.take()
    clock.advance(100)
    assert sum(bucket.take() for _ in range(10)) == 3  # never more than the burst


def test_limiter_counts_violations_until_exhausted() -> None:
    clock = ManualClock()
    limiter = SocketLimiter(clock, Limits(messages_per_s=1, messages_burst=1, max_violations=3))
    assert limiter.allow_message()
    assert not limiter.allow_message()
    assert not limiter.allow_message()
    assert not limiter.exhausted
    limiter.refused()
    assert limiter.exhausted


def test_audio_and_messages_have_separate_buckets() -> None:
    clock = ManualClock()
    limiter = SocketLimiter(clock, Limits(messages_per_s=1, messages_burst=1))
    assert limiter.allow_message()
    assert not limiter.allow_message()
    assert limiter.allow_audio()


def test_a_resend_of_ten_seconds_of_audio_passes_but_a_flood_does_not() -> None:
    clock = ManualClock()
    limiter = SocketLimiter(clock, Limits())
    # After a reconnect the page sends again up to 10 s it kept: 500 chunks of 20 ms at once.
    assert all(limiter.allow_audio(0.02) for _ in range(500))
    clock.advance(10)  # then real time for 10 s: 50 chunks a second
    for _ in range(10 * 50):
        clock.advance(0.02)
        assert limiter.allow_audio(0.02)
    # A page sending 1 s chunks as fast as it can runs out of audio time, not chunks.
    clock.advance(10)
    assert sum(limiter.allow_audio(1.0) for _ in range(30)) == 12
    assert limiter.violations == 18


LIMITS = Limits(max_json_bytes=200, max_text_chars=20, max_audio_bytes=64)


def test_parse_each_message() -> None:
    page = "0123456789abcdef" * 2
    assert incoming.parse(json.dumps({"type": "hello", "page": page}), LIMITS) == incoming.Hello(
        page, None
    )
    assert incoming.parse('{"type": "start", "mode": "call"}', LIMITS) == incoming.Start("call")
    assert incoming.parse('{"type": "text", "text": " hi "}', LIMITS) == incoming.Text("hi")
    assert incoming.parse('{"type": "mute", "muted": true}', LIMITS) == incoming.Mute(True)
    assert incoming.parse('{"type": "hangup"}', LIMITS) == incoming.Hangup()


@pytest.mark.parametrize(
    ("raw", "code", "words"),
    [
        ("not json", "bad_request", "not valid JSON"),
        ("[1]", "bad_request", "JSON object"),
        ('{"type": "nope"}', "bad_request", "unknown message type"),
        ('{"type": "hello", "page": "short"}', "bad_request", "page id"),
        ('{"type": "hello", "page": "' + "G" * 32 + '"}', "bad_request", "page id"),
        ('{"type": "text", "text": "   "}', "bad_request", "non-empty"),
        ('{"type": "text", "text": "' + "x" * 21 + '"}', "too_large", "limit 20 characters"),
        ('{"type": "text", "text": "' + "x" * 300 + '"}', "too_large", "limit 200 bytes"),
        ('{"type": "mute", "muted": "yes"}', "bad_request", "boolean"),
        ('{"type": "start", "mode": "video"}', "bad_request", "call"),
    ],
)
def test_bad_messages_get_a_clear_error(raw: str, code: str, words: str) -> None:
    with pytest.raises(ProtocolError) as info:
        incoming.parse(raw, LIMITS)
    assert info.value.code == code
    assert words in info.value.message
    assert info.value.to_json()["type"] == "error"


def test_audio_frames_are_checked() -> None:
    incoming.check_audio(b"\0" * 64, LIMITS)
    with pytest.raises(ProtocolError, match="too large"):
        incoming.check_audio(b"\0" * 66, LIMITS)
    with pytest.raises(ProtocolError, match="16-bit"):
        incoming.check_audio(b"\0" * 3, LIMITS)
