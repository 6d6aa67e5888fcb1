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
# The deadline close after a goAway the client did not act on, as reported late 2026 (the real
# text runs past the 123 bytes a close frame carries and arrives cut; this is that cut).
GOAWAY_IGNORED = CloseReason(
    POLICY_VIOLATION,
    "Connection aborted because the client failed to close the connection after receiving a "
    "GoAway signal once the session durat",
)
IDLE_ABORTED = CloseReason(POLICY_VIOLATION, "The operation was aborted.")
INTERNAL = CloseReason(INTERNAL_ERROR, "Internal error encountered.")
MISSING_KEY = CloseReason(
    POLICY_VIOLATION,
    "Missing API key: send x-goog-api-key, ?key= or Authorization: Token/Bearer.",
)
BAD_KEY = CloseReason(INVALID_ARGUMENT, "API key not valid. Please pass a valid API key.")
SETUP_TIMEOUT = CloseReason(
    POLICY_VIOLATION, "No setup received in time: send setup as the first message."
)
# Unknown, another key's, or expired: the real service answers all three alike.
HANDLE_NOT_FOUND = CloseReason(POLICY_VIOLATION, "BidiGenerateContent session not found")
HANDLE_EXPIRED = HANDLE_NOT_FOUND
# Resuming while the server still holds the session's previous socket.
HANDLE_IN_USE = INTERNAL
INVALID_REQUEST = CloseReason(INVALID_ARGUMENT, "Request contains an invalid argument.")
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


def model_not_found(model: str, api_version: str) -> CloseReason:
    """1008 for a model the service does not know (or that does not speak Live)."""
    name = model if model.startswith(("models/", "projects/", "publishers/")) else f"models/{model}"
    return CloseReason(
        POLICY_VIOLATION,
        f"{name} is not found for API version {api_version}, or is not supported for "
        "bidiGenerateContent. Call ModelService.ListModels to see the list of available models "
        "and their supported methods.",
    )


def modality_unsupported(modality: str, model: str) -> CloseReason:
    """1007 for a response modality the model does not produce."""
    return CloseReason(
        INVALID_ARGUMENT,
        f"The requested combination of response modalities ({modality}) is not supported by "
        f"the model. models/{model}",
    )


def unknown_field(name: str, where: str) -> CloseReason:
    """1007 for a field the API does not have, worded as Google's JSON parser words it."""
    at = f" at '{where}'" if where else ""
    return CloseReason(
        INVALID_ARGUMENT,
        f'Invalid JSON payload received. Unknown name "{name}"{at}: Cannot find field.',
    )


def invalid(reason: str) -> CloseReason:
    """A 1007 close for a malformed client message."""
    return CloseReason(INVALID_ARGUMENT, reason)


def policy(reason: str) -> CloseReason:
    """A 1008 close for a policy failure."""
    return CloseReason(POLICY_VIOLATION, reason)
