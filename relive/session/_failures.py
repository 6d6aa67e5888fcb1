"""Why a connection ended, sorted into what the manager does about it.

Close codes are read here and nowhere else: the app only ever sees events.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Verdict = Literal["rejected_handle", "resume_refused", "fatal", "transient"]

# Reason words the service (or the emulator) uses when it refuses a resumption handle.
_HANDLE_WORDS = ("handle", "resum", "session not found")


@dataclass(frozen=True)
class Failure:
    """A failed connect, or the end of a live connection.

    `code` is the WebSocket close code (1006 when the socket died without one), `http_status`
    the status of a refused WebSocket upgrade, `reason` the close reason or error text.
    """

    reason: str
    code: int | None = None
    http_status: int | None = None

    def describe(self) -> str:
        """One line for logs and notices: the status or close code, and the reason."""
        if self.http_status is not None:
            return f"connection refused with HTTP {self.http_status}: {self.reason}"
        if self.code is not None:
            return f"connection closed ({self.code}): {self.reason or 'no reason given'}"
        return self.reason


def classify(failure: Failure, *, with_handle: bool, saw_traffic: bool) -> Verdict:
    """Decide: was a resumption handle refused, is retrying pointless, or is it worth retrying?

    - A connection opened with a handle that closes with 1007/1008 (invalid argument, policy)
      before it carried any traffic, or whose reason names the handle, had its handle refused.
    - A connection opened with a handle that closes with 1011 before any traffic (the real
      service's "Internal error encountered.") is a resumption refused because the server
      still holds the old connection: worth retrying for a while (a race with a clean close
      clears within a second), but after a silent network drop it lasts about 15 minutes, so
      the manager counts how long it has lasted (`Policy.resume_refused_for`).
    - An HTTP 400/401/403/404 upgrade refusal, or 1007/1008 at setup without a handle, is a
      bad key, model or config: retrying will not help.
    - A close whose reason names the goAway (the deadline close, 1008 on the real service
      since 2026), or 3.1's idle abort (1008 "The operation was aborted."), is a connection that
      outlived its time: reconnect, never a failure.
    - Everything else (1006 abrupt close, 1011 incl. a client keepalive timeout, 1000/1001,
      network errors, timeouts) is transient.
    """
    text = failure.reason.lower()
    if "goaway" in text or "operation was aborted" in text:
        # The deadline close after a goAway (1008 now, 1011 before), or 3.1's idle abort (1008
        # "The operation was aborted." after ~150 s without input, also on a resumed
        # connection that never carried traffic): the connection ended, the session did not.
        return "transient"
    if with_handle and not saw_traffic:
        if failure.code == 1011:
            return "resume_refused"
        if failure.code in (1007, 1008):
            return "rejected_handle"
        if failure.code != 1011 and any(w in text for w in _HANDLE_WORDS):
            return "rejected_handle"
    if failure.http_status in (400, 401, 403, 404):
        return "fatal"
    if not with_handle and not saw_traffic and failure.code in (1007, 1008):
        return "fatal"
    return "transient"
