"""What a bench page keeps until covered (`Kept`, app.js's rule): numbered from 1, the oldest
dropped beyond the bound, covered up to a number, resent above what a replica has."""

from __future__ import annotations

from relive.bench._page_state import Kept, Outage


def test_kept_numbers_drops_over_its_bound_and_forgets_what_is_covered() -> None:
    kept = Kept(bound=3)
    assert [kept.keep(name) for name in "abcd"] == [1, 2, 3, 4]
    assert list(kept.items) == [(2, "b"), (3, "c"), (4, "d")] and kept.dropped == 1
    kept.covered(2)
    assert list(kept.items) == [(3, "c"), (4, "d")]
    assert kept.above(3) == [(4, "d")] and kept.above(0) == [(3, "c"), (4, "d")]
    assert kept.above(4) == []
    kept.covered(9)
    assert not kept.items and kept.keep("e") == 5


def test_an_outage_has_seconds_once_it_ended() -> None:
    outage = Outage("goaway", start=10.0)
    assert outage.seconds is None
    outage.end = 10.25
    assert outage.seconds == 0.25
