"""Model audio made while the page's socket is down: kept (bounded), then played or dropped by the
rule in relive/web/_away.py. The rule's logic over a manual clock, then the real backend and
emulator with a plain WebSocket client that leaves mid-call and comes back.
"""

from __future__ import annotations

import asyncio
import json
import math
import secrets
import struct
from collections.abc import Callable

from websockets.asyncio.client import ClientConnection, connect

from relive import ManualClock
from relive.web import WebBackend, WebSettings, create_app, serve
from relive.web._away import FRAME_BYTES, AwayAudio
from relive.web._bridge import PageSessions
from tests.web.conftest import Stack
from tests.web.test_socket import hello, next_json

SECOND = 48_000  # bytes of 24 kHz PCM16


def test_kept_audio_is_bounded_and_the_oldest_goes_first() -> None:
    away = AwayAudio(ManualClock(), max_bytes=3 * SECOND)
    for n in range(5):
        away.keep(bytes([n]) * SECOND)
    assert len(away) == 3 * SECOND and away.counts.dropped_full == 2 * SECOND
    played = b"".join(away.take())
    assert played == b"\2" * SECOND + b"\3" * SECOND + b"\4" * SECOND
    assert len(away) == 0 and away.take() == []


def test_audio_older_than_max_age_is_dropped_when_the_page_comes_back() -> None:
    clock = ManualClock()
    away = AwayAudio(clock, max_age=10.0)
    away.keep(b"old!" * 100)
    clock.advance(6.0)
    away.keep(b"new!" * 100)
    clock.advance(5.0)  # the first is 11 s old, the second 5 s
    assert b"".join(away.take()) == b"new!" * 100
    assert away.counts.dropped_stale == 400 and away.counts.replayed == 400


def test_replayed_audio_comes_in_frames_of_at_most_32_kib() -> None:
    away = AwayAudio(ManualClock())
    for _ in range(100):
        away.keep(b"\0" * 1920)  # 40 ms chunks
    frames = away.take()
    assert all(len(f) <= FRAME_BYTES for f in frames) and len(frames) == 6
    assert sum(map(len, frames)) == 192_000


def test_a_barge_in_empties_it() -> None:
    away = AwayAudio(ManualClock())
    away.keep(b"\0" * 100)
    away.clear()
    assert away.take() == [] and away.counts.dropped_cleared == 100


def utterance() -> list[bytes]:
    """0.4 s of a loud 16 kHz tone, then 0.6 s of silence, in 40 ms chunks (the VAD's one turn)."""
    tone = [int(8000 * math.sin(2 * math.pi * 220 * i / 16_000)) for i in range(6400)]
    pcm = struct.pack(f"<{len(tone)}h", *tone) + b"\0" * 19_200
    return [pcm[i : i + 1280] for i in range(0, len(pcm), 1280)]


async def until(check: Callable[[], bool]) -> None:
    """Wait for a state the backend reaches with no socket to tell (polled, bounded)."""
    async with asyncio.timeout(10):
        while not check():  # noqa: ASYNC110  # nothing to await: the page is away on purpose
            await asyncio.sleep(0.01)


async def audio_until_history(ws: ClientConnection) -> bytes:
    """Binary frames up to the answer to a `history` request (the outbox keeps order)."""
    await ws.send(json.dumps({"type": "history", "mode": "call"}))
    got = b""
    async with asyncio.timeout(5):
        while True:
            frame = await ws.recv()
            if isinstance(frame, bytes):
                got += frame
            elif json.loads(frame)["type"] == "history":
                return got


async def test_a_page_back_in_time_hears_what_it_missed_and_one_back_late_does_not(
    stack: Stack,
) -> None:
    clock = ManualClock()
    backend = WebBackend(stack.backend.opener, WebSettings(), clock=clock)
    async with serve(create_app(backend)) as url:
        ws_url, page = url.replace("http", "ws") + "/ws", secrets.token_hex(16)
        ws = await connect(ws_url, origin=url)  # type: ignore[arg-type]
        secret = (await hello(ws, page))["secret"]
        await ws.send(json.dumps({"type": "start", "mode": "call"}))
        while (await next_json(ws, "status"))["status"] != "live":
            pass
        entry = backend._registry.get(page)
        assert entry is not None
        state: PageSessions = entry.state

        for turn, away_for, heard in [(1, 2.0, True), (2, 11.0, False)]:
            for chunk in utterance():
                await ws.send(chunk)
            await ws.close()  # gone before the model answers
            await stack.emulator.wait_for(lambda s: s.turns_completed >= turn)  # noqa: B023
            call = state.sessions["call"].session
            assert call is not None
            transcript = call.transcript

            def answered(n: int = turn) -> bool:
                return sum(t.final for t in transcript.turns if t.role == "model") >= n  # noqa: B023

            await until(answered)
            kept = len(state.away)
            assert kept > 0  # the reply's audio, made while no socket was there
            clock.advance(away_for)
            ws = await connect(ws_url, origin=url)  # type: ignore[arg-type]
            await hello(ws, page, secret)
            played = await audio_until_history(ws)
            if heard:
                assert len(played) == kept  # every byte, right after the snapshot
            else:
                assert played == b"" and state.away.counts.dropped_stale == kept
        await ws.close()
        await backend.close()
