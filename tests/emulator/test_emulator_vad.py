"""The emulator's energy VAD: array maths that agree with the definition, sample for sample."""

from __future__ import annotations

import math
import struct

from hypothesis import given
from hypothesis import strategies as st

from relive.emulator._vad import frame_rms


def _reference(data: bytes, rate: int, frame_ms: int) -> list[tuple[float, float]]:
    """RMS per frame, straight from its definition."""
    samples = [s for (s,) in struct.iter_unpack("<h", data[: len(data) - len(data) % 2])]
    step = max(1, rate * frame_ms // 1000)
    out = []
    for i in range(0, len(samples), step):
        frame = samples[i : i + step]
        out.append((math.sqrt(sum(x * x for x in frame) / len(frame)), len(frame) / rate))
    return out


@given(
    samples=st.lists(st.integers(-32768, 32767), max_size=900),
    rate=st.sampled_from([8000, 16000, 24000, 44100]),
    frame_ms=st.sampled_from([5, 10, 20]),
    odd_byte=st.booleans(),
)
def test_frame_rms_matches_the_definition(
    samples: list[int], rate: int, frame_ms: int, odd_byte: bool
) -> None:
    data = struct.pack(f"<{len(samples)}h", *samples) + (b"\x7f" if odd_byte else b"")
    got = frame_rms(data, rate, frame_ms)
    want = _reference(data, rate, frame_ms)
    assert len(got) == len(want)
    for (level, seconds), (want_level, want_seconds) in zip(got, want, strict=True):
        assert math.isclose(level, want_level, rel_tol=1e-9, abs_tol=1e-9)
        assert seconds == want_seconds


def test_frame_rms_of_full_scale_and_silence() -> None:
    loud = struct.pack("<160h", *([-32768] * 160))
    assert frame_rms(loud, 16000) == [(32768.0, 0.01)]
    assert frame_rms(bytes(640), 16000) == [(0.0, 0.01), (0.0, 0.01)]
    assert frame_rms(b"", 16000) == []
