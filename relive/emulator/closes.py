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


@dataclass(frozen=True)
class CloseReason:
    """A WebSocket close the emulator sends: code plus a reason a person can act on."""

    code: int
    reason: str


DEADLINE = CloseReason(INTERNAL_ERROR, "Deadline expired before operation could complete.")
INTERNAL = CloseReason(INTERNAL_ERROR, "Internal error encountered.")
MISSING_KEY = CloseReason(
    POLICY_VIOLATION,
    "Missing API key: send it in the x-goog-api-key header, the key= query parameter "
    "or an Authorization: Token/Bearer header.",
)
BAD_KEY = CloseReason(POLICY_VIOLATION, "API key not valid. Please pass a valid API key.")
HANDLE_NOT_FOUND = CloseReason(
    POLICY_VIOLATION,
    "Resumption failed: session not found for this handle (unknown, or issued to another API "
    "key). Start a new session without a handle.",
)
HANDLE_EXPIRED = CloseReason(
    INVALID_ARGUMENT,
    "Resumption failed: the session handle has expired (handles stay valid for a limited time "
    "after the session's last connection ends). Start a new session without a handle.",
)
HANDLE_IN_USE = CloseReason(
    INTERNAL_ERROR,
    "Resumption refused: the session is still open on another connection. Close the old "
    "connection before resuming.",
)
CONTEXT_EXHAUSTED = CloseReason(
    INVALID_ARGUMENT,
    "Context window exhausted: the conversation exceeds the model's context window. Enable "
    "contextWindowCompression with a slidingWindow or start a new session.",
)


def session_limit(limit_seconds: float, kind: str) -> CloseReason:
    """Close for a session that used up its media time without compression."""
    return CloseReason(
        INVALID_ARGUMENT,
        f"Session duration limit exceeded: {kind} sessions without contextWindowCompression "
        f"are limited to {limit_seconds:g} s of media time. Enable contextWindowCompression "
        "with a slidingWindow for longer sessions.",
    )


def invalid(reason: str) -> CloseReason:
    """A 1007 close for a malformed client message."""
    return CloseReason(INVALID_ARGUMENT, reason)


def policy(reason: str) -> CloseReason:
    """A 1008 close for a policy failure."""
    return CloseReason(POLICY_VIOLATION, reason)
