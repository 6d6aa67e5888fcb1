"""What replicas share about a page: who it is (its secret, as a hash) and, per mode, the newest
resumable handle and its transcript (both sealed). Any replica can then check a returning page
and resume its session.

Store keys never hold a page id (only its digest), values never hold a handle in clear (sealed,
`_seal.py`) nor a page secret (its SHA-256: the secret is 32 random bytes, nothing to brute-force).
A page's record lives `page_ttl` seconds after its last touch; a handle lives `handle_ttl`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from relive.store._errors import SealError
from relive.store._kv import KeyValue

if TYPE_CHECKING:  # the sealer needs `cryptography` (relive[serve]); the memory store does not
    from relive.store._seal import Sealer

log = logging.getLogger("relive.store")

HANDLE_TTL = 2 * 3600.0  # a Live resumption handle is accepted up to 2 h after its session ends


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class PageCheck:
    """What the store says of a page id and the secret a hello brought."""

    known: bool  # some replica made this page (and it has not expired)
    allowed: bool  # the secret matches (False for an unknown page)


class SharedState:
    """Pages and handles in a `KeyValue`, checked and sealed on the way in and out."""

    def __init__(
        self,
        kv: KeyValue,
        sealer: Sealer | None,
        *,
        page_ttl: float,
        handle_ttl: float = HANDLE_TTL,
    ) -> None:
        if page_ttl <= 0 or handle_ttl <= 0:
            raise ValueError("page_ttl and handle_ttl must be positive")
        self.kv = kv
        self.kind = type(kv).__name__.removesuffix("KV").lower()  # memory, redis, fallback
        self._sealer = sealer
        self.page_ttl = page_ttl
        self.handle_ttl = handle_ttl

    # -- pages -----------------------------------------------------------------------------------

    async def remember_page(self, page_id: str, secret: str) -> None:
        """A new page: keep the hash of its secret for `page_ttl`."""
        await self.kv.put(f"page:{_digest(page_id)}", _digest(secret), self.page_ttl)

    async def check_page(self, page_id: str, secret: str | None) -> PageCheck:
        """Whether some replica knows `page_id`, and whether `secret` is its secret."""
        stored = await self.kv.get(f"page:{_digest(page_id)}")
        if stored is None:
            return PageCheck(known=False, allowed=False)
        ok = secret is not None and hmac.compare_digest(stored, _digest(secret))
        return PageCheck(known=True, allowed=ok)

    async def touch_page(self, page_id: str, secret: str) -> None:
        """The page is still around: its record lives another `page_ttl`."""
        await self.remember_page(page_id, secret)

    async def forget_page(self, page_id: str) -> None:
        await self.kv.delete(f"page:{_digest(page_id)}")

    # -- which replica holds a page (`relive/web/_lease.py`) -------------------------------------

    async def claim_page(self, page_id: str, replica: str) -> str | None:
        """`replica` holds the page now; returns the replica that held it, if any."""
        key = _digest(page_id)
        before = await self.kv.get(f"owner:{key}")
        if before != replica:
            await self.kv.delete(f"released:{key}")  # a mark from an older hand-off is void
        await self.kv.put(f"owner:{key}", replica, self.page_ttl)
        return before

    async def page_owner(self, page_id: str) -> str | None:
        return await self.kv.get(f"owner:{_digest(page_id)}")

    async def release_page(self, page_id: str, replica: str) -> None:
        """`replica` gave the page up: its handles are in the store."""
        await self.kv.put(f"released:{_digest(page_id)}", replica, self.page_ttl)

    async def released(self, page_id: str, replica: str) -> bool:
        return await self.kv.get(f"released:{_digest(page_id)}") == replica

    async def beat(self, replica: str, ttl: float) -> None:
        """`replica` is alive for `ttl` seconds more."""
        await self.kv.put(f"replica:{replica}", "1", ttl)

    async def forget_beat(self, replica: str) -> None:
        await self.kv.delete(f"replica:{replica}")

    async def alive(self, replica: str) -> bool:
        return await self.kv.get(f"replica:{replica}") is not None

    # -- handles and their transcripts ----------------------------------------------------------

    @staticmethod
    def _key(kind: str, owner: str, mode: str) -> str:
        return f"{kind}:{_digest(owner)}:{mode}"

    async def _put_sealed(self, key: str, plain: str) -> None:
        if self._sealer is not None:  # without a key nothing sealed leaves the process
            await self.kv.put(key, self._sealer.seal(plain, key), self.handle_ttl)

    async def _get_sealed(self, key: str) -> str | None:
        sealed = await self.kv.get(key) if self._sealer is not None else None
        if sealed is None or self._sealer is None:
            return None
        try:
            return self._sealer.open(sealed, key)
        except SealError as exc:
            log.warning("a stored %s was dropped: %s", key.split(":")[0], exc)
            return None

    async def put_handle(self, owner: str, mode: str, handle: str, note: str = "") -> None:
        """Keep the newest resumable handle of (owner, mode) and what goes with it (`note`: the
        conversation's transcript, the exchanges the handle lacks, the input it covers), sealed
        together in one record, so a reader never gets a handle with another one's note."""
        record = json.dumps({"handle": handle, "note": note})
        await self._put_sealed(self._key("handle", owner, mode), record)

    async def get_record(self, owner: str, mode: str) -> tuple[str, str] | None:
        """The newest stored (handle, note) of (owner, mode), or None (none, expired or
        unopenable)."""
        plain = await self._get_sealed(self._key("handle", owner, mode))
        if plain is None:
            return None
        try:
            record = json.loads(plain)
            return str(record["handle"]), str(record["note"])
        except (ValueError, KeyError, TypeError):
            log.warning("a stored handle was dropped: not a handle record")
            return None

    async def get_handle(self, owner: str, mode: str) -> str | None:
        """The newest stored handle of (owner, mode), or None (none, expired, or unopenable)."""
        record = await self.get_record(owner, mode)
        return record[0] if record else None

    async def forget_handle(self, owner: str, mode: str) -> None:
        """Drop the handle of (owner, mode) and what went with it."""
        await self.kv.delete(self._key("handle", owner, mode))

    @property
    def durable(self) -> bool:
        """What was just written is in the shared store (not only in this replica's memory,
        as while Redis is unreachable)."""
        return not getattr(self.kv, "degraded", False)

    async def close(self) -> None:
        await self.kv.close()
