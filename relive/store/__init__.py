"""The state relive replicas share: pages (secret hashes) and sealed resumption handles.

`SharedState` over a `KeyValue`: `MemoryKV` (one process, the default), `RedisKV` (several
replicas), `FallbackKV` (Redis with this replica's memory beside it, for Redis faults).
`open_state(url, ...)` picks one from a `--store` URL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from relive._clock import Clock
from relive.store._errors import SealError, StoreError, StoreUnavailableError
from relive.store._handles import SharedHandles
from relive.store._kv import FallbackKV, KeyValue, MemoryKV, RedisKV
from relive.store._state import HANDLE_TTL, PageCheck, SharedState

if TYPE_CHECKING:
    from relive.store._seal import ENV_VAR, Sealer, new_key


def __getattr__(name: str) -> Any:
    # The sealer needs `cryptography` (relive[serve]); the web demo imports the rest without it.
    if name in ("ENV_VAR", "Sealer", "new_key"):
        from relive.store import _seal

        return getattr(_seal, name)
    raise AttributeError(f"module 'relive.store' has no attribute {name!r}")


def open_state(
    url: str | None,
    sealer: Sealer | None,
    *,
    page_ttl: float,
    handle_ttl: float = HANDLE_TTL,
    clock: Clock | None = None,
) -> SharedState:
    """`memory` (or None) keeps state in this process; `redis://...` shares it, with fallback."""
    if check_url(url) == "memory":
        return SharedState(MemoryKV(clock), sealer, page_ttl=page_ttl, handle_ttl=handle_ttl)
    assert url is not None
    kv = FallbackKV(RedisKV(url), clock)
    return SharedState(kv, sealer, page_ttl=page_ttl, handle_ttl=handle_ttl)


def check_url(url: str | None) -> str:
    """The kind of store `url` names (`memory` or `redis`), or `StoreError`; connects nowhere
    (a check that opened a client would have to close it)."""
    if url is None or url == "memory":
        return "memory"
    if url.startswith(("redis://", "rediss://", "unix://")):
        return "redis"
    raise StoreError(f"unknown store {url!r}: use memory or redis://host:port/db")


__all__ = [
    "ENV_VAR",
    "HANDLE_TTL",
    "FallbackKV",
    "KeyValue",
    "MemoryKV",
    "PageCheck",
    "RedisKV",
    "SealError",
    "Sealer",
    "SharedHandles",
    "SharedState",
    "StoreError",
    "StoreUnavailableError",
    "check_url",
    "new_key",
    "open_state",
]
