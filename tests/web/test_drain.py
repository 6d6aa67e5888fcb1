"""A draining replica hands its pages to another one through the shared store (in process: two
backends over one store and one emulator; tests/replicas runs them as real processes)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from array import array
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Origin

from relive import Policy
from relive.emulator import Emulator
from relive.store import MemoryKV, Sealer, SharedHandles, SharedState, new_key
from relive.web import SessionSettings, WebBackend, WebSettings, create_app, make_opener, serve
from relive.web._bridge import owner_of
from relive.web._drain import drain
from tests.web.conftest import FAST
from tests.web.test_socket import closed_with, hello, next_json

SEALER = Sealer.from_text(new_key())


@contextlib.asynccontextmanager
async def replica(emu: Emulator, kv: MemoryKV) -> AsyncIterator[tuple[WebBackend, str]]:
    shared = SharedHandles(SharedState(kv, SEALER, page_ttl=30.0))
    settings = SessionSettings(policy=Policy(backoff_initial=0.05, give_up_after=10.0))
    opener = make_opener(emu.client(api_key="test-key"), settings, shared)
    backend = WebBackend(opener, WebSettings(page_ttl=30.0), shared=shared)
    async with serve(create_app(backend)) as url:
        yield backend, url


async def page_socket(url: str) -> ClientConnection:
    return await connect(url.replace("http", "ws") + "/ws", origin=Origin(url))


async def new_page(url: str) -> tuple[ClientConnection, str, str]:
    """A new page's socket on `url`: the socket, the page id and the secret it was issued."""
    page = secrets.token_hex(16)
    ws = await page_socket(url)
    return ws, page, (await hello(ws, page))["secret"]


async def chat(ws: ClientConnection, text: str, turn: int) -> str:
    await ws.send(json.dumps({"type": "text", "text": text}))
    while True:
        msg = await next_json(ws, "transcript")
        said = [str(t["text"]) for t in msg["recent"] if t["final"] and t["role"] == "model"]
        if said and f"(turn {turn}," in said[-1]:
            return said[-1]


@dataclass
class Pair:
    """Two replicas over one store and one emulator, and a page on the first with two turns."""

    emu: Emulator
    one: WebBackend
    url1: str
    two: WebBackend
    url2: str
    ws: ClientConnection
    page: str
    secret: str


Replicas = tuple[Emulator, tuple[WebBackend, str], tuple[WebBackend, str]]


@contextlib.asynccontextmanager
async def two_replicas() -> AsyncIterator[Replicas]:
    """The emulator, and two replicas (backend, url) over one store that use it."""
    kv = MemoryKV()
    async with Emulator(FAST, tls=True) as emu, replica(emu, kv) as r1, replica(emu, kv) as r2:
        yield emu, r1, r2


@contextlib.asynccontextmanager
async def a_chat_on_one_of_two() -> AsyncIterator[Pair]:
    async with two_replicas() as (emu, (one, url1), (two, url2)):
        ws, page, secret = await new_page(url1)
        await chat(ws, "alpha", 1)
        await chat(ws, "beta", 2)
        yield Pair(emu, one, url1, two, url2, ws, page, secret)


async def test_drain_moves_a_chat_to_the_other_replica() -> None:
    async with a_chat_on_one_of_two() as pair:
        emu, one, url1, two, url2 = pair.emu, pair.one, pair.url1, pair.two, pair.url2
        ws, page, secret = pair.ws, pair.page, pair.secret
        told = await drain(one, within=5.0, unready_grace=0.0)
        assert told == 1
        assert (await next_json(ws, "goaway")) == {"type": "goaway"}
        assert await closed_with(ws) == 1012
        async with httpx.AsyncClient() as http:
            ready = await http.get(url1 + "/readyz")
            assert ready.status_code == 503 and ready.json()["draining"] is True
        late = await page_socket(url1)  # a draining replica takes no page
        assert await closed_with(late) == 1012
        assert one.shared is not None
        assert await one.shared.state.get_handle(owner_of(page), "text") is not None
        # The page comes back through the load balancer, to the other replica.
        moved = await page_socket(url2)
        welcome = await hello(moved, page, secret)
        assert welcome["fresh"] is False and welcome["sessions"] == {}
        said = await chat(moved, "gamma", 3)
        assert said == "You said: gamma. (turn 3, remembers 3)"
        assert emu.stats.sessions == 1 and emu.stats.resumptions >= 1
        await moved.send(json.dumps({"type": "history", "mode": "text"}))
        history = await next_json(moved, "history")
        users = [t["text"] for t in history["turns"] if t["role"] == "user"]
        assert users == ["alpha", "beta", "gamma"]  # the transcript came along, sealed
        await moved.close()
        assert two.draining is False


async def test_a_session_ended_on_one_replica_is_not_resumed_on_another() -> None:
    async with two_replicas() as (_, (one, url1), (_, url2)):
        ws, page, secret = await new_page(url1)
        await chat(ws, "alpha", 1)
        await one.close()  # the page's sessions end (swept, or the server stops): forgotten
        assert one.shared is not None
        await one.shared.flush()
        assert await one.shared.state.get_handle(owner_of(page), "text") is None
        moved = await page_socket(url2)
        await hello(moved, page, secret)
        assert await chat(moved, "again", 1) == "You said: again. (turn 1, remembers 1)"
        await moved.close()


