"""Numbered PCM chunks and the delivery count between sent and received."""

from __future__ import annotations

import array
import math

import pytest

from relive.bench._audio import audio_blob, chunk_seq, delivery, pcm_chunk


@pytest.mark.parametrize("seq", [0, 1, 255, 256, 65_535, 2**32 - 1])
def test_sequence_numbers_round_trip(seq: int) -> None:
    data = pcm_chunk(seq)
    assert len(data) == 640  # 20 ms at 16 kHz, 16-bit
    assert chunk_seq(data) == seq


def test_chunks_stay_below_voice_activity_threshold() -> None:
    samples = array.array("h", pcm_chunk(2**32 - 1))
    rms = math.sqrt(sum(s * s for s in samples) / len(samples))
    assert rms < 100


def test_foreign_audio_is_not_mistaken_for_ours() -> None:
    assert chunk_seq(b"\x00\x01" * 320) is None
    assert chunk_seq(b"") is None
    with pytest.raises(ValueError):
        pcm_chunk(-1)


def test_blob_has_pcm_mime_type() -> None:
    blob = audio_blob(7)
    assert blob.mime_type == "audio/pcm;rate=16000"
    assert blob.data is not None and chunk_seq(blob.data) == 7


def test_delivery_counts_lost_duplicated_and_reordered() -> None:
    assert delivery([0, 1, 2, 3], [0, 1, 2, 3]) == {
        "sent": 4,
        "received": 4,
        "lost": 0,
        "duplicated": 0,
        "out_of_order": 0,
    }
    result = delivery([0, 1, 2, 3, 4], [0, 2, 1, 2, 4])
    assert result["lost"] == 1  # 3
    assert result["duplicated"] == 1  # the second 2
    assert result["out_of_order"] == 1  # 1 after 2
