"""The resilience panel: what each of its buttons breaks, on purpose, so a visitor sees relive work.

The buttons go through the page's own authenticated socket to the backend, which calls the embedded
emulator's in-process fault API (`relive.emulator.Emulator.faults` fits `FaultSwitch`). They never
reach the emulator's HTTP control endpoint. With real Gemini only `drop_page` can work.
"""

from __future__ import annotations

from typing import Protocol

from relive.web._protocol import FaultName

SERVER_FAULTS: tuple[FaultName, ...] = ("goaway", "drop", "lose_session")


class FaultSwitch(Protocol):
    """The fault switches the resilience panel uses, each acting on every open Live connection:
    `relive.emulator.Emulator.faults` fits it (pass it as `WebBackend(faults=...)`)."""

    def goaway_now(self, time_left: float | None = None) -> int:
        """Announce the close of every connection now; how many were told."""
        ...

    def drop(self) -> int:
        """Drop every connection without a close frame; how many were dropped."""
        ...

    def expire_all_handles(self) -> None:
        """Make every resumption handle issued so far unusable."""
        ...


def available(switch: FaultSwitch | None) -> list[FaultName]:
    """The faults the page may offer: dropping its own socket always; the rest need an emulator."""
    return ["drop_page", *SERVER_FAULTS] if switch is not None else ["drop_page"]


def break_server(switch: FaultSwitch, fault: FaultName) -> int:
    """Apply a server-side fault now; returns how many Live connections it hit."""
    if fault == "goaway":  # planned: the server announces the close, relive moves over early
        return switch.goaway_now()
    if fault == "drop":  # unplanned: no close frame, relive resumes with the last handle
        return switch.drop()
    if fault == "lose_session":  # the handle is refused on resume: relive starts a new session
        switch.expire_all_handles()
        return switch.drop()
    raise ValueError(f"{fault} is not a server fault")