async def drain_held_after_close(backend: WebBackend) -> tuple[asyncio.Task[int], asyncio.Event]:
    """Start draining `backend`, held right after it closed the pages' sessions (before its
    flush and the pages' goaway) until the returned event is set."""
    assert backend.shared is not None
    closed, go_on = asyncio.Event(), asyncio.Event()
    flush = backend.shared.flush

    async def held_flush() -> None:
        closed.set()
        await go_on.wait()
        await flush()

    backend.shared.flush = held_flush  # type: ignore[method-assign]
    draining = asyncio.create_task(drain(backend, within=5.0, unready_grace=0.0))
    await closed.wait()
    return draining, go_on


async def test_a_chat_sent_while_the_replica_drains_goes_to_the_next_one() -> None:
    """A message that reaches a draining replica after it closed the page's sessions (before
    the page's socket closes) opens no session there: that session would hold the Live
    connection the next replica resumes. The page keeps it (numbered) and sends it there."""
    async with a_chat_on_one_of_two() as pair:
        one, ws = pair.one, pair.ws
        entry = one._registry.get(pair.page)
        assert entry is not None
        page_state = entry.state
        draining, go_on = await drain_held_after_close(one)
        await ws.send(json.dumps({"type": "text", "text": "gamma", "seq": 1}))
        await ws.send(json.dumps({"type": "history", "mode": "text"}))
        await next_json(ws, "history")  # handled in order: the chat message was, too
        assert page_state.sessions == {}  # no session opened again on the draining replica
        go_on.set()
        assert await draining == 1
        assert await closed_with(ws) == 1012
        moved = await page_socket(pair.url2)
        welcome = await hello(moved, pair.page, pair.secret)
        assert welcome["received"]["text"] == 0  # it never took "gamma": the page sends it again
        await moved.send(json.dumps({"type": "text", "text": "gamma", "seq": 1}))
        while True:
            msg = await next_json(moved, "transcript")
            said = [t["text"] for t in msg["recent"] if t["final"] and t["role"] == "model"]
            if said and "(turn 3," in said[-1]:
                break
        assert said[-1] == "You said: gamma. (turn 3, remembers 3)"
        assert pair.emu.stats.sessions == 1
        await moved.close()


async def call_status(ws: ClientConnection, status: str) -> None:
    while (msg := await next_json(ws, "status"))["mode"] != "call" or msg["status"] != status:
        pass


async def start_call(ws: ClientConnection) -> None:
    await ws.send(json.dumps({"type": "start", "mode": "call"}))
    await call_status(ws, "live")


async def a_spoken_turn(ws: ClientConnection) -> None:
    """Half a second of loud audio, then a mute: the emulator answers (and issues a handle)."""
    loud = array("h", [8000, -8000] * 800).tobytes()  # 100 ms of 16 kHz PCM16
    for _ in range(5):
        await ws.send(loud)
    await ws.send(json.dumps({"type": "mute", "muted": True}))
    while True:
        msg = await next_json(ws, "transcript")
        if any(t["final"] and t["role"] == "model" for t in msg["recent"]):
            return


async def a_call_handle(backend: WebBackend, page: str) -> str | None:
    assert backend.shared is not None
    await backend.shared.flush()
    return await backend.shared.state.get_handle(owner_of(page), "call")


async def test_a_hangup_while_the_replica_drains_ends_the_call_everywhere() -> None:
    """A hang-up that reaches a draining replica after it closed the page's sessions (its call
    handle left in the store for the next replica) ends the stored call: a start on the next
    replica begins a fresh call, not the one the user hung up."""
    async with a_chat_on_one_of_two() as pair:
        one, ws, emu = pair.one, pair.ws, pair.emu
        await start_call(ws)
        await a_spoken_turn(ws)
        assert one.shared is not None
        shared = one.shared
        draining, go_on = await drain_held_after_close(one)
        await SharedHandles.flush(shared)  # the call's handle is left for the next replica
        assert await shared.state.get_handle(owner_of(pair.page), "call") is not None
        await ws.send(json.dumps({"type": "hangup"}))
        await call_status(ws, "ended")
        go_on.set()
        assert await draining == 1
        assert await closed_with(ws) == 1012
        assert await a_call_handle(one, pair.page) is None
        started = emu.stats.sessions
        moved = await page_socket(pair.url2)
        await hello(moved, pair.page, pair.secret)
        await start_call(moved)
        assert emu.stats.sessions == started + 1  # a new Live session: nothing was resumed
        await moved.close()


async def test_a_hangup_on_the_next_replica_ends_the_call_a_drain_left() -> None:
    """A hang-up that reaches the replica a page moved to, which holds no call for it, still
    ends the call a drain left in the store."""
    async with a_chat_on_one_of_two() as pair:
        one, ws, emu = pair.one, pair.ws, pair.emu
        await start_call(ws)
        await a_spoken_turn(ws)
        assert await drain(one, within=5.0, unready_grace=0.0) == 1
        assert await closed_with(ws) == 1012
        assert await a_call_handle(one, pair.page) is not None  # left for the next replica
        started = emu.stats.sessions
        moved = await page_socket(pair.url2)
        await hello(moved, pair.page, pair.secret)
        await moved.send(json.dumps({"type": "hangup"}))
        await call_status(moved, "ended")
        assert await a_call_handle(pair.two, pair.page) is None
        await start_call(moved)
        assert emu.stats.sessions == started + 1
        await moved.close()
