"""The knobs of the session manager, per mode, with defaults that suit a phone-like call."""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass
from typing import Literal

Mode = Literal["call", "text"]
OnRejectedHandle = Literal["new_session", "give_up"]


@dataclass(frozen=True)
class Policy:
    """How the manager reconnects, replays and gives up.

    - `on_rejected_handle`: when the server refuses a resumption handle (invalid, expired,
      refused), start a new session with a notice ("new_session", the default in both modes) or
      end with `GaveUp` ("give_up").
    - Backoff after an unexpected drop: the first retry is immediate (unless many sessions of
      the process dropped at once: then it waits a random `drop_jitter_step` per session that
      dropped in the last half second, at most `drop_jitter_max`, so a mass drop does not
      reach the server in the same millisecond from every process; inside a process the
      reconnect bound, `limit_connects`, orders them), then
      `backoff_initial * backoff_multiplier**n`, capped at `backoff_max`, each delay drawn
      uniformly from [delay/2, delay] (jitter). The manager gives up once an outage has lasted
      `give_up_after` seconds.
    - `limit_connects`: every session of the process (one event loop) reconnects in turn:
      one adaptive bound on how many reconnects (the next socket's open, the old connection's
      close, setup through `setupComplete`) are in flight at once, served in arrival order
      (`_admission.py`; the wait counts toward `connect_timeout`): when hundreds reconnect at
      once on a busy CPU the median session is back in about half the time (a 1,000-session
      goAway wave here: 0.82x a raw connect's median, against 1.14x unbounded); when
      reconnects wait on the network the bound grows out of the way. False: every reconnect
      starts at once.
    - `goaway_margin`: after a goAway, the manager waits for a safe point (the model's turn over
      and a fresh handle in) but reconnects no later than this long before the deadline (at most
      half the time left).
    - `stable_after`: a connection lost sooner than this after it came up, before it completed
      a turn, counts as part of the same outage: the manager backs off instead of reconnecting
      at once (no tight loop against a server that accepts and then drops).
    - `connect_timeout`: one connect + setup attempt may take this long.
    - `max_buffered` / `max_buffered_bytes`: bound on the client messages kept for replay. Media
      chunks (audio, video) beyond the bound are dropped oldest first (and counted); a text turn
      beyond it is refused with `BufferFullError`.
    - `max_replay_media_bytes`: audio/video already delivered is sent again on a new connection
      only up to this much, newest first (default 320 kB: 10 s of 16 kHz PCM), so a reconnect
      after minutes of streamed silence does not resend all of it.
    - `compression`: add a sliding-window `contextWindowCompression` when the app's config has
      none (the app's own setting always wins).
    - `default_goaway_time`: deadline assumed when a goAway carries no `timeLeft`.
    - `goaway_drain_window`: a goAway with more time left than this (gemini-3.8-live sends
      "300s" about a second into every connection) is noted, and the connection stays live
      until this long before its deadline; then the manager drains as for any goAway.
    - `resume_refused_for`: a server that still holds the old connection refuses resumption
      with 1011 (after a silent network drop, for about 15 minutes in every report). After
      resumptions have been refused this long, the manager starts a new session seeded with
      the condensed transcript and says so with `NewSession` (or gives up, if
      `on_rejected_handle` is "give_up"), rather than keep the user waiting.
    - `audio_batch_ms`: 0 (off) or join PCM audio chunks up to this many ms before sending
      (fewer messages, up to that much added latency on a batch's first chunk).
    - `max_queued_events`: events the app has not read yet are kept up to this many; past it the
      oldest raw `ServerMessage` is dropped (its words are in the transcript), then the oldest
      per-turn marker, never a lifecycle event; `metrics.events_dropped` counts them.
    - `in_flight_margin`: without `lastConsumedClientMessageIndex`, what a resumable handle
      settles (the rest may have crossed it on the way and is replayed on a resume). None (the
      default): what a pong received before the handle acknowledged (the driver pings behind
      its writes); while pongs cannot decide (none back yet, or they take 5 s or more), what was
      written at least three times the longest of the last 16 ping round trips before the
      handle arrived (5 ms to 1 s; a third of the connect + setup time until the first pong).
      A number: that fixed margin, and no pings.
    """

    on_rejected_handle: OnRejectedHandle = "new_session"
    backoff_initial: float = 0.2
    backoff_multiplier: float = 2.0
    backoff_max: float = 5.0
    give_up_after: float = 60.0
    goaway_margin: float = 2.0
    connect_timeout: float = 10.0
    stable_after: float = 2.0
    max_buffered: int = 5000
    max_buffered_bytes: int = 16 * 1024 * 1024
    max_replay_media_bytes: int = 320_000
    compression: bool = True
    default_goaway_time: float = 10.0
    resume_refused_for: float = 10.0
    goaway_drain_window: float = 60.0
    in_flight_margin: float | None = None
    max_queued_events: int = 10_000
    audio_batch_ms: int = 0
    drop_jitter_step: float = 0.0005
    drop_jitter_max: float = 0.25
    limit_connects: bool = True

    def __post_init__(self) -> None:
        if self.on_rejected_handle not in ("new_session", "give_up"):
            raise ValueError(
                f"on_rejected_handle must be 'new_session' or 'give_up', "
                f"got {self.on_rejected_handle!r}"
            )
        for name in _POSITIVE:
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        for name, least in _AT_LEAST.items():
            if getattr(self, name) < least:
                raise ValueError(f"{name} must be >= {least}, got {getattr(self, name)}")
        if self.in_flight_margin is not None and self.in_flight_margin < 0:
            raise ValueError(f"in_flight_margin must be >= 0, got {self.in_flight_margin}")

    def backoff_delay(self, attempt: int, rng: random.Random) -> float:
        """The wait before retry number `attempt` (1-based) after a failed connect."""
        cap = min(self.backoff_max, self.backoff_initial * self.backoff_multiplier ** (attempt - 1))
        return rng.uniform(cap / 2, cap)

    def replace(self, **changes: object) -> Policy:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


_POSITIVE = (
    "backoff_initial",
    "backoff_max",
    "give_up_after",
    "connect_timeout",
    "goaway_drain_window",
)
_AT_LEAST = {  # the least each may be
    "stable_after": 0,
    "resume_refused_for": 0,
    "goaway_margin": 0,
    "drop_jitter_step": 0,
    "drop_jitter_max": 0,
    "backoff_multiplier": 1,
    "max_buffered": 1,
    "max_buffered_bytes": 1,
    "max_queued_events": 1,
    "audio_batch_ms": 0,
}
