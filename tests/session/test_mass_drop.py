"""Mass drops spread their first retries; a lone drop still reconnects at once."""

from __future__ import annotations

import random

from relive import HandleStore, ManualClock, Policy, State
from relive.session._machine import SessionMachine
from relive.session._states import Connect
from tests.session.test_machine import DROP, handle, live


def _sessions(clock: ManualClock, n: int, policy: Policy) -> list[SessionMachine]:
    out = []
    for i in range(n):
        m = SessionMachine(
            mode="call",
            owner=f"o{i}",
            handles=HandleStore(),
            policy=policy,
            clock=clock,
            rng=random.Random(i),
        )
        live(m)
        m.server_message(1, handle(f"h{i}"))
        out.append(m)
    return out


def test_a_lone_drop_reconnects_at_once() -> None:
    (m,) = _sessions(ManualClock(), 1, Policy(stable_after=0))
    assert any(isinstance(a, Connect) for a in m.closed(1, DROP))


def test_by_default_the_spread_is_small_and_capped() -> None:
    """0.5 ms per peer, at most 0.25 s: the connect bound orders a process's crowd; the
    jitter is for the herd of processes."""
    for n, widest in ((101, 0.05), (1000, 0.25)):
        clock = ManualClock()
        sessions = _sessions(clock, n, Policy(stable_after=0))
        for m in sessions:
            m.closed(1, DROP)
        deadlines = [m.deadline for m in sessions if m.state is State.BACKING_OFF]
        assert len(deadlines) >= n - 5
        assert all(d is not None and 0 <= d <= widest + 1e-9 for d in deadlines)
        assert max(d or 0 for d in deadlines) > widest / 2  # spread, up to the cap


def test_a_mass_drop_spreads_the_first_retries() -> None:
    clock = ManualClock()
    policy = Policy(stable_after=0, drop_jitter_step=0.01, drop_jitter_max=0.2)
    sessions = _sessions(clock, 50, policy)
    at_once = [any(isinstance(a, Connect) for a in m.closed(1, DROP)) for m in sessions]
    assert at_once[0] and sum(at_once) < 5  # the first goes; the rest wait their turn
    waiting = [m for m, now in zip(sessions, at_once, strict=True) if not now]
    assert all(m.state is State.BACKING_OFF for m in waiting)
    deadlines = [m.deadline for m in waiting]
    assert all(d is not None and 0 <= d <= 0.2 for d in deadlines)
    assert len({round(d or 0, 6) for d in deadlines}) > 30  # spread, not one instant
    clock.advance(0.2)
    for m in waiting:
        assert m.timer() == [Connect(2, m.handle)]  # then resumes with its handle
    assert sum(m.metrics.reconnects["drop"] for m in sessions) == 50
