"""The asyncio driver: runs a `SessionMachine` over `google-genai` Live connections.

Plumbing only. One runner task opens and closes connections in the order the machine asks
(through `_connections.Connections`: the old one always closed before the next one's setup, the
next socket opened early) and fires the machine's timers; it wakes only for those, not per
message.
Per live connection, a `Link` (`_link.py`) runs a receiver task feeding server messages in and
a sender task sending journal entries out, in order, through the lean hot path (`_wire`) where
the SDK session allows it.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from types import TracebackType
from typing import Any, cast

from google import genai
from google.genai import types

from relive._clock import Clock, MonotonicClock
from relive._errors import SessionError
from relive.session import _config as session_config
from relive.session import _events as ev
from relive.session import _inputs as inputs
from relive.session import _models as models
from relive.session._after_generation import GenerationWaiters
from relive.session._batch import AudioBatcher
from relive.session._connections import Connections
from relive.session._handles import HandleStore
from relive.session._link import Link
from relive.session._machine import SessionMachine
from relive.session._metrics import Metrics
from relive.session._policy import Mode, Policy
from relive.session._queue import EventQueue
from relive.session._states import Action, Connect, Disconnect, Emit, SessionClosedError, State
from relive.transcript import Transcript

log = logging.getLogger("relive.session")

_END = object()


class SessionFailedError(SessionError, ConnectionError):
    """The session could not be (re)established; `reason` says why."""

    def __init__(self, reason: str, undelivered: list[ev.Undelivered] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.undelivered = undelivered or []


class LiveSession:
    """One Live conversation that survives goAway, drops and refused handles.

    Use `relive.connect(...)` to make one. Sends are journaled and return at once; the
    manager delivers them in order, now or on the next connection.
    """

    def __init__(
        self,
        client: genai.Client,
        *,
        model: str,
        config: types.LiveConnectConfig | dict[str, Any] | None = None,
        mode: Mode = "call",
        handles: HandleStore | None = None,
        owner: str = "default",
        policy: Policy | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        transcript: Transcript | None = None,
    ) -> None:
        self.policy = policy or Policy()
        self._client = client
        self._model = model
        self._config = session_config.prepare(config, policy=self.policy, mode=mode)
        self._rules = models.rules_for(model)
        self._clock = clock or MonotonicClock()
        self._machine = SessionMachine(
            mode=mode,
            owner=owner,
            handles=handles if handles is not None else HandleStore(),
            policy=self.policy,
            clock=self._clock,
            rng=rng or random.Random(),
            transcript=transcript,
            rules=self._rules,
        )
        self._events = EventQueue(self.policy.max_queued_events)
        self._todo: deque[Connect | Disconnect] = deque()
        self._wake = asyncio.Event()
        self._sleeping_until: float | None = None  # the deadline the runner sleeps to
        self._send_wake = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None
        self._ready: asyncio.Future[None] | None = None
        self._after_generation = GenerationWaiters()
        batch_ms = self.policy.audio_batch_ms
        self._batcher = AudioBatcher(batch_ms) if batch_ms else None
        self._batch_timer: asyncio.TimerHandle | None = None
        self._connections = Connections(
            client,
            model,
            self._config,
            rules=self._rules,
            machine=self._machine,
            policy=self.policy,
            clock=self._clock,
            apply=self._apply,
            send_wake=self._send_wake,
        )

    @property
    def _conn(self) -> Link | None:
        """The live connection, if one is open."""
        return self._connections.conn

    # -- reading -------------------------------------------------------------------------------

    @property
    def transcript(self) -> Transcript:
        """The conversation as people read it (user and model turns)."""
        return self._machine.transcript

    @property
    def metrics(self) -> Metrics:
        """Counters and times: connections, reconnects, downtime, replayed messages."""
        return self._machine.metrics

    @property
    def state(self) -> State:
        """Where the session is: connecting, live, draining, resuming, backing off, failed..."""
        return self._machine.state

    @property
    def generating(self) -> bool:
        """The model owes (or is producing) an answer to something the app sent."""
        return self._machine.generating

    @property
    def input_index(self) -> int:
        """The number of the last message sent (1, 2, ... in the order sent; audio waiting in a
        batch counts as the message it will be joined into)."""
        waiting = self._batcher is not None and self._batcher.pending
        return self._machine.journal.next_index - (0 if waiting else 1)

    @property
    def settled_index(self) -> int:
        """Every message numbered up to this is in the server's state for good: the newest
        resumable handle holds it, or it was answered and its exchange is kept with the handle
        (`HandleStore.exchanges`) to be restored. Such a message is never sent again."""
        return self._machine.journal.settled

    @property
    def config(self) -> types.LiveConnectConfig:
        """The config sent on every connection (without the handle)."""
        return self._config

    # -- lifecycle -----------------------------------------------------------------------------

    async def __aenter__(self) -> LiveSession:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def start(self) -> None:
        """Open the first connection; raises `SessionFailedError` if the manager gives up."""
        if self._runner is not None:
            raise RuntimeError("the session was already started")
        self._ready = asyncio.get_running_loop().create_future()
        self._runner = asyncio.create_task(self._run(), name="relive-session")
        try:
            await self._ready
        finally:
            self._ready = None  # kept by nothing after the start (one object less per session)

    async def close(self) -> None:
        """Close the connection and end the event stream."""
        if self._runner is None:
            return
        if self._machine.state is not State.CLOSED:
            self._flush_audio()
            self._apply(self._machine.close())
        if self._connections.connecting:
            self._runner.cancel()  # do not wait out a connect attempt nobody needs now
        # wait() neither cancels the runner if our caller is cancelled nor swallows that.
        await asyncio.wait([self._runner])
        self._after_generation.run()

    # -- sending (the SDK's AsyncSession signatures) -------------------------------------------

    async def send_client_content(
        self,
        *,
        turns: types.Content
        | types.ContentDict
        | Sequence[types.Content | types.ContentDict]
        | None = None,
        turn_complete: bool = True,
    ) -> None:
        """Turn-based content, like the SDK's; delivered in order, now or after a reconnect.

        On 3.x Live models a complete user text turn is sent as `realtimeInput.text` (they
        refuse `clientContent` mid-session); other content raises `ValueError` there unless
        the config opts in to initial history (`history_config`).
        """
        entry = inputs.client_content(turns, turn_complete)
        opted_in = models.history_opt_in(self._config)
        self._submit(models.adapt(entry, self._rules, opted_in=opted_in))

    async def send_realtime_input(
        self,
        *,
        media: types.BlobImageUnionDict | None = None,
        audio: types.BlobOrDict | None = None,
        audio_stream_end: bool | None = None,
        video: types.BlobImageUnionDict | None = None,
        text: str | None = None,
        activity_start: types.ActivityStartOrDict | None = None,
        activity_end: types.ActivityEndOrDict | None = None,
    ) -> None:
        """Realtime input (exactly one argument), like the SDK's; delivered in order.

        With `Policy.audio_batch_ms`, PCM audio chunks are joined up to that much audio first.
        """
        batcher = self._batcher
        if (
            batcher is not None
            and batcher.joinable(audio)
            and not any((media, audio_stream_end, video, text, activity_start, activity_end))
        ):
            self._check_started()
            assert isinstance(audio, types.Blob)
            for blob in batcher.add(audio):
                self._submit(inputs.realtime_input({"audio": blob}))
            if batcher.pending and self._batch_timer is None:
                delay = batcher.batch_ms / 1000
                self._batch_timer = asyncio.get_running_loop().call_later(delay, self._flush_audio)
            return
        self._submit(
            inputs.realtime_input(
                {
                    "media": media,
                    "audio": audio,
                    "audio_stream_end": audio_stream_end,
                    "video": video,
                    "text": text,
                    "activity_start": activity_start,
                    "activity_end": activity_end,
                }
            )
        )

    async def send_tool_response(
        self,
        *,
        function_responses: types.FunctionResponse
        | types.FunctionResponseDict
        | Sequence[types.FunctionResponse | types.FunctionResponseDict],
    ) -> None:
        """Answer a tool call, like the SDK's (each response needs the call's id)."""
        self._submit(inputs.tool_response(function_responses))

    async def send_context_update(
        self,
        *,
        system_instruction: types.ContentUnion | None = None,
        tools: types.ToolListUnion | None = None,
    ) -> None:
        """Update instructions/tools mid-session, like the SDK's; a new session keeps them."""
        self._submit(inputs.context_update(system_instruction, tools))

    def _check_started(self) -> None:
        if self._runner is None:
            raise SessionClosedError(
                "the session is not started: use `async with relive.connect(...)`"
            )

    def _submit(self, entry: Any) -> None:
        self._check_started()
        if self._batcher is not None and self._batcher.pending:
            self._flush_audio()  # joined audio goes before whatever comes after it
        self._apply(self._machine.submit(entry))
        self._send_wake.set()

    def _flush_audio(self) -> None:
        """Send the audio batch so far (full, timed out, or something else is being sent)."""
        if self._batch_timer is not None:
            self._batch_timer.cancel()
            self._batch_timer = None
        if self._batcher is not None:
            for blob in self._batcher.flush():
                self._apply(self._machine.submit(inputs.realtime_input({"audio": blob})))
            self._send_wake.set()

    # -- receiving -----------------------------------------------------------------------------

    async def events(self) -> AsyncIterator[ev.Event]:
        """Every server message and lifecycle event, in order, until the session ends."""
        while True:
            item = await self._events.get()
            if item is _END:
                self._events.put(_END)  # let other readers end too
                return
            yield cast(ev.Event, item)

    def after_generation_complete(self, callback: Callable[[], Any]) -> None:
        """Run `callback` (sync or async) once the model's generation is complete.

        Right away when the model is idle; otherwise at the next generationComplete (or the
        turn's end, or an interruption) after which nothing sent still waits for an answer, or
        at the session's end. The end of a turn that a newer one cut short answers no wait.
        """
        self._after_generation.add(callback)
        if not self._machine.generating:
            asyncio.get_running_loop().call_soon(self._after_generation.run)

    # -- the machine's actions -----------------------------------------------------------------

    def _apply(self, actions: list[Action]) -> None:
        wake = False
        for action in actions:
            if isinstance(action, Emit):
                self._emit(action.event)
            else:
                self._todo.append(action)
                wake = True
        # A reconnect is in sight: its socket can open while the old connection still carries
        # traffic (at a goAway) or closes; only its setup waits for the close.
        draining = self._machine.state is State.DRAINING
        if draining or (wake and any(isinstance(a, Connect) for a in actions)):
            self._connections.open_early()
        # The runner sleeps until the machine's deadline: wake it only for a connect or
        # disconnect to do or a deadline that moved, not for every message.
        if wake or self._machine.deadline != self._sleeping_until:
            self._wake.set()

    def _emit(self, event: ev.Event) -> None:
        self._events.put(event)
        if self._events.dropped != self._machine.metrics.events_dropped:
            self._machine.metrics.events_dropped = self._events.dropped
        # A turn's end answers the wait only if nothing sent since still waits for an answer:
        # "two" sent after "one"'s generationComplete ends "one" (interrupted, turnComplete),
        # and that end must not count as "two" answered.
        ended = isinstance(event, ev.GenerationComplete | ev.TurnComplete | ev.Interrupted)
        if isinstance(event, ev.GaveUp) or (ended and not self._machine.generating):
            self._after_generation.run()
        if self._ready is not None and not self._ready.done():
            if isinstance(event, ev.Connected):
                self._ready.set_result(None)
            elif isinstance(event, ev.GaveUp):
                self._ready.set_exception(SessionFailedError(event.reason, event.undelivered))

    async def _run(self) -> None:
        try:
            self._apply(self._machine.start())
            while self._todo or self._machine.state not in (State.FAILED, State.CLOSED):
                if self._todo:
                    await self._connections.do(self._todo.popleft(), self._todo)
                    continue
                self._wake.clear()
                deadline = self._sleeping_until = self._machine.deadline
                await self._sleep(deadline)
                if deadline is not None and self._clock.now() >= deadline:
                    self._apply(self._machine.timer())
        except Exception as exc:  # a bug: say so on the stream rather than hang
            log.exception("session driver failed")
            self._emit(ev.GaveUp(reason=f"internal error in the session manager: {exc!r}"))
        finally:
            await self._connections.aclose()
            self._events.put(_END)
            if self._ready is not None and not self._ready.done():
                self._ready.set_exception(SessionFailedError("the session was closed"))

    async def _sleep(self, deadline: float | None) -> None:
        """Until `_wake` is set or the deadline (clock time) passes: an alarm that sets `_wake`,
        not an `asyncio.timeout` per sleep (objects a crowd's reconnects would leave for the
        garbage collector)."""
        if deadline is None:
            await self._wake.wait()
            return
        delay = max(0.0, deadline - self._clock.now())
        alarm = asyncio.get_running_loop().call_later(delay, self._wake.set)
        try:
            await self._wake.wait()
        finally:
            alarm.cancel()
