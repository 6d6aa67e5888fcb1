"""Numbered 20 ms PCM chunks, quiet enough that voice-activity detection never fires.

The sequence number rides in the first four samples (one byte each, amplitude <= 255), so
whoever receives a chunk can tell which one it is and whether any went missing or came twice.
"""

from __future__ import annotations

from google.genai import types

SAMPLE_RATE = 16_000
CHUNK_MS = 20
MIME_TYPE = f"audio/pcm;rate={SAMPLE_RATE}"
_SEQ_SAMPLES = 4


def pcm_chunk(seq: int, ms: int = CHUNK_MS, rate: int = SAMPLE_RATE) -> bytes:
    """`ms` of 16-bit little-endian mono PCM carrying `seq` (0 <= seq < 2**32)."""
    if not 0 <= seq < 2**32:
        raise ValueError(f"sequence number out of range: {seq}")
    samples = rate * ms // 1000
    if samples < _SEQ_SAMPLES:
        raise ValueError(f"a {ms} ms chunk at {rate} Hz is too short to carry a number")
    data = bytearray(samples * 2)
    for i, byte in enumerate(seq.to_bytes(4, "little")):
        data[2 * i] = byte
    return bytes(data)


def chunk_seq(data: bytes) -> int | None:
    """The sequence number `pcm_chunk` put in `data`, or None if it is not one of ours."""
    if len(data) < 2 * _SEQ_SAMPLES or any(data[2 * i + 1] for i in range(_SEQ_SAMPLES)):
        return None
    return int.from_bytes(bytes(data[2 * i] for i in range(_SEQ_SAMPLES)), "little")


def audio_blob(seq: int) -> types.Blob:
    return types.Blob(data=pcm_chunk(seq), mime_type=MIME_TYPE)


def delivery(sent: list[int], received: list[int]) -> dict[str, int]:
    """Lost, duplicated and out-of-order chunks between what was sent and what arrived."""
    sent_set = set(sent)
    seen: set[int] = set()
    duplicated = 0
    out_of_order = 0
    last = -1
    for seq in received:
        if seq in seen:
            duplicated += 1
            continue
        seen.add(seq)
        if seq < last:
            out_of_order += 1
        last = max(last, seq)
    return {
        "sent": len(sent),
        "received": len(received),
        "lost": len(sent_set - seen),
        "duplicated": duplicated,
        "out_of_order": out_of_order,
    }
