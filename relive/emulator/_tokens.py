"""Ephemeral tokens (`auth_tokens`): minted over REST with an API key, spent on the Constrained
Live endpoint; I/O-free, on the emulator's injected clock.

What the real service does (python-genai 3.6.1 `tokens.py` and `AuthToken` docs; reports in
../shared/docs/live-protocol.md): `uses` (default 1, 0 = no limit), `expireTime` (default
+30 min, at most 20 h), `newSessionExpireTime` (default +60 s), and `bidiGenerateContentSetup`
with an optional `fieldMask`, which constrain the client's setup. A resumption is not a new
session, so it spends no use by default (the SDK's docs and late-2026 reports) and ignores
`newSessionExpireTime`; `expireTime` ends even a running session.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from relive._clock import Clock
from relive.emulator import _closes as closes
from relive.emulator._closes import CloseReason
from relive.emulator._codec import JsonDict, ProtocolError, camel, decode

PREFIX = "auth_tokens/"
DEFAULT_EXPIRE = 30 * 60.0
DEFAULT_NEW_SESSION = 60.0
MAX_AHEAD = 20 * 3600.0
_FIELDS = frozenset(
    {"name", "uses", "expireTime", "newSessionExpireTime", "bidiGenerateContentSetup", "fieldMask"}
)


class RestError(Exception):
    """A REST request the real service refuses: HTTP status, gRPC status name, message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def body(self) -> JsonDict:
        """The JSON error body Google APIs send (the SDKs' `APIError` reads it)."""
        return {"error": {"code": self.status, "message": self.message, "status": self.code}}


class TokenRejectedError(Exception):
    """A Live connection the token does not allow: `close` says why."""

    def __init__(self, kind: str, close: CloseReason) -> None:
        super().__init__(close.reason)
        self.kind, self.close = kind, close


@dataclass
class EphemeralToken:
    """One minted token (the registry keeps the minting key only as a digest)."""

    name: str
    owner: str  # SHA-256 of the API key that minted it
    uses: int  # 0: no limit
    expire_at: float  # clock time
    new_session_until: float  # clock time
    setup: JsonDict | None  # bidiGenerateContentSetup, camelCase
    field_mask: tuple[str, ...] | None
    used: int = 0


def _bad(message: str) -> RestError:
    return RestError(400, "INVALID_ARGUMENT", message)


