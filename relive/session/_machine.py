"""The session manager's decisions, free of I/O: one state table, one place.

The driver tells the machine what happened (a connection opened, failed or closed, a server
message arrived, the app sent something, a timer fired); the machine answers with actions
(`Connect`, `Disconnect`, `Emit`) and the time of its next timer (`deadline`). Tests drive it
with a `ManualClock` and a seeded `random.Random`: no sockets, no sleeps.
"""

from __future__ import annotations

import logging
import random
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Any

from google.genai import types

from relive._clock import Clock
from relive._errors import IllegalTransitionError
from relive._transitions import move
from relive.session import _events as ev
from relive.session._failures import Failure, classify
from relive.session._handles import HandleStore, redact
from relive.session._herd import herd_for
from relive.session._inflight import InFlight
from relive.session._journal import Entry, Journal
from relive.session._metrics import Metrics
from relive.session._models import GEMINI_2, ModelRules
from relive.session._policy import Mode, Policy
from relive.session._restore import SEED_TURNS, RestoreLog
from relive.session._states import (
    EVENT_TRIGGERED_TRANSITIONS,
    NO_HANDLE_REASON,
    NOTICES,
    REFUSED_REASON,
    STALE_HANDLE_REASON,
    Action,
    Connect,
    Disconnect,
    Emit,
    SessionClosedError,
    State,
    Trigger,
    parse_duration,
)
from relive.transcript import Transcript

log = logging.getLogger("relive.session")
S = State
T = Trigger


@dataclass
class _Conn:
    """One connection's bookkeeping; a new connection gets a new one (h11's next cycle)."""

    conn_id: int = 0
    handle: str | None = None  # the handle it resumes (a secret: log `redact(handle)` only)
    started_at: float = 0.0  # when connecting began
    opened_at: float = 0.0  # when its setup completed
    saw_traffic: bool = False  # anything but setupComplete arrived
    # Global indices sent on it, and how many were dropped from the front.
    sent: deque[int] = field(default_factory=deque)
    sent_offset: int = 0
    flight: InFlight = field(default_factory=InFlight)  # what a handle on it holds
    stable: bool = False  # it completed a turn: the outage is over
    handle_stale: bool = False  # a turn completed after the newest handle
    reconnect_by: float | None = None  # draining: reconnect no later than this
    goaway_noted: float | None = None  # deadline of a goAway far ahead (3.8)


@dataclass
class _Turn:
    """The model's current turn; replaced by a fresh one when the turn ends."""

    in_model_turn: bool = False  # the model is speaking (or calling a tool)
    generation_done: bool = False  # generationComplete seen, turnComplete not yet
    answer_began_after: int | None = None  # last index sent when the answer began


@dataclass
class _Outage:
    """From losing a connection to the next completed turn: attempts and refusals."""

    started: float
    attempt: int = 0
    refused_since: float | None = None  # resumption refused with 1011 since then


