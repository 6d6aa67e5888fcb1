"""Which pages exist, who may attach to them, and which have been away too long.

Plain logic over an injected clock and token factory: the backend drives it, tests step it.

A page picks its own random id; on its first hello the registry issues a secret bound to that id.
A later hello for the same id must bring that secret, so knowing (or guessing) an id is not enough
to join someone else's session. A page with no socket for `ttl` seconds is swept: the backend
closes its sessions and forgets it (a handle for it is never used again).
"""

from __future__ import annotations

import hmac
import secrets
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from relive._clock import Clock
from relive._errors import WebError

S = TypeVar("S")  # what the backend keeps per page (its sessions)


class ForbiddenError(WebError):
    """A hello for a known page with the wrong secret."""


class BusyError(WebError):
    """Too many pages at once."""


@dataclass
class PageEntry(Generic[S]):
    page_id: str
    secret: str
    state: S
    attached: int = 0  # sockets currently attached (0 or 1; a new one replaces the old)
    detached_at: float | None = None
    generation: int = field(default=0)  # bumped on each attach: lets an old socket know it lost
    client: str = ""  # who made the page (its IP): counted against `max_pages_per_client`


@dataclass(frozen=True)
class Attached(Generic[S]):
    entry: PageEntry[S]
    fresh: bool  # a page the registry did not know: nothing to resume
    generation: int


class PageRegistry(Generic[S]):
    """Pages by id, with their secrets and their away-since times."""

    def __init__(
        self,
        clock: Clock,
        *,
        ttl: float,
        make_state: Callable[[str], S],
        max_pages: int = 200,
        max_pages_per_client: int | None = None,
        token: Callable[[], str] = lambda: secrets.token_urlsafe(32),
    ) -> None:
        if ttl <= 0:
            raise ValueError(f"ttl must be positive, got {ttl}")
        self._clock = clock
        self._ttl = ttl
        self._make_state = make_state
        self._max_pages = max_pages
        self._per_client = max_pages if max_pages_per_client is None else max_pages_per_client
        self._token = token
        self._pages: dict[str, PageEntry[S]] = {}
        self._by_client: Counter[str] = Counter()

    def __len__(self) -> int:
        return len(self._pages)

    def __contains__(self, page_id: object) -> bool:
        return page_id in self._pages

    def get(self, page_id: str) -> PageEntry[S] | None:
        return self._pages.get(page_id)

    def attach(
        self, page_id: str, secret: str | None, client: str = "", *, known: bool = False
    ) -> Attached[S]:
        """A socket says hello. Returns the entry, or raises `ForbiddenError` / `BusyError`.

        A new page counts against its `client` (the peer's IP) too, so one client cannot hold
        every slot. `known`: the shared store vouched for `secret` (the page was made on another
        replica), so an id this registry does not hold keeps that secret and is not fresh.
        """
        entry = self._pages.get(page_id)
        if entry is None:
            # Unknown id: a new page, or one swept while away (then it starts fresh).
            if len(self._pages) >= self._max_pages:
                raise BusyError(f"too many pages ({self._max_pages}); try again later")
            if self._by_client[client] >= self._per_client:
                raise BusyError(
                    f"too many pages from one client ({self._per_client}); close some first"
                )
            issued = secret if known and secret else self._token()
            entry = PageEntry(page_id, issued, self._make_state(page_id), client=client)
            self._pages[page_id] = entry
            self._by_client[client] += 1
            fresh = not known
        elif secret is None or not hmac.compare_digest(secret.encode(), entry.secret.encode()):
            raise ForbiddenError("this page id belongs to another page")
        else:
            fresh = False
        entry.generation += 1
        entry.attached = 1
        entry.detached_at = None
        return Attached(entry, fresh, entry.generation)

    def detach(self, page_id: str, generation: int) -> None:
        """A socket went away; the page starts its time away unless a newer socket took over."""
        entry = self._pages.get(page_id)
        if entry is None or entry.generation != generation:
            return
        entry.attached = 0
        entry.detached_at = self._clock.now()

    def sweep(self) -> list[PageEntry[S]]:
        """Forget pages away longer than `ttl`; returns them so the caller closes their sessions."""
        now = self._clock.now()
        gone = [
            e
            for e in self._pages.values()
            if e.detached_at is not None and now - e.detached_at >= self._ttl
        ]
        for e in gone:
            self.remove(e.page_id)
        return gone

    def away(self) -> list[PageEntry[S]]:
        """Pages with no socket now (not swept yet)."""
        return [e for e in self._pages.values() if not e.attached]

    def remove(self, page_id: str) -> PageEntry[S] | None:
        """Forget one page now (another replica took it); the caller closes its sessions."""
        entry = self._pages.pop(page_id, None)
        if entry is not None:
            self._by_client[entry.client] -= 1
            if not self._by_client[entry.client]:
                del self._by_client[entry.client]
        return entry

    def attached(self) -> list[PageEntry[S]]:
        """Pages with a socket now."""
        return [e for e in self._pages.values() if e.attached]

    def pages_of(self, client: str) -> int:
        """Pages `client` holds now (attached or away but not swept yet)."""
        return self._by_client[client]

    def remove_all(self) -> list[PageEntry[S]]:
        """Forget every page (shutdown)."""
        entries = list(self._pages.values())
        self._pages.clear()
        self._by_client.clear()
        return entries
