"""The state store on a real redis-server: shared by replicas, nothing secret in clear, faults."""

from __future__ import annotations

import asyncio
import logging
import subprocess

import pytest

from relive.store import FallbackKV, RedisKV, Sealer, SharedState, new_key, open_state
from tests.redis_server import RedisServer

SEALER = Sealer.from_text(new_key())
HANDLE = "CiQ0ZTc0NjQ3Yi1mYWtlLWhhbmRsZS1mb3ItdGhlLXRlc3Q"
PAGE, SECRET, OWNER = "page-id-visible-to-the-browser", "page-secret-from-welcome", "page-ab12"


def replica(server: RedisServer) -> SharedState:
    return open_state(server.url, SEALER, page_ttl=60.0, handle_ttl=7200.0)


async def test_two_replicas_share_pages_and_handles(redis_server: RedisServer) -> None:
    a, b = replica(redis_server), replica(redis_server)
    try:
        await a.remember_page(PAGE, SECRET)
        await a.put_handle(OWNER, "call", HANDLE)
        check = await b.check_page(PAGE, SECRET)
        assert check.known and check.allowed
        assert not (await b.check_page(PAGE, "guessed")).allowed
        assert await b.get_handle(OWNER, "call") == HANDLE
        await b.forget_handle(OWNER, "call")
        assert await a.get_handle(OWNER, "call") is None
    finally:
        await a.close()
        await b.close()


async def test_ttls_follow_the_page_and_handle_ttl(redis_server: RedisServer) -> None:
    s = replica(redis_server)
    try:
        await s.remember_page(PAGE, SECRET)
        await s.put_handle(OWNER, "call", HANDLE)
    finally:
        await s.close()
    keys = redis_server.cli("--scan").split()
    ttls = {k.split(":")[1]: int(redis_server.cli("pttl", k)) for k in keys}
    assert 59_000 < ttls["page"] <= 60_000
    assert 7_199_000 < ttls["handle"] <= 7_200_000


async def test_monitor_and_dump_never_show_a_handle_a_secret_or_a_page_id(
    redis_server: RedisServer,
) -> None:
    cli = ["redis-cli", "-p", str(redis_server.port), "monitor"]
    monitor = await asyncio.create_subprocess_exec(*cli, stdout=subprocess.PIPE)
    assert monitor.stdout is not None
    assert (await monitor.stdout.readline()).strip() == b"OK"
    s = replica(redis_server)
    try:
        await s.remember_page(PAGE, SECRET)
        await s.put_handle(OWNER, "call", HANDLE)
        assert await s.get_handle(OWNER, "call") == HANDLE
        await s.kv.get("end-of-test")
        seen = b""
        while b"end-of-test" not in seen:  # MONITOR echoes every command: wait for our marker
            seen += await monitor.stdout.readline()
    finally:
        monitor.kill()
        await monitor.wait()
        await s.close()
    assert b"SET" in seen.upper() and b"relive:handle:" in seen
    for secret in (HANDLE, SECRET, PAGE, OWNER):
        assert secret.encode() not in seen
    assert redis_server.cli("save").strip() == "OK"
    dump = (redis_server.dir / "dump.rdb").read_bytes()
    assert b"relive:page:" in dump
    for secret in (HANDLE, SECRET, PAGE, OWNER):
        assert secret.encode() not in dump


async def test_redis_down_degrades_to_this_replica_and_recovers(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    kv = FallbackKV(RedisKV(redis_server.url, timeout=0.5), retry_after=0.0)
    s = SharedState(kv, SEALER, page_ttl=60.0)
    try:
        await s.put_handle(OWNER, "call", "before")
        redis_server.stop()
        with caplog.at_level(logging.WARNING, logger="relive.store"):
            await s.put_handle(OWNER, "call", "during")  # no raise: memory goes on
            assert kv.degraded
            assert await s.get_handle(OWNER, "call") == "during"
            await s.remember_page(PAGE, SECRET)
            assert (await s.check_page(PAGE, SECRET)).allowed
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert sum("unreachable" in w for w in warnings) == 1  # one warning, not one per call
        redis_server.start()
        await s.put_handle(OWNER, "call", "after")
        assert not kv.degraded
        other = replica(redis_server)
        try:
            assert await other.get_handle(OWNER, "call") == "after"
            assert (await other.check_page(PAGE, SECRET)).allowed  # written while Redis was down
        finally:
            await other.close()
        # The page record goes over; the handle Redis got after it came back is newer: kept.
        assert "reachable again (1 record(s) copied over, 1 newer ones kept)" in caplog.text
    finally:
        await s.close()