def _rfc3339(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat().replace("+00:00", "Z")


class TokenRegistry:
    """Tokens of one emulator. Wall-clock times map onto the injected clock, so advancing a
    `ManualClock` expires tokens without sleeping."""

    def __init__(
        self,
        clock: Clock,
        resumption_spends_use: bool = False,
        wall: Callable[[], float] = time.time,
        factory: Callable[[], str] = lambda: secrets.token_urlsafe(24),
    ) -> None:
        self.clock = clock
        self.resumption_spends_use = resumption_spends_use
        self._offset = wall() - clock.now()
        self._factory = factory
        self._tokens: dict[str, EphemeralToken] = {}

    def wall_now(self) -> float:
        return self._offset + self.clock.now()

    def _when(self, raw: Any, name: str, default: float) -> float:
        """A proto Timestamp (RFC 3339) as clock time; `default` seconds ahead when unset."""
        if raw is None:
            return self.clock.now() + default
        try:
            when = dt.datetime.fromisoformat(str(raw))
        except ValueError:
            raise _bad(
                f"Invalid value at '{name}' (type.googleapis.com/google.protobuf.Timestamp), "
                f"{json.dumps(raw)[:40]}"
            ) from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        ahead = when.timestamp() - self.wall_now()
        if ahead <= 0 or ahead > MAX_AHEAD:
            raise _bad(f"{name} must be in the future and at most 20 hours ahead.")
        return self.clock.now() + ahead

    def mint(self, body: Any, api_key: str) -> JsonDict:
        """`POST auth_tokens`: check the request, keep the token, answer like the real API."""
        if not isinstance(body, dict):
            raise _bad("Invalid JSON payload received. Expected an object.")
        body = {camel(k): v for k, v in body.items()}
        for name in body:
            if name not in _FIELDS:
                raise _bad(
                    f'Invalid JSON payload received. Unknown name "{name}": Cannot find field.'
                )
        uses = body.get("uses", 1)
        if isinstance(uses, str) and uses.lstrip("-").isdigit():
            uses = int(uses)
        if not isinstance(uses, int) or isinstance(uses, bool) or uses < 0:
            raise _bad(f"Invalid value at 'uses' (TYPE_INT32), {json.dumps(uses)[:40]}")
        expire_at = self._when(body.get("expireTime"), "expire_time", DEFAULT_EXPIRE)
        new_until = self._when(
            body.get("newSessionExpireTime"), "new_session_expire_time", DEFAULT_NEW_SESSION
        )
        setup = body.get("bidiGenerateContentSetup")
        if setup is not None:
            try:  # the same checks as a setup message on the socket
                setup = decode(json.dumps({"setup": setup}), 1 << 20).body
            except ProtocolError as exc:
                raise _bad(exc.close.reason) from None
        mask = body.get("fieldMask")
        if isinstance(mask, str):
            mask = [p for p in mask.split(",") if p.strip()]
        if mask is not None and not (
            isinstance(mask, list) and all(isinstance(p, str) for p in mask)
        ):
            raise _bad("Invalid value at 'field_mask': a comma-separated list of field paths.")
        name = PREFIX + self._factory()
        self._tokens[name] = EphemeralToken(
            name=name,
            owner=hashlib.sha256(api_key.encode()).hexdigest(),
            uses=uses,
            expire_at=expire_at,
            new_session_until=new_until,
            setup=setup,
            field_mask=tuple(".".join(camel(p) for p in f.strip().split(".")) for f in mask)
            if mask is not None
            else None,
        )
        now = self.clock.now()
        return {
            "name": name,
            "uses": uses,
            "expireTime": _rfc3339(self.wall_now() + expire_at - now),
            "newSessionExpireTime": _rfc3339(self.wall_now() + new_until - now),
        }

    def admit(self, name: str, resuming: bool) -> EphemeralToken:
        """A Live connection presenting token `name`: the token, with a use spent, or why not."""
        token = self._tokens.get(name)
        if token is None:
            raise TokenRejectedError("invalid", closes.TOKEN_NOT_VALID)
        now = self.clock.now()
        if now >= token.expire_at or (not resuming and now >= token.new_session_until):
            raise TokenRejectedError("expired", closes.TOKEN_EXPIRED)
        spends = not resuming or self.resumption_spends_use
        if spends and token.uses and token.used >= token.uses:
            raise TokenRejectedError("used_up", closes.TOKEN_USED_UP)
        if spends:
            token.used += 1
        return token


def _get(tree: JsonDict, path: list[str]) -> tuple[bool, Any]:
    node: Any = tree
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


def _put(tree: JsonDict, path: list[str], present: bool, value: Any) -> None:
    node = tree
    for part in path[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            if not present:
                return
            child = node[part] = {}
        node = child
    if present:
        node[path[-1]] = copy.deepcopy(value)
    else:
        node.pop(path[-1], None)


def constrain(client: JsonDict, token: EphemeralToken) -> JsonDict:
    """The setup a token allows. Without a field mask the token's setup replaces the client's;
    with one, each masked path takes the token's value (or is cleared). The client's
    `sessionResumption.handle` always stands: it names this connection's session."""
    if token.setup is None:
        return client
    if token.field_mask is None:
        result = copy.deepcopy(token.setup)
    else:
        result = copy.deepcopy(client)
        for field_path in token.field_mask:
            path = field_path.split(".")
            _put(result, path, *_get(token.setup, path))
    present, handle = _get(client, ["sessionResumption", "handle"])
    if present and handle:
        _put(result, ["sessionResumption", "handle"], True, handle)
    return result
