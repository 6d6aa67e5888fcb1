"""Handles sealed with AES-GCM before they leave the process, so the store never holds one in clear.

A handle resumes someone's conversation: whoever reads it from a Redis dump or a `MONITOR` could
join that call. Every replica holds the same key ring (a file or an environment variable, one
base64 key per line): the first key seals, every key opens, so a key is rotated by putting the new
one first, rolling the replicas, and dropping the old one after the handle TTL has passed.

The sealed form is `v1.<key id>.<base64url(nonce | ciphertext | tag)>`; the record's store key is
the associated data, so a sealed handle copied to another page's record does not open there.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from relive.store._errors import SealError

KEY_BYTES = 32  # AES-256
_NONCE = 12
ENV_VAR = "RELIVE_SEAL_KEY"


def new_key() -> str:
    """A fresh key, as a key file's line holds it (base64 of 32 random bytes)."""
    return base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()


def _key_id(key: bytes) -> str:
    return hashlib.sha256(b"relive-seal-key-id" + key).hexdigest()[:8]


def _parse_keys(text: str, source: str) -> list[bytes]:
    keys = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            key = base64.b64decode(line, validate=True)
        except ValueError:
            raise SealError(f"{source}, line {n}: not base64") from None
        if len(key) != KEY_BYTES:
            raise SealError(f"{source}, line {n}: a key is {KEY_BYTES} bytes, got {len(key)}")
        keys.append(key)
    if not keys:
        raise SealError(f"{source}: no key (make one with: openssl rand -base64 32)")
    return keys


class Sealer:
    """Seals with the first key of the ring; opens with whichever key sealed."""

    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise SealError("a sealer needs at least one key")
        for key in keys:
            if len(key) != KEY_BYTES:
                raise SealError(f"a key is {KEY_BYTES} bytes, got {len(key)}")
        self._current = _key_id(keys[0])
        self._ring = {_key_id(k): AESGCM(k) for k in keys}

    @classmethod
    def from_text(cls, text: str, source: str = "seal key") -> Sealer:
        """Keys one per line (base64), newest first; blank lines and `#` comments skipped."""
        return cls(_parse_keys(text, source))

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> Sealer:
        """The key ring in a file (what `--seal-key-file` names)."""
        try:
            text = Path(path).read_text()
        except OSError as exc:
            raise SealError(f"cannot read the seal key file {path}: {exc.strerror}") from None
        return cls.from_text(text, str(path))

    @classmethod
    def from_env(cls, var: str = ENV_VAR) -> Sealer | None:
        """The key ring in an environment variable (newlines or commas between keys), if set."""
        text = os.environ.get(var)
        if not text:
            return None
        return cls.from_text(text.replace(",", "\n"), var)

    def seal(self, plain: str, context: str) -> str:
        """`plain` encrypted under the current key, bound to `context` (the record's key)."""
        nonce = os.urandom(_NONCE)
        box = self._ring[self._current].encrypt(nonce, plain.encode(), context.encode())
        return f"v1.{self._current}.{base64.urlsafe_b64encode(nonce + box).decode()}"

    def open(self, sealed: str, context: str) -> str:
        """The plain text, or `SealError` when no key of the ring opens it for `context`."""
        try:
            version, key_id, body = sealed.split(".", 2)
        except ValueError:
            raise SealError("not a sealed value") from None
        aead = self._ring.get(key_id)
        if version != "v1" or aead is None:
            raise SealError("sealed with a key this replica does not hold")
        try:
            raw = base64.urlsafe_b64decode(body)
            return aead.decrypt(raw[:_NONCE], raw[_NONCE:], context.encode()).decode()
        except (ValueError, InvalidTag):
            raise SealError("a sealed value that does not open (tampered, or moved)") from None

    def __repr__(self) -> str:
        return f"Sealer(current={self._current}, keys={len(self._ring)})"
