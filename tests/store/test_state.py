"""Page secrets and handles in the state store, with TTLs on an injected clock (memory store)."""

from __future__ import annotations

import pytest

from relive._clock import ManualClock
from relive.store import MemoryKV, Sealer, SharedState, StoreError, new_key, open_state

SEALER = Sealer.from_text(new_key())


def state(clock: ManualClock, sealer: Sealer | None = SEALER) -> SharedState:
    return SharedState(MemoryKV(clock), sealer, page_ttl=60.0, handle_ttl=7200.0)


async def test_a_page_is_checked_by_its_secret_hash() -> None:
    clock = ManualClock()
    s = state(clock)
    assert (await s.check_page("page-1", "s3cret")).known is False
    await s.remember_page("page-1", "s3cret")
    ok = await s.check_page("page-1", "s3cret")
    assert ok.known and ok.allowed
    for wrong in ("other", None, ""):
        bad = await s.check_page("page-1", wrong)
        assert bad.known and not bad.allowed
    values = [v for v, _ in s.kv._items.values()]  # type: ignore[attr-defined]
    assert all("s3cret" not in v and "page-1" not in v for v in values)
    assert all("page-1" not in k for k in s.kv._items)  # type: ignore[attr-defined]


async def test_a_page_record_lives_page_ttl_after_its_last_touch() -> None:
    clock = ManualClock()
    s = state(clock)
    await s.remember_page("p", "x")
    clock.advance(59.0)
    await s.touch_page("p", "x")
    clock.advance(59.0)
    assert (await s.check_page("p", "x")).allowed
    clock.advance(1.0)
    assert not (await s.check_page("p", "x")).known


async def test_handles_are_sealed_and_expire_after_handle_ttl() -> None:
    clock = ManualClock()
    s = state(clock)
    await s.put_handle("page-abc", "call", "HANDLE-1")
    await s.put_handle("page-abc", "call", "HANDLE-2")
    assert await s.get_handle("page-abc", "call") == "HANDLE-2"
    assert await s.get_handle("page-abc", "text") is None
    raw = [v for v, _ in s.kv._items.values()]  # type: ignore[attr-defined]
    assert raw and all("HANDLE" not in v for v in raw)
    clock.advance(7199.0)
    assert await s.get_handle("page-abc", "call") == "HANDLE-2"
    clock.advance(1.0)
    assert await s.get_handle("page-abc", "call") is None


async def test_a_handle_from_another_key_ring_is_dropped_not_raised() -> None:
    clock = ManualClock()
    kv = MemoryKV(clock)
    one = SharedState(kv, SEALER, page_ttl=60)
    other = SharedState(kv, Sealer.from_text(new_key()), page_ttl=60)
    await one.put_handle("o", "call", "H")
    assert await other.get_handle("o", "call") is None
    await one.forget_handle("o", "call")
    assert await one.get_handle("o", "call") is None


async def test_without_a_seal_key_no_handle_leaves_the_process() -> None:
    s = state(ManualClock(), sealer=None)
    await s.put_handle("o", "call", "H")
    assert len(s.kv) == 0  # type: ignore[arg-type]
    assert await s.get_handle("o", "call") is None


def test_store_urls() -> None:
    assert isinstance(open_state(None, None, page_ttl=1).kv, MemoryKV)
    assert isinstance(open_state("memory", None, page_ttl=1).kv, MemoryKV)
    with pytest.raises(StoreError, match="unknown store 'mysql://x'"):
        open_state("mysql://x", None, page_ttl=1)
    with pytest.raises(ValueError):
        open_state("memory", None, page_ttl=0)
