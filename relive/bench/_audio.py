"""Numbered 20 ms PCM chunks, quiet enough that voice-activity detection never fires (or, asked
for, loud enough that it does: a spoken turn).

The sequence number rides in the first four samples (one byte each, amplitude <= 255), so
whoever receives a chunk can tell which one it is and whether any went missing or came twice.
"""

from __future__ import annotations

from google.genai import types

SAMPLE_RATE = 16_000
CHUNK_MS = 20
MIME_TYPE = f"audio/pcm;rate={SAMPLE_RATE}"
_SEQ_SAMPLES = 4
# 1 s of a square wave at +-3000 (RMS 3000; the emulator hears speech above 500).
_VOICE = b"".join(
    (3000 if (i // 8) % 2 else -3000).to_bytes(2, "little", signed=True) for i in range(SAMPLE_RATE)
)


def pcm_chunk(
    seq: int, ms: int = CHUNK_MS, rate: int = SAMPLE_RATE, *, voiced: bool = False
) -> bytes:
    """`ms` of 16-bit little-endian mono PCM carrying `seq` (0 <= seq < 2**32); `voiced`: the
    samples after the number are a loud square wave, which voice-activity detection takes for
    speech."""
    if not 0 <= seq < 2**32:
        raise ValueError(f"sequence number out of range: {seq}")
    samples = rate * ms // 1000
    if samples < _SEQ_SAMPLES:
        raise ValueError(f"a {ms} ms chunk at {rate} Hz is too short to carry a number")
    data = bytearray(_VOICE[: samples * 2] if voiced else samples * 2)
    if len(data) < samples * 2:
        data += bytes(samples * 2 - len(data))
    data[: 2 * _SEQ_SAMPLES] = bytes(2 * _SEQ_SAMPLES)
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
