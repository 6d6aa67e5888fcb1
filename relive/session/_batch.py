"""Optional audio aggregation (`Policy.audio_batch_ms`): small chunks joined before sending.

An app that hands over 10 ms chunks sends 100 messages a second per call; each costs a frame,
a journal entry and the server's per-message work. Joining them up to `batch_ms` of audio cuts
that, at the price of up to `batch_ms` of added latency on the first chunk of a batch (the
driver flushes a batch when it is full, when anything else is sent, and `batch_ms` after it
began). Only plain PCM `types.Blob`s of one mime type are joined; anything else flushes.
"""

from __future__ import annotations

import re

from google.genai import types

_RATE = re.compile(r"rate=(\d+)")


def pcm_rate(mime_type: str) -> int:
    """Samples per second of `audio/pcm[;rate=N]` (16 kHz when not given)."""
    match = _RATE.search(mime_type)
    return int(match.group(1)) if match else 16_000


class AudioBatcher:
    """Joins 16-bit PCM chunks of one mime type into blobs of about `batch_ms`."""

    def __init__(self, batch_ms: int) -> None:
        self.batch_ms = batch_ms
        self._parts: list[bytes] = []
        self._bytes = 0
        self._mime: str | None = None

    @staticmethod
    def joinable(blob: object) -> bool:
        return (
            type(blob) is types.Blob
            and isinstance(blob.data, bytes)
            and (blob.mime_type or "").startswith("audio/pcm")
            and blob.display_name is None
        )

    @property
    def pending(self) -> bool:
        return bool(self._parts)

    def add(self, blob: types.Blob) -> list[types.Blob]:
        """Take a joinable chunk; returns the blobs now ready to send (0, 1 or 2)."""
        assert blob.mime_type is not None and blob.data is not None
        ready = []
        if self._mime is not None and blob.mime_type != self._mime:
            ready += self.flush()
        self._mime = blob.mime_type
        self._parts.append(blob.data)
        self._bytes += len(blob.data)
        if self._bytes >= 2 * pcm_rate(self._mime) * self.batch_ms // 1000:
            ready += self.flush()
        return ready

    def flush(self) -> list[types.Blob]:
        """The batch so far, as one blob (or nothing)."""
        if not self._parts:
            return []
        blob = types.Blob(data=b"".join(self._parts), mime_type=self._mime)
        self._parts, self._bytes, self._mime = [], 0, None
        return [blob]
