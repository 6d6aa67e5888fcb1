"""The in-flight window follows the measured delay of sends, not the connect time."""

from __future__ import annotations

from google.genai import types

import relive as rs
from relive.emulator import Emulator
from relive.session import _inputs as inputs
from relive.session._machine import SessionMachine
from tests.session.helpers import MODEL
from tests.session.test_machine import DROP, handle, live, make

BLOB = types.Blob(data=b"\0\0" * 320, mime_type="audio/pcm;rate=16000")


def _chunk(m: SessionMachine) -> None:
    m.submit(inputs.realtime_input({"audio": BLOB}))


def test_a_slow_send_widens_the_window_and_its_chunk_is_replayed() -> None:
    m, clock = make(mode="call")
    live(m)
    m.send_delay(1, 0.002)
    _chunk(m)
    early = m.take_next(1)
    clock.advance(0.8)
    _chunk(m)
    m.take_next(1)
    m.send_delay(1, 0.2)  # the machine is loaded: sends now take 200 ms to come back
    clock.advance(0.1)
    # The second chunk was sent 100 ms before the handle: with 2 ms sends it would count as
    # held, with 200 ms ones it may have crossed the handle. The first (900 ms) is held.
    m.server_message(1, handle("h1"))
    m.closed(1, DROP)
    m.opened(2)
    replayed = m.take_next(2)
    assert early is not None and replayed is not None
    assert replayed.index == early.index + 1  # the later chunk again, never the early one
    assert m.take_next(2) is None


def test_a_fixed_margin_ignores_measured_delays() -> None:
    m, clock = make(mode="call", policy=rs.Policy(stable_after=0, in_flight_margin=0.01))
    live(m)
    _chunk(m)
    m.take_next(1)
    m.send_delay(1, 0.5)
    clock.advance(0.05)
    m.server_message(1, handle("h1"))
    m.closed(1, DROP)
    m.opened(2)
    assert m.take_next(2) is None  # settled by the handle: 50 ms > the fixed 10 ms


async def test_the_driver_measures_the_delay_of_its_sends(relive_emulator: Emulator) -> None:
    config = types.LiveConnectConfig(response_modalities=[types.Modality.AUDIO])
    async with rs.connect(relive_emulator.client(), model=MODEL, config=config) as session:
        await session.send_realtime_input(audio=BLOB)  # a ping goes right behind it
        await session.send_realtime_input(text="hello")
        async for event in session.events():  # the pong came back before the answer did
            if isinstance(event, rs.TurnComplete):
                break
        delays = session._machine._conn.send_delays
        assert len(delays) >= 1 and 0 <= delays[0] < 1.0
