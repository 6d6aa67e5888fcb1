"""The page registry: secrets bind a page id, and pages away too long are swept (manual clock)."""

from __future__ import annotations

import itertools

import pytest

from relive import ManualClock
from relive.web._registry import BusyError, ForbiddenError, PageRegistry

PAGE = "a" * 32
OTHER = "b" * 32


def make(clock: ManualClock, ttl: float = 60.0, max_pages: int = 10) -> PageRegistry[list[str]]:
    counter = itertools.count()
    return PageRegistry(
        clock,
        ttl=ttl,
        make_state=lambda page_id: [page_id],
        max_pages=max_pages,
        token=lambda: f"secret-{next(counter)}",
    )


def test_first_hello_creates_a_fresh_page_with_a_secret() -> None:
    reg = make(ManualClock())
    got = reg.attach(PAGE, None)
    assert got.fresh
    assert got.entry.secret == "secret-0"
    assert got.entry.state == [PAGE]


def test_reattach_needs_the_secret() -> None:
    reg = make(ManualClock())
    first = reg.attach(PAGE, None)
    reg.detach(PAGE, first.generation)
    with pytest.raises(ForbiddenError):
        reg.attach(PAGE, None)
    with pytest.raises(ForbiddenError):
        reg.attach(PAGE, "secret-guess")
    again = reg.attach(PAGE, "secret-0")
    assert not again.fresh
    assert again.entry is first.entry
    assert again.generation == first.generation + 1


def test_page_away_longer_than_ttl_is_swept_and_then_starts_fresh() -> None:
    clock = ManualClock()
    reg = make(clock, ttl=60.0)
    a = reg.attach(PAGE, None)
    b = reg.attach(OTHER, None)
    reg.detach(PAGE, a.generation)
    clock.advance(59.9)
    assert reg.sweep() == []
    clock.advance(0.1)
    gone = reg.sweep()
    assert [e.page_id for e in gone] == [PAGE]
    assert PAGE not in reg and OTHER in reg  # the attached page stays however long
    # The old secret means nothing now: the id starts over with a new secret.
    again = reg.attach(PAGE, "secret-0")
    assert again.fresh
    assert again.entry.secret != "secret-0"
    del b


def test_a_page_that_came_back_in_time_is_not_swept() -> None:
    clock = ManualClock()
    reg = make(clock, ttl=10.0)
    a = reg.attach(PAGE, None)
    reg.detach(PAGE, a.generation)
    clock.advance(9.0)
    reg.attach(PAGE, a.entry.secret)
    clock.advance(100.0)
    assert reg.sweep() == []


def test_a_stale_socket_detaching_does_not_start_the_away_time() -> None:
    clock = ManualClock()
    reg = make(clock, ttl=10.0)
    old = reg.attach(PAGE, None)
    reg.attach(PAGE, old.entry.secret)  # a new socket of the same page took over
    reg.detach(PAGE, old.generation)  # the old one's close arrives late
    clock.advance(100.0)
    assert reg.sweep() == []


def test_too_many_pages_is_refused() -> None:
    reg = make(ManualClock(), max_pages=1)
    reg.attach(PAGE, None)
    with pytest.raises(BusyError):
        reg.attach(OTHER, None)


def test_ttl_must_be_positive() -> None:
    with pytest.raises(ValueError):
        make(ManualClock(), ttl=0)


def test_one_client_holds_at_most_its_share() -> None:
    clock = ManualClock()
    reg = PageRegistry(
        clock, ttl=60.0, make_state=lambda page_id: [page_id], max_pages=10, max_pages_per_client=2
    )
    first = reg.attach("1" * 32, None, client="10.0.0.1")
    reg.attach("2" * 32, None, client="10.0.0.1")
    with pytest.raises(BusyError, match="one client"):
        reg.attach("3" * 32, None, client="10.0.0.1")
    reg.attach("4" * 32, None, client="10.0.0.2")  # everyone else still gets in
    again = reg.attach("1" * 32, first.entry.secret, client="10.0.0.1")  # coming back is not new
    assert not again.fresh and reg.pages_of("10.0.0.1") == 2
    reg.detach("1" * 32, again.generation)
    clock.advance(60.0)
    assert [e.page_id for e in reg.sweep()] == ["1" * 32]
    assert reg.pages_of("10.0.0.1") == 1
    reg.attach("3" * 32, None, client="10.0.0.1")  # the swept page freed its slot
