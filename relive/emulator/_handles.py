"""Resumption handles: unguessable tokens bound to an API key, each a snapshot of a session.

A handle stays valid while its session has an open connection and for `ttl` seconds after the
session's last connection ends. Resuming from an older handle restores that older state; a
*live* handle (3.8 sends one per session) restores the session's latest saved state. A socket
the server still holds (a silent drop) keeps the session busy until `held_until`. Each
handle holds a snapshot of its conversation, so a session keeps only its newest
`kept_per_session` handles; an older one is refused as not found, like a stale handle on the
real service (keeping all of them grew with the square of the turns: 10 MiB per session at
1,000 turns).
"""

from __future__ import annotations

import hashlib
import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from relive._clock import Clock
from relive._errors import EmulatorError
from relive.emulator import _closes as closes
from relive.emulator._closes import CloseReason
from relive.emulator._model import Conversation

TokenFactory = Callable[[], str]


def default_token() -> str:
    """192 random bits, URL-safe."""
    return secrets.token_urlsafe(24)


def key_digest(api_key: str) -> str:
    """What the registry keeps of a key (never the key itself)."""
    return hashlib.sha256(api_key.encode()).hexdigest()


@dataclass
class _Session:
    open_connections: int = 0
    last_closed_at: float | None = None
    handles: deque[str] = field(default_factory=deque)  # oldest first
    latest: Conversation = field(default_factory=Conversation)
    held_until: float = 0.0


@dataclass(frozen=True)
class _Handle:
    session_id: str
    key_digest: str
    snapshot: Conversation | None  # None: a live handle (the session's latest state)
    serial: int


class HandleRejectedError(EmulatorError):
    """A resumption attempt the server refuses: `kind` for stats, `close` for the client."""

    def __init__(self, kind: str, close: CloseReason) -> None:
        super().__init__(close.reason)
        self.kind = kind
        self.close = close


@dataclass
class HandleRegistry:
    """Sessions and their handles, for one emulator."""

    clock: Clock
    ttl: float
    token_factory: TokenFactory = default_token
    kept_per_session: int = 32
    _sessions: dict[str, _Session] = field(default_factory=dict)
    _handles: dict[str, _Handle] = field(default_factory=dict)
    _serial: int = 0
    _session_count: int = 0
    _expired_below: int = 0
    _ended: deque[tuple[float, str]] = field(default_factory=deque)  # in time order

    def new_session(self) -> str:
        """A new session; its id is internal (clients only ever see handles)."""
        self._session_count += 1
        session_id = f"s-{self._session_count}"
        self._sessions[session_id] = _Session()
        return session_id

    def attach(self, session_id: str) -> None:
        """A connection now carries this session."""
        self._sessions[session_id].open_connections += 1

    def detach(self, session_id: str, latest: Conversation, hold: float = 0.0) -> None:
        """A connection carrying this session ended with state `latest`; the ttl clock starts
        when none is left. `hold` > 0: the server holds the dead socket that long (silent drop)."""
        session = self._sessions[session_id]
        session.latest = latest
        session.open_connections = max(0, session.open_connections - 1)
        now = self.clock.now()
        session.held_until = max(session.held_until, now + hold)
        if session.open_connections == 0:
            session.last_closed_at = max(now, session.held_until)
            self._ended.append((session.last_closed_at, session_id))
            self.purge()

    def issue(
        self, session_id: str, api_key: str, snapshot: Conversation, live: bool = False
    ) -> str:
        """A new handle for the session: a snapshot of `snapshot`, or live (latest state)."""
        token = self.token_factory()
        if token in self._handles or len(token) < 16:
            raise ValueError("token factory returned a reused or too short token")
        self._serial += 1
        kept = None if live else snapshot
        self._handles[token] = _Handle(session_id, key_digest(api_key), kept, self._serial)
        tokens = self._sessions[session_id].handles
        tokens.append(token)
        while len(tokens) > max(1, self.kept_per_session):
            self._handles.pop(tokens.popleft(), None)
        return token

    def resolve(self, token: str, api_key: str) -> tuple[str, Conversation]:
        """The session and snapshot a handle names, or `HandleRejectedError` saying why not."""
        handle = self._handles.get(token)
        if handle is None or handle.key_digest != key_digest(api_key):
            raise HandleRejectedError("invalid", closes.HANDLE_NOT_FOUND)
        session = self._sessions[handle.session_id]
        if handle.serial <= self._expired_below or self._ended_long_ago(session):
            raise HandleRejectedError("expired", closes.HANDLE_EXPIRED)
        if session.open_connections > 0 or self.clock.now() < session.held_until:
            raise HandleRejectedError("in_use", closes.HANDLE_IN_USE)
        snapshot = session.latest if handle.snapshot is None else handle.snapshot
        return handle.session_id, snapshot

    def expire_all(self) -> None:
        """Every handle issued so far is expired from now on."""
        self._expired_below = self._serial

    def purge(self) -> int:
        """Forget sessions (and handles) that ended over two ttls ago (amortised O(1))."""
        now = self.clock.now()
        gone = 0
        while self._ended and now - self._ended[0][0] > 2 * self.ttl:
            ended_at, sid = self._ended.popleft()
            session = self._sessions.get(sid)
            if session is None or session.open_connections or session.last_closed_at != ended_at:
                continue  # resumed since, or already gone
            for token in session.handles:
                self._handles.pop(token, None)
            del self._sessions[sid]
            gone += 1
        return gone

    def _ended_long_ago(self, session: _Session) -> bool:
        return (
            session.open_connections == 0
            and session.last_closed_at is not None
            and self.clock.now() - session.last_closed_at > self.ttl
        )

    def save(self, session_id: str, latest: Conversation) -> None:
        """The session's state now (what a live handle restores)."""
        self._sessions[session_id].latest = latest

    def conversations(self) -> list[Conversation]:
        """Each session's state now: what the model holds of every conversation (benches count
        the turns in it)."""
        return [session.latest for session in self._sessions.values()]

    @property
    def handle_count(self) -> int:
        return len(self._handles)
