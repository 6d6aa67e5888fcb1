"""Close codes and the reasons the emulator gives, as named values (not magic numbers in handlers).

Codes follow what the real service is seen or reported to use: 1007 for invalid arguments,
1008 for policy failures (key, handle), 1011 for internal errors and deadlines.
"""

from __future__ import annotations

from dataclasses import dataclass

NORMAL = 1000
INVALID_ARGUMENT = 1007
POLICY_VIOLATION = 1008
INTERNAL_ERROR = 1011


MAX_REASON_BYTES = 123  # a close frame's reason must fit in 123 bytes of UTF-8


def fit_reason(reason: str) -> str:
    """Trim a reason to what a close frame can carry, on a character boundary (and as UTF-8:
    client data quoted in a reason may hold a lone surrogate)."""
    data = reason.encode("utf-8", "backslashreplace")
    if len(data) <= MAX_REASON_BYTES:
        return data.decode()
    return data[: MAX_REASON_BYTES - 3].decode(errors="ignore") + "..."


@dataclass(frozen=True)
class CloseReason:
    """A WebSocket close the emulator sends: code plus a reason a person can act on."""

    code: int
    reason: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "reason", fit_reason(self.reason))


DEADLINE = CloseReason(INTERNAL_ERROR, "Deadline expired before operation could complete.")
INTERNAL = CloseReason(INTERNAL_ERROR, "Internal error encountered.")
MISSING_KEY = CloseReason(
    POLICY_VIOLATION,
    "Missing API key: send x-goog-api-key, ?key= or Authorization: Token/Bearer.",
)
BAD_KEY = CloseReason(POLICY_VIOLATION, "API key not valid. Please pass a valid API key.")
SETUP_TIMEOUT = CloseReason(
    POLICY_VIOLATION, "No setup received in time: send setup as the first message."
)
HANDLE_NOT_FOUND = CloseReason(
    POLICY_VIOLATION,
    "Session not found: unknown resumption handle (or another key's). Start a new session.",
)
HANDLE_EXPIRED = CloseReason(
    INVALID_ARGUMENT,
    "Session handle expired (handles last a limited time after a session ends). "
    "Start a new session.",
)
HANDLE_IN_USE = CloseReason(
    INTERNAL_ERROR,
    "Resumption refused: the session is still open on another connection. Close it first.",
)
# Ephemeral tokens: the 1011 texts are users' reports (../shared/docs/live-protocol.md); the
# codes for a missing or unknown token are our documented choice (none is published).
TOKEN_EXPIRED = CloseReason(INTERNAL_ERROR, "Token has expired")
TOKEN_USED_UP = CloseReason(INTERNAL_ERROR, "Token has been used too many times")
TOKEN_EXPIRED_RUNNING = CloseReason(INTERNAL_ERROR, "auth token has expired")
TOKEN_NOT_VALID = CloseReason(
    INVALID_ARGUMENT, "Ephemeral token not valid (unknown auth_tokens/ name). Mint a new one."
)
TOKEN_REQUIRED = CloseReason(
    POLICY_VIOLATION,
    "BidiGenerateContentConstrained needs an ephemeral token (auth_tokens/...), not an API key.",
)
TOKEN_NOT_A_KEY = CloseReason(
    INVALID_ARGUMENT,
    "API key not valid: an ephemeral token works only on BidiGenerateContentConstrained.",
)
CONTEXT_EXHAUSTED = CloseReason(
    INVALID_ARGUMENT,
    "Context window exhausted. Enable contextWindowCompression (slidingWindow) or start anew.",
)


def session_limit(limit_seconds: float, kind: str) -> CloseReason:
    """Close for a session that used up its media time without compression."""
    return CloseReason(
        INVALID_ARGUMENT,
        f"Session limit: {kind} sessions without contextWindowCompression get "
        f"{limit_seconds:g} s of media time.",
    )


def invalid(reason: str) -> CloseReason:
    """A 1007 close for a malformed client message."""
    return CloseReason(INVALID_ARGUMENT, reason)


def policy(reason: str) -> CloseReason:
    """A 1008 close for a policy failure."""
    return CloseReason(POLICY_VIOLATION, reason)