class SessionMachine:
    """States, handles, the journal, backoff and the transcript of one managed conversation."""

    def __init__(
        self,
        *,
        mode: Mode,
        owner: str,
        handles: HandleStore,
        policy: Policy,
        clock: Clock,
        rng: random.Random,
        transcript: Transcript | None = None,
        rules: ModelRules = GEMINI_2,
    ) -> None:
        if mode not in NOTICES:
            raise ValueError(f"mode must be 'call' or 'text', got {mode!r}")
        self.mode = mode
        self.owner = owner
        self.handles = handles
        self.policy = policy
        self.clock = clock
        self.rng = rng
        self.rules = rules
        if transcript is None:
            transcript = handles.transcript(owner, mode) or Transcript()
        self.transcript = transcript
        handles.keep_transcript(owner, mode, transcript)
        self.metrics = Metrics()
        self.journal = Journal(
            max_entries=policy.max_buffered,
            max_bytes=policy.max_buffered_bytes,
            replay_media_bytes=policy.max_replay_media_bytes,
        )
        self._state = State.CONNECTING
        self.started = False
        self._conn = _Conn()
        self._turn = _Turn()
        self._outage: _Outage | None = None
        self._reply_cut = False  # a reply was under way when its connection was left
        self._cut_turn: int | None = None  # where its partial words stand in the transcript
        self._answered_any = False
        # Answered exchanges the handle in hand lacks: restored as history on a resume (also
        # one a session before this one, maybe in another process, answered after its handle).
        self.restore = RestoreLog(handles.exchanges(owner, mode))
        handles.keep_exchanges(owner, mode, self.restore.uncovered)
        self._partial_text: list[str] = []
        # The latest instructions/tools sent with send_context_update: a resumed session holds
        # them; a new one gets them in its setup.
        self.context: dict[str, Any] = {}
        self._deferred_text: list[str] = []  # user turns sent while the model was speaking
        self._lost_at: float | None = None  # when the last live connection was lost
        self._timer_at: float | None = None  # backing off: the next attempt
        # When a resumable handle is likely soon (pings then go behind every write): a turn is
        # under way or ended without its handle yet (2.x: the handle follows turnComplete), or
        # handles were seen to come at any time (3.1: while input streams).
        self._handle_due = False
        self._handles_anytime = False

    # -- reading -------------------------------------------------------------------------------

    @property
    def state(self) -> State:
        """Where the session is; it changes only through `_go`."""
        return self._state

    @property
    def conn_id(self) -> int:
        """The current connection's number (the one `Connect` last asked for)."""
        return self._conn.conn_id

    @property
    def handle(self) -> str | None:
        """The newest resumable handle (a secret: log `redact(handle)` only)."""
        return self.handles.get(self.owner, self.mode)

    @property
    def deadline(self) -> float | None:
        """When `timer()` must be called next (clock time), or None."""
        if self.state is S.DRAINING:
            return self._conn.reconnect_by
        if self.state is S.BACKING_OFF:
            return self._timer_at
        if self.state is S.LIVE and self._conn.goaway_noted is not None:
            return self._conn.goaway_noted - self.policy.goaway_drain_window
        return None

    @property
    def generating(self) -> bool:
        """The model owes (or is producing) an answer to something the app sent.

        False once generationComplete came, even while turnComplete waits for the playback.
        """
        producing = self._turn.in_model_turn and not self._turn.generation_done
        return producing or self.journal.unanswered_turns > 0

    @property
    def _mid_turn(self) -> bool:
        """The model is busy with what this connection carried."""
        return self._turn.in_model_turn or self.journal.pending_turns > 0

    def _go(self, trigger: Trigger) -> None:
        """The one door: every state change is checked against the table and logged."""
        new = move(EVENT_TRIGGERED_TRANSITIONS, self._state, trigger, f"session {self.mode}")
        log.debug(
            "session %s/%s: %s -> %s (%s)",
            self.owner,
            self.mode,
            self._state.value,
            new.value,
            trigger.value,
        )
        self._state = new

    # -- the app -------------------------------------------------------------------------------

    def start(self) -> list[Action]:
        if self.started:
            raise IllegalTransitionError("start() called twice")
        self.started = True
        if self.handle:
            self._go(T.RESUME)
        return self._connect()

    def submit(self, entry: Entry) -> list[Action]:
        """The app sent a client message: number it, keep it until settled."""
        if self.state in (S.FAILED, S.CLOSED):
            raise SessionClosedError(f"the session is {self.state.value}; nothing more can be sent")
        entry, dropped = self.journal.append(entry)
        if entry.method == "send_context_update":
            self.context.update(entry.kwargs)  # a new session starts with it (see driver)
        self.metrics.dropped_from_buffer += dropped
        if entry.opens_turn:
            self._partial_text.append(entry.text)  # a turn sent in parts
        elif entry.ends_turn:
            text = " ".join(t for t in [*self._partial_text, entry.text] if t)
            self._partial_text.clear()
            if text and self._turn.in_model_turn:
                self._deferred_text.append(text)  # after the model's turn, cut or not
            elif text:
                self.transcript.add_user_text(text)
        if self.state is not S.LIVE:
            self.metrics.buffered += 1
        return []

    def take_next(self, conn_id: int) -> Entry | None:
        """The next message to send on connection `conn_id`, if it may be sent now."""
        if self.state is not S.LIVE or conn_id != self.conn_id:
            return None
        entry = self.journal.take_next()
        if entry is not None:
            conn = self._conn
            conn.flight.taken(self.clock.now(), entry.index)
            conn.sent.append(entry.index)
            if len(conn.sent) > self.policy.max_buffered:
                conn.sent.popleft()
                conn.sent_offset += 1
        return entry

    def written(self, conn_id: int, index: int) -> None:
        """Message `index` has just been written to connection `conn_id`'s socket: its send
        time is now, not when it was taken (the write may have waited for the loop)."""
        if conn_id == self.conn_id:
            self._conn.flight.wrote(self.clock.now(), index)

    def probe_due(self, conn_id: int, *, idle: bool) -> bool:
        """Whether the driver should ping behind what it wrote on `conn_id` now (see
        `InFlight.probe_due`: behind every write while a handle is likely, else sparsely)."""
        if conn_id != self.conn_id:
            return False
        likely = self._handle_likely()
        return self._conn.flight.probe_due(self.clock.now(), idle=idle, handle_likely=likely)

    def _handle_likely(self) -> bool:
        """A resumable handle may come soon: a turn is under way, or ended without its handle
        yet (2.x: it follows turnComplete), or handles come at any time here (3.1: while input
        streams, learnt from one that came outside a turn)."""
        turn = self._turn.in_model_turn or self.journal.pending_turns > 0
        return turn or self._handle_due or self._handles_anytime

    def pinged(self, conn_id: int) -> int:
        """The driver sent a ping on `conn_id` behind everything written: returns its mark,
        to be handed back to `ponged` when its pong arrives."""
        if conn_id != self.conn_id:
            return 0
        return self._conn.flight.ping(self.clock.now())

    def ponged(self, conn_id: int, mark: int) -> None:
        """The pong of the ping sent behind index `mark` arrived: the server had read every
        message up to `mark` when it answered. The driver must report it before any server
        message received after it (they are handled in the order they arrived)."""
        if conn_id == self.conn_id:
            self._conn.flight.pong(self.clock.now(), mark)

    def close(self) -> list[Action]:
        if self.state is S.CLOSED:
            return []
        self._go(T.CLOSE)
        return [Disconnect(self.conn_id)]

    # -- connections ---------------------------------------------------------------------------

    def _connect(self) -> list[Action]:
        handle = self.handle
        self._conn = _Conn(
            self.conn_id + 1,
            handle,
            started_at=self.clock.now(),
            flight=InFlight(fixed_margin=self.policy.in_flight_margin),
        )
        self.metrics.connect_attempts += 1
        log.info("session %s/%s: connecting, handle %s", self.owner, self.mode, redact(handle))
        return [Connect(self.conn_id, handle)]

    def opened(self, conn_id: int) -> list[Action]:
        """Connection `conn_id` completed its setup."""
        if conn_id != self.conn_id or self.state not in (S.CONNECTING, S.RESUMING):
            return []
        conn = self._conn
        resumed = conn.handle is not None
        self._go(T.OPENED)
        now = self.clock.now()
        conn.flight.opened(now - conn.started_at)
        conn.opened_at = now  # the outage is over once this connection proves itself (stable)
        self.metrics.connections += 1
        replay = self.journal.rewind(self.policy.max_replay_media_bytes)
        self.metrics.replayed += len(replay)
        self._turn = _Turn()
        self.metrics.restored_exchanges += self.restore.opened(
            conn_id, resumed=resumed, history_allowed=self.rules.client_content_mid_session
        )
        out: list[Action] = [
            Emit(
                ev.Connected(
                    resumed=resumed, history=self.transcript.condensed() if resumed else None
                )
            )
        ]
        if self._lost_at is not None:
            downtime = max(0.0, now - self._lost_at)
            self.metrics.downtime_s += downtime
            self._lost_at = None
            if resumed:
                out.append(Emit(ev.Resumed(downtime_s=downtime, replayed=len(replay))))
        if self._reply_cut and self.journal.unanswered_turns > 0:
            # the turn goes again: the partial reply is void
            out.append(Emit(ev.ReplyCut(turn=self._cut_turn)))
        self._reply_cut = False
        self._cut_turn = None
        return out

    def failed(self, conn_id: int, failure: Failure) -> list[Action]:
        """Opening connection `conn_id` failed (refused, closed during setup, timed out)."""
        if conn_id != self.conn_id or self.state not in (S.CONNECTING, S.RESUMING):
            return []
        return self._after_failure(failure, saw_traffic=False)

    def closed(self, conn_id: int, failure: Failure) -> list[Action]:
        """Live connection `conn_id` ended without the manager asking."""
        if conn_id != self.conn_id:
            return []
        if self.state is S.LIVE:
            if self._conn.handle is not None and not self._conn.saw_traffic:
                verdict = classify(failure, with_handle=True, saw_traffic=False)
                if verdict == "rejected_handle":
                    self._lost_at = self.clock.now()
                    return self._after_failure(failure, saw_traffic=False)
                if verdict == "resume_refused":  # setupComplete, then 1011: still refused
                    return self._after_failure(failure, saw_traffic=False)
            why = failure.describe()
            now = self.clock.now()
            out = [*self._end_answered_turn(), Emit(ev.Reconnecting(reason=why, cause="drop"))]
            if self._conn.stable or now - self._conn.opened_at >= self.policy.stable_after:
                jitter = self._mass_drop_jitter(now)
                if jitter <= 0:
                    return [*out, *self._reconnect("drop")]
                # Many sessions dropped at once: this one's first retry waits its turn.
                out += self._leave_live("drop")
                self._outage = _Outage(started=now)
                self._go(T.BACK_OFF)
                self._timer_at = now + jitter
                return out
            # Lost right after it came up: part of the same outage, so back off (no tight loop).
            out += self._leave_live("drop")
            return [*out, *self._after_failure(failure, saw_traffic=self._conn.saw_traffic)]
        if self.state is S.DRAINING:
            return self._reconnect("goaway")
        return []

    def _mass_drop_jitter(self, now: float) -> float:
        """A random delay before the first retry, wider the more sessions just dropped."""
        peers = herd_for(self.clock).note_drop(id(self), now) - 1
        spread = min(self.policy.drop_jitter_max, peers * self.policy.drop_jitter_step)
        return self.rng.uniform(0.0, spread) if spread > 0 else 0.0

    def _after_failure(self, failure: Failure, *, saw_traffic: bool) -> list[Action]:
        with_handle = self._conn.handle is not None
        verdict = classify(failure, with_handle=with_handle, saw_traffic=saw_traffic)
        now = self.clock.now()
        if self._outage is None:
            self._outage = _Outage(started=now)
        outage = self._outage
        if verdict == "rejected_handle":
            self.metrics.rejected_handles += 1
            self.handles.forget(self.owner, self.mode)
            self._keep_with_handle()
            why = f"the resumption handle was refused ({failure.describe()})"
            if self.policy.on_rejected_handle == "give_up":
                return self._fail(why)
            return self._new_session(why)
        if verdict == "fatal":
            return self._fail(f"the server refused the session: {failure.describe()}")
        if verdict == "resume_refused":
            if outage.refused_since is None:
                outage.refused_since = now
            refused = now - outage.refused_since
            if refused >= self.policy.resume_refused_for:
                why = REFUSED_REASON.format(seconds=refused, failure=failure.describe())
                if self.policy.on_rejected_handle == "give_up":
                    return self._fail(why)
                return self._seeded_session(why)
        outage.attempt += 1
        delay = self.policy.backoff_delay(outage.attempt, self.rng)
        if now + delay - outage.started > self.policy.give_up_after:
            waited = now - outage.started
            return self._fail(
                f"could not reconnect within {self.policy.give_up_after:g}s "
                f"({outage.attempt} attempts over {waited:.1f}s); last error: {failure.describe()}"
            )
        self._go(T.BACK_OFF)
        self._timer_at = now + delay
        return []

    def _keep_with_handle(self) -> None:
        """The transcript and the exchanges go with whichever handle comes next."""
        self.handles.keep_transcript(self.owner, self.mode, self.transcript)
        self.handles.keep_exchanges(self.owner, self.mode, self.restore.uncovered)

    def _seeded_session(self, why: str) -> list[Action]:
        """A new session seeded with the condensed transcript (resumption kept being refused,
        or the handle lacks answers this model cannot be given as history)."""
        self.handles.forget(self.owner, self.mode)
        self._keep_with_handle()
        self.metrics.new_sessions += 1
        self._outage = _Outage(started=self.clock.now())
        self._flush_user_text()
        self.restore.seed(
            self.transcript.condensed(keep_recent=SEED_TURNS),
            unanswered=self.journal.unanswered_turn_texts(),
        )
        self._go(T.NEW_SESSION)
        notice = ev.NewSession(reason=why, notice=NOTICES[self.mode], seeded=True)
        return [Emit(notice), *self._connect()]

    def _new_session(self, why: str) -> list[Action]:
        self._go(T.NEW_SESSION)
        return [self._start_over(why), *self._connect()]

    def _start_over(self, why: str) -> Emit:
        """The conversation is lost: empty transcript, but the unanswered turns stay."""
        self.metrics.new_sessions += 1
        self.transcript.clear()
        self._cut_turn = None  # the partial reply went with the transcript
        self._deferred_text.clear()
        self.restore.clear()
        for text in self.journal.unanswered_turn_texts():
            self.transcript.add_user_text(text)
        self._answered_any = False
        return Emit(ev.NewSession(reason=why, notice=NOTICES[self.mode]))

    def _flush_user_text(self) -> None:
        for text in self._deferred_text:
            self.transcript.add_user_text(text)
        self._deferred_text.clear()

    def _fail(self, why: str) -> list[Action]:
        log.warning("session %s/%s gave up: %s", self.owner, self.mode, why)
        self.metrics.gave_up += 1
        undelivered: list[ev.Undelivered] = []
        for entry in self.journal.unsettled():
            last = undelivered[-1] if undelivered else None
            if entry.media and last is not None and last.kind == entry.kind:
                # a run of audio chunks: one item
                undelivered[-1] = replace(
                    last, chunks=last.chunks + 1, bytes=last.bytes + entry.size
                )
                continue
            undelivered.append(ev.Undelivered(entry.index, entry.kind, entry.text, entry.size))
        self._go(T.GIVE_UP)
        return [Disconnect(self.conn_id), Emit(ev.GaveUp(reason=why, undelivered=undelivered))]

    def _reconnect(self, cause: ev.ReconnectReason) -> list[Action]:
        """Leave the live connection now (closing it first) and open the next one."""
        out = self._leave_live(cause)
        self._outage = _Outage(started=self.clock.now())
        if self._handle_lacks_answers():
            return [*out, *self._seeded_session(STALE_HANDLE_REASON)]
        if self.handle is None:
            if self._answered_any:
                out.append(self._start_over(NO_HANDLE_REASON))
            self._go(T.CONNECT)
        else:
            self._go(T.RESUME)
        return [*out, *self._connect()]

    def _handle_lacks_answers(self) -> bool:
        """The handle is a snapshot without answers this model takes no history for (3.1)."""
        rules = self.rules
        if self.handle is None or rules.client_content_mid_session or rules.live_handles:
            return False
        return len(self.restore) > 0

    def _leave_live(self, cause: ev.ReconnectReason) -> list[Action]:
        """The live connection is over: close it, settle the transcript, count it."""
        self._lost_at = self.clock.now()
        self.metrics.reconnects[cause] += 1
        out = self._end_answered_turn()
        if self._turn.in_model_turn and not self._turn.generation_done:
            self._reply_cut = True
            self._cut_turn = self._streaming_model_turn()
        if self._mid_turn:
            self.transcript.mark_cut()
        self._flush_user_text()
        return [*out, Disconnect(self.conn_id)]

    def _streaming_model_turn(self) -> int | None:
        """The transcript index (counting folded turns) of the model turn still streaming."""
        turns = self.transcript.turns
        if turns and turns[-1].role == "model" and not turns[-1].final:
            return self.transcript.earlier_count + len(turns) - 1
        return None

    def _end_answered_turn(self) -> list[Action]:
        """The answer was whole (generationComplete) but its turnComplete will never come."""
        if not self._turn.generation_done:
            return []
        self._turn = _Turn()
        self.transcript.on_server_content(types.LiveServerContent(turn_complete=True))
        return [Emit(ev.TurnComplete(after_cut=True))]

    def take_history(self, conn_id: int) -> list[types.Content]:
        """Answered exchanges the resumed state lacks: sent first, as context (no turnComplete)."""
        return self.restore.take(conn_id) if self.state is S.LIVE else []

    # -- the server ----------------------------------------------------------------------------

    def server_message(self, conn_id: int, msg: types.LiveServerMessage) -> list[Action]:
        """A server message arrived on connection `conn_id`; it is emitted, then acted on."""
        if conn_id != self.conn_id or self.state not in (S.LIVE, S.DRAINING):
            return []
        out: list[Action] = [Emit(ev.ServerMessage(msg))]
        if msg.setup_complete is None:
            self._conn.saw_traffic = True
            if self._outage is not None:
                self._outage.refused_since = None  # the resumption was taken
        update = msg.session_resumption_update
        if update is not None:
            self._on_resumption_update(update)
        if msg.server_content is not None:
            out += self._on_content(msg.server_content)
        if msg.tool_call is not None:
            self._model_speaks()
        if msg.go_away is not None:
            out += self._on_go_away(msg.go_away)
        if self.state is S.DRAINING and self._safe():
            out += self._reconnect("goaway")
        return out

    def _on_content(self, content: types.LiveServerContent) -> list[Action]:
        out: list[Action] = []
        self.transcript.on_server_content(content)
        if content.model_turn is not None or content.output_transcription is not None:
            self._model_speaks()
        if content.generation_complete:
            # The whole answer is in: the turn counts as answered now, even if the
            # connection ends before turnComplete (which can trail by the playback time).
            if not self._turn.generation_done:
                self.journal.turn_answered(self._turn.answer_began_after)
                self.restore.answered(self.transcript)
                self._turn.generation_done = True
                self._answered_any = True
            self.restore.server_progressed()
            out.append(Emit(ev.GenerationComplete()))
        if content.interrupted:
            self._flush_user_text()
            out.append(Emit(ev.Interrupted()))
        if content.turn_complete:
            out.append(self._on_turn_complete())
        return out

    def _on_turn_complete(self) -> Emit:
        turn = self._turn
        if not turn.generation_done:
            self.journal.turn_answered(turn.answer_began_after)
            if turn.in_model_turn:  # an interrupted answer stays in the context too
                self.restore.answered(self.transcript)
        self.restore.server_progressed()
        self._turn = _Turn()
        # 2.x: the handle holding this turn comes next; 3.8 sends none after a turn (its handle
        # names the latest state), so none is awaited and pings go back to sparse.
        self._handle_due = not self.rules.live_handles
        self._conn.stable = True
        self._conn.handle_stale = not self.rules.live_handles
        self._outage = None
        self._flush_user_text()
        self._answered_any = True
        return Emit(ev.TurnComplete())

    def _model_speaks(self) -> None:
        if not self._turn.in_model_turn:
            self._turn.in_model_turn = True
            self._turn.answer_began_after = self.journal.last_sent()

    def _on_resumption_update(self, update: types.LiveServerSessionResumptionUpdate) -> None:
        conn = self._conn
        if update.resumable and update.new_handle:
            if not self._handle_likely() and conn.flight.unproven:
                self._handles_anytime = True  # it came outside a turn, with writes unproven
            self._handle_due = False
            self.handles.put(self.owner, self.mode, update.new_handle)
            conn.handle_stale = False
            self.restore.handle_issued()
            # What crossed the handle on the way stays unsettled (`InFlight`, the in-flight rule).
            self.journal.settle_answered(conn.flight.held_by_handle(self.clock.now()))
        consumed = update.last_consumed_client_message_index
        if consumed is not None:
            local = int(consumed)  # 1-based per connection (the setup message is 0)
            position = local - 1 - conn.sent_offset
            if 0 <= position < len(conn.sent):
                self.journal.settle_upto(conn.sent[position])
        while conn.sent and conn.sent[0] <= self.journal.settled:
            conn.sent.popleft()
            conn.sent_offset += 1

    def _on_go_away(self, go_away: types.LiveServerGoAway) -> list[Action]:
        now = self.clock.now()
        left = parse_duration(go_away.time_left)
        if left is None:
            left = self.policy.default_goaway_time
        if self.state is S.LIVE and left > self.policy.goaway_drain_window:
            noted = now + left  # far ahead: stay live until the drain window
            self._conn.goaway_noted = min(noted, self._conn.goaway_noted or noted)
            return []
        return self._drain(now, left)

    def _drain(self, now: float, left: float) -> list[Action]:
        """Wait for a safe point, reconnecting no later than a margin before the deadline."""
        conn = self._conn
        conn.goaway_noted = None
        deadline = now + max(0.0, left)
        reconnect_by = deadline - min(self.policy.goaway_margin, max(0.0, left) / 2)
        if self.state is S.DRAINING:
            conn.reconnect_by = min(conn.reconnect_by or reconnect_by, reconnect_by)
            return []
        self._go(T.GOAWAY)
        conn.reconnect_by = reconnect_by
        return [
            Emit(
                ev.Reconnecting(
                    reason=f"the server asked to reconnect within {left:g}s (goAway)",
                    cause="goaway",
                    deadline=deadline,
                )
            )
        ]

    def _safe(self) -> bool:
        """The model's turn is over and the handle in hand holds it."""
        return not self._mid_turn and not self._conn.handle_stale

    # -- time ----------------------------------------------------------------------------------

    def timer(self) -> list[Action]:
        now = self.clock.now()
        noted, reconnect_by = self._conn.goaway_noted, self._conn.reconnect_by
        if self.state is S.LIVE and noted is not None:
            if now < noted - self.policy.goaway_drain_window:
                return []
            out = self._drain(now, noted - now)
            return [*out, *self._reconnect("goaway")] if self._safe() else out
        if self.state is S.DRAINING and reconnect_by is not None and now >= reconnect_by:
            return self._reconnect("deadline")
        if self.state is S.BACKING_OFF and self._timer_at is not None and now >= self._timer_at:
            self._timer_at = None
            if self._handle_lacks_answers():
                return self._seeded_session(STALE_HANDLE_REASON)
            self._go(T.RESUME if self.handle else T.CONNECT)
            return self._connect()
        return []
