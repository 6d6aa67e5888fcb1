"""One Live connection as an I/O-free state machine: messages and timer ticks in, actions out.

The tables of `_states.py` hold the rules (which messages each state accepts, which turn states
new input interrupts, which trigger moves the connection and its turn where); every change of
state goes through `_go`, which checks them and logs the move. The driver owns the socket, the
timers and the clock; this class owns everything the service decides.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from typing import Any

from relive._clock import Clock
from relive._transitions import move
from relive.emulator import _closes as closes
from relive.emulator._actions import Abort, Action, CancelTimer, Close, Emit, Send, SetTimer
from relive.emulator._closes import CloseReason
from relive.emulator._codec import ClientMessage, JsonDict, ProtocolError, format_duration
from relive.emulator._config import SessionConfig, parse_setup
from relive.emulator._faults import FaultPlan
from relive.emulator._handles import HandleRegistry, HandleRejectedError
from relive.emulator._media import (
    add_media,
    audio_rate,
    check_session_limit,
    decode_bytes,
    media_tokens,
)
from relive.emulator._model import Conversation, reply_text, text_tokens
from relive.emulator._profiles import PRE_SETUP, FirstHandle, Handles, rules_for
from relive.emulator._schema import check_message
from relive.emulator._settings import EmulatorSettings
from relive.emulator._shapes import (
    WAITING,
    instruction_tokens,
    session_label,
    tool_tokens,
    voice_activity,
    waiting_for_more,
)
from relive.emulator._states import (
    ACCEPTS,
    BUSY,
    EVENT_TRIGGERED_TRANSITIONS,
    TURN_TRANSITIONS,
    Auth,
    State,
    Trigger,
    TurnState,
    TurnTrigger,
)
from relive.emulator._stats import EventKind
from relive.emulator._tokens import TokenRegistry, TokenRejectedError, constrain
from relive.emulator._tools import (
    BlockingTurn,
    Call,
    MalformedCall,
    ToolLedger,
    declared_functions,
    requested_calls,
    result_text,
    scheduling_of,
)
from relive.emulator._turns import Step, plan_reply
from relive.emulator._vad import (
    SpeechEnd,
    SpeechStart,
    VadEvent,
    VoiceDetector,
    pcm_seconds,
)

log = logging.getLogger("relive.emulator")
# Moves are logged below DEBUG: a bench serves thousands of connections, and a malformed frame
# is worth one DEBUG line, not one per move (enable with `log.setLevel(TRACE)`).
TRACE = 5

MEDIA_CHUNKS_DEPRECATED = (
    "realtime_input.media_chunks is deprecated. Use audio, video, or text instead."
)
ACTIVITY_END_AUTOMATIC = (
    "Invalid client message: activityEnd requires automatic activity detection to be disabled "
    "in setup.realtimeInputConfig."
)
AUDIO_OUTSIDE_ACTIVITY = (
    "Invalid client message: with automatic activity detection disabled, audio must come "
    "between activityStart and activityEnd."
)


@dataclasses.dataclass
class _Reply:
    """The reply being sent: replaced whole when a turn starts or ends."""

    text: str = ""
    sent: str = ""  # what of it went out so far (an interrupted turn keeps only this)
    plan: Iterator[Step] = dataclasses.field(default_factory=lambda: iter(()))  # made lazily
    next: Step | None = None


class LiveConnection:
    """The service side of one WebSocket connection."""

    def __init__(
        self,
        conn_id: int,
        auth: Auth,
        settings: EmulatorSettings,
        registry: HandleRegistry,
        faults: FaultPlan,
        clock: Clock,
        tokens: TokenRegistry | None = None,
    ) -> None:
        self.conn_id = conn_id
        self.auth = auth
        self.settings = settings
        self.registry = registry
        self.faults = faults
        self.clock = clock
        self.tokens = tokens
        self._owner = auth.api_key or ""  # whom handles are bound to
        self._state = State.AWAITING_SETUP
        self._turn = TurnState.IDLE
        self.config: SessionConfig | None = None
        self.session_id: str | None = None
        self.conversation = Conversation()
        self.consumed = 0  # client messages consumed on this connection (setup is 0)
        self._reply = _Reply()
        self._tools = ToolLedger()
        self._results: list[str] = []  # async function results waiting to be spoken
        self._queued: list[str] = []
        self._pending_user: list[str] = []
        self._pending_tokens = 0
        self._vad: VoiceDetector | None = None
        self.rules = rules_for(PRE_SETUP, settings)  # until setup names the model
        self._opened_at: float | None = None
        self._deadline: float | None = None
        self._goaway_lead = self.rules.goaway_lead
        self._went_away = False
        self._last_handle_at: float | None = None
        self._hold = 0.0  # silent-drop fault: the server holds the dead socket this long
        self._history_open = True  # 3.1: clientContent history only before any realtimeInput
        self._out: list[Action] = []
        self._handlers = {
            "clientContent": self._on_client_content,
            "realtimeInput": self._on_realtime_input,
            "toolResponse": self._on_tool_response,
            "contextUpdate": self._on_context_update,
        }

    # ----- state ----------------------------------------------------------------------------

    @property
    def state(self) -> State:
        """The connection's lifecycle state; it changes only through `_go`."""
        return self._state

    @property
    def turn(self) -> TurnState:
        """What the model is doing; it changes only through `_go`."""
        return self._turn

    def _go(self, trigger: Trigger | TurnTrigger) -> None:
        """The one door: every move is checked against the tables and logged."""
        where = f"connection {self.conn_id}"
        before: State | TurnState
        after: State | TurnState
        if isinstance(trigger, Trigger):
            before = self._state
            after = self._state = move(EVENT_TRIGGERED_TRANSITIONS, before, trigger, where)
        else:
            before = self._turn
            after = self._turn = move(TURN_TRANSITIONS, before, trigger, where)
        log.log(
            TRACE,
            "connection %s: %s -> %s (%s)",
            self.conn_id,
            before.value,
            after.value,
            trigger.value,
        )

    # ----- inputs -------------------------------------------------------------------------

    def start(self) -> list[Action]:
        """The socket is open: the lifetime runs from here, setup or not (no endless idlers),
        and setup must come within `setup_timeout`."""
        self._start_clock()
        self._out.append(SetTimer("setup", self.clock.now() + self.settings.setup_timeout))
        return self._flush()

    def _start_clock(self) -> None:
        if self._opened_at is None:
            self._opened_at = self.clock.now()
        self._deadline = self._opened_at + self.rules.connection_lifetime
        self._out.append(SetTimer("deadline", self._deadline))

    def _touch(self) -> None:
        """Client input: the idle abort (3.1) counts from here."""
        if self.rules.idle_timeout is not None:
            self._out.append(SetTimer("idle", self.clock.now() + self.rules.idle_timeout))

    def receive(self, message: ClientMessage | ProtocolError) -> list[Action]:
        """One client frame, already decoded (or the reason it could not be)."""
        if self.state is State.CLOSED:
            return []
        if self.auth.refused is not None:
            return self._close(self.auth.refused)
        if isinstance(message, ProtocolError):
            return self._close(message.close)
        if message.kind not in ACCEPTS[self.state]:
            if message.kind == "setup":
                why = "setup may only be sent once, as the first message."
            else:
                why = f"the first message must be setup (got {message.kind})."
            return self._close(closes.invalid(f"Invalid client message: {why}"))
        try:
            if self.settings.strict and not message.checked:  # the real parser's refusals
                check_message(message.kind, message.body, self.auth.api_version, self.auth.vertex)
            if message.kind == "setup":
                self._on_setup(message.body)
            else:
                self.consumed += 1
                self._touch()
                self._handlers[message.kind](message.body)
        except ProtocolError as exc:
            return self._close(exc.close)
        return self._flush()

    def timer(self, name: str) -> list[Action]:
        """A timer the machine set has come due."""
        if self.state is State.CLOSED:
            return []
        try:
            if name == "goaway":  # a lead longer than the lifetime gives goAway at setup
                self._go_away(self._goaway_lead, move_deadline=False)
            elif name == "deadline":
                self._emit(EventKind.DEADLINE)
                return self._close(
                    self.rules.deadline_close if self._went_away else closes.DEADLINE
                )
            elif name == "idle":
                self._emit(EventKind.IDLE_ABORT)
                return self._close(closes.IDLE_ABORTED)
            elif name == "step":
                self._step()
            elif name == "token_expiry":
                self._emit(EventKind.TOKEN_EXPIRED)
                return self._close(closes.TOKEN_EXPIRED_RUNNING)
            elif name == "setup" and self.state is State.AWAITING_SETUP:
                self._emit(EventKind.SETUP_TIMEOUT)
                return self._close(closes.SETUP_TIMEOUT)
        except ProtocolError as exc:
            return self._close(exc.close)
        return self._flush()

    def go_away_now(self, time_left: float | None) -> list[Action]:
        """Fault: send goAway now; the deadline moves to now + time_left."""
        if self.state in (State.OPEN, State.GOING_AWAY):
            self._go_away(self.rules.goaway_lead if time_left is None else time_left)
        return self._flush()

    def close_now(self, close: CloseReason) -> list[Action]:
        """Fault: close with this code and reason."""
        if self.state is State.CLOSED:
            return []
        return self._close(close)

    def connection_lost(self) -> list[Action]:
        """The socket is gone (either side); the session's handles start to age."""
        self._release()
        self._go(Trigger.LOST)
        return self._flush()

    def hold_on_drop(self, seconds: float) -> None:
        """Fault: when this socket dies, the server keeps holding it for `seconds`."""
        self._hold = max(0.0, seconds)

    def _release(self) -> None:
        """From the close on, the session is free to resume elsewhere (after a hold, if any)."""
        if self.session_id is not None:
            self.registry.detach(self.session_id, self.conversation, self._hold)
            self.session_id = None

    # ----- setup, resumption, lifetime ------------------------------------------------------

    def _on_setup(self, body: JsonDict) -> None:
        self._out.append(CancelTimer("setup"))
        if self.auth.ephemeral:
            body = self._admit_token(body)
        config = parse_setup(body, self.settings, self.auth)
        api_key = self._owner
        if config.handle is not None:
            try:
                if self.faults.take_refusal():
                    raise HandleRejectedError("refused", closes.HANDLE_NOT_FOUND)
                self.session_id, self.conversation = self.registry.resolve(config.handle, api_key)
            except HandleRejectedError as rejected:
                self._emit(EventKind.HANDLE_REJECTED, reason=rejected.kind)
                raise ProtocolError(rejected.close) from None
            self._emit(EventKind.RESUMED, turns=self.conversation.user_turns)
        else:
            self.session_id = self.registry.new_session()
            self._emit(EventKind.SESSION_STARTED)
        self.registry.attach(self.session_id)
        self.config = config
        self.rules = config.rules
        self._go(Trigger.SETUP)
        self._vad = VoiceDetector(
            self.settings.vad_energy_threshold, config.silence_ms, config.automatic_vad
        )
        now = self.clock.now()
        self._start_clock()  # the model's lifetime, counted from the socket's opening
        assert self._deadline is not None
        self._goaway_lead = min(self.rules.goaway_lead, self._deadline - now)
        self._out.append(SetTimer("goaway", self._deadline - self._goaway_lead))
        self._touch()
        self._send({"setupComplete": {"sessionId": session_label(self.session_id)}})
        self._resumption_update("setup")

    def _admit_token(self, body: JsonDict) -> JsonDict:
        """An ephemeral token's checks (a use spent, unless resuming) and its constraints."""
        resumption = body.get("sessionResumption")
        resuming = isinstance(resumption, dict) and bool(resumption.get("handle"))
        try:
            if self.tokens is None:
                raise TokenRejectedError("invalid", closes.TOKEN_NOT_VALID)
            token = self.tokens.admit(self.auth.api_key or "", resuming)
        except TokenRejectedError as rejected:
            self._emit(EventKind.TOKEN_REJECTED, reason=rejected.kind)
            raise ProtocolError(rejected.close) from None
        self._owner = token.owner  # handles resume with any token of the same key
        self._emit(EventKind.TOKEN_ADMITTED, resuming=resuming, used=token.used)
        self._out.append(SetTimer("token_expiry", token.expire_at))
        return constrain(body, token)

    def _go_away(self, time_left: float, move_deadline: bool = True) -> None:
        """Send goAway; on demand (fault) the deadline moves to now + time_left."""
        self._out.append(CancelTimer("goaway"))
        if move_deadline:
            self._deadline = self.clock.now() + max(0.0, time_left)
            self._out.append(SetTimer("deadline", self._deadline))
        self._send({"goAway": {"timeLeft": format_duration(time_left)}})
        self._went_away = True
        self._go(Trigger.GOAWAY)
        self._emit(EventKind.GOAWAY, time_left=time_left)

    def _resumption_update(self, event: str) -> None:
        """A handle, if the profile sends one at this `event` (setup, turn, input)."""
        config = self.config
        if config is None or self.session_id is None:
            return
        handles = self.rules.handles
        if handles is Handles.STREAMING:  # 3.1: while input streams, asked for or not
            last, now = self._last_handle_at, self.clock.now()
            if event == "input" and (last is None or now - last >= self.rules.handle_interval):
                self._issue_handle(live=False)
            return
        if not config.resumption or event == "input":
            return
        if handles is Handles.ONCE:  # 3.8: one handle right after setup, naming the latest state
            if event == "setup":
                self._issue_handle(live=True)
            return
        if event == "setup" and self.rules.first_handle is FirstHandle.FIRST_TURN:
            return
        if self.turn is TurnState.IDLE:
            self._issue_handle(live=False)
        else:
            self._send({"sessionResumptionUpdate": {"newHandle": "", "resumable": False}})

    def _issue_handle(self, live: bool) -> None:
        assert self.config is not None and self.session_id is not None
        handle = self.registry.issue(self.session_id, self._owner, self.conversation, live=live)
        update: JsonDict = {"newHandle": handle, "resumable": True}
        if self.config.transparent:
            update["lastConsumedClientMessageIndex"] = str(self.consumed)
        self._last_handle_at = self.clock.now()
        self._emit(EventKind.HANDLE_ISSUED)
        self._send({"sessionResumptionUpdate": update})

    # ----- client input ---------------------------------------------------------------------

    def _on_client_content(self, body: JsonDict) -> None:
        assert self.config is not None
        history_only = self.settings.strict and self.config.profile.client_content_history_only
        # historyConfig.initialHistoryInClientContent: until its turnComplete (or the first
        # realtimeInput) clientContent is initial history on any model, never answered.
        initial = self.config.history_in_client_content and self._history_open
        if history_only and not initial:
            raise ProtocolError(closes.INVALID_REQUEST)  # 3.1: text goes in realtimeInput
        for content in body.get("turns") or []:
            if not isinstance(content, dict):
                raise ProtocolError(closes.invalid("Invalid value at 'client_content.turns'."))
            text = " ".join(
                p["text"] for p in content.get("parts") or [] if isinstance(p.get("text"), str)
            )
            if content.get("role", "user") == "model":
                # History prefill: the user words before a model turn are a finished exchange,
                # taken into the context (and the turn count) without a reply.
                if user_text := self._take_pending_user():
                    self._remember("user", user_text, self._text_tokens(user_text))
                self._remember("model", text, self._text_tokens(text))
            else:
                self._pending_user.append(text)
        if initial:  # taken into the context, never answered
            if user_text := self._take_pending_user():
                self._remember("user", user_text, self._text_tokens(user_text))
            if body.get("turnComplete"):
                self._history_open = False  # the history is in; the conversation starts
        elif body.get("turnComplete"):
            user_text = self._take_pending_user()
            self._user_turn(user_text, self._text_tokens(user_text))

    def _take_pending_user(self) -> str:
        """The user texts sent since the last complete turn, as one, and forget them."""
        user_text = " ".join(t for t in self._pending_user if t)
        self._pending_user = []
        return user_text

    def _text_tokens(self, text: str) -> int:
        return text_tokens(text, self.settings.chars_per_text_token)

    def _check_realtime_input(self, body: JsonDict) -> None:
        """Strict: what the model or the activity-detection mode refuses (1007)."""
        assert self._vad is not None and self.config is not None
        if "mediaChunks" in body and not self.config.profile.media_chunks:
            raise ProtocolError(closes.invalid(MEDIA_CHUNKS_DEPRECATED))
        if self.config.automatic_vad:
            if "activityEnd" in body:
                raise ProtocolError(closes.invalid(ACTIVITY_END_AUTOMATIC))
        elif ("audio" in body or "mediaChunks" in body) and not (
            self._vad.in_speech or "activityStart" in body
        ):
            raise ProtocolError(closes.invalid(AUDIO_OUTSIDE_ACTIVITY))

    def _on_realtime_input(self, body: JsonDict) -> None:
        assert self._vad is not None and self.config is not None
        if self.settings.strict:
            self._check_realtime_input(body)
        self._history_open = False
        events = self._take_media(body)
        if "activityStart" in body:
            if self.config.automatic_vad:
                raise ProtocolError(
                    closes.invalid(
                        "Invalid client message: activityStart requires automatic activity "
                        "detection to be disabled in setup.realtimeInputConfig."
                    )
                )
            events += self._vad.activity_start()
        if "activityEnd" in body or body.get("audioStreamEnd"):
            events += self._vad.activity_end()
        for event in events:
            if isinstance(event, SpeechStart):
                self._speech_started()
                if self.turn in BUSY and self.config.interrupts:
                    self._interrupt()
            elif isinstance(event, SpeechEnd):
                self._spoken_turn(event.seconds)
        if isinstance(body.get("text"), str):
            text = body["text"]
            self._user_turn(text, self._text_tokens(text))
        if "audio" in body or "mediaChunks" in body or "video" in body or "text" in body:
            self._resumption_update("input")  # 3.1 sends handles while input streams

    def _take_media(self, body: JsonDict) -> list[VadEvent]:
        """Audio and video of a realtimeInput: media time, tokens, and what the detector saw."""
        assert self._vad is not None
        audio = body.get("audio")
        events = [] if audio is None else self._take_blob("audio", audio)
        for blob in body.get("mediaChunks") or ():
            events += self._take_blob("media_chunks", blob)
        if "video" in body:
            self._media(video=1.0)
        return events

    def _take_blob(self, field: str, blob: JsonDict) -> list[VadEvent]:
        assert self._vad is not None
        mime = blob.get("mimeType", "")
        data = decode_bytes(blob.get("data"), field)
        if not mime.startswith("audio/"):
            self._media(video=1.0)
            return []
        rate = audio_rate(mime, field)
        self._media(audio=pcm_seconds(data, rate))
        return self._vad.feed(data, rate)

    def _on_tool_response(self, body: JsonDict) -> None:
        for response in body.get("functionResponses") or []:
            call_id = response.get("id") if isinstance(response, dict) else None
            call = self._tools.calls.get(call_id) if isinstance(call_id, str) else None
            if call is None:
                self._emit(EventKind.TOOL_RESPONSE_IGNORED)
                continue
            result = result_text(call.name, response.get("response"))
            self._remember("tool", result, self._text_tokens(result))
            if call.non_blocking:
                self._async_result(call, response, result)
            else:
                self._blocking_result(call, result)

    def _blocking_result(self, call: Call, result: str) -> None:
        turn = self._tools.blocking
        del self._tools.calls[call.id]
        if turn is None or call.id not in turn.waiting:
            return
        turn.waiting.remove(call.id)
        turn.results.append(result)
        if not turn.waiting:  # every blocking call answered: the model replies
            self._tools.blocking = None
            self._go(TurnTrigger.TOOL_RESPONSE)
            self._start_reply(reply_text(turn.user_text, turn.n, turn.k, *turn.results))

    def _async_result(self, call: Call, response: JsonDict, result: str) -> None:
        """A NON_BLOCKING call's result, spoken (or not) as its scheduling says."""
        if not response.get("willContinue"):
            del self._tools.calls[call.id]
        scheduling = scheduling_of(response)
        self._emit(EventKind.TOOL_RESULT, id=call.id, scheduling=scheduling)
        if scheduling == "SILENT":
            return  # in the context, not spoken
        self._results.append(result)
        if self.turn is TurnState.IDLE:
            self._start_reply(self._results.pop(0))
        elif scheduling == "INTERRUPT" and self.turn is TurnState.GENERATING:
            self._interrupt()  # the turn's end speaks the waiting result

    def _on_context_update(self, body: JsonDict) -> None:
        """Replace the system instruction and/or the tools, for the turns that follow."""
        assert self.config is not None
        changed = sorted(k for k in ("systemInstruction", "tools") if k in body)
        per_token = self.settings.chars_per_text_token
        if "systemInstruction" in body:
            tokens = instruction_tokens(body["systemInstruction"], per_token)
            self.config = dataclasses.replace(self.config, instruction_tokens=tokens)
        tools = body.get("tools")
        if isinstance(tools, dict):
            profile = self.config.profile
            self.config = dataclasses.replace(
                self.config,
                functions=declared_functions(
                    tools.get("tools"), profile.non_blocking_default, profile.async_calls
                ),
                tool_tokens=tool_tokens(tools.get("tools"), per_token),
            )
        self._emit(EventKind.CONTEXT_UPDATE, changed=changed)

    def _media(self, audio: float = 0.0, video: float = 0.0) -> None:
        assert self.config is not None
        self.conversation = add_media(self.conversation, audio, video)
        self._pending_tokens += media_tokens(audio, video, self.settings)
        if self.config.compression is None:
            check_session_limit(self.conversation, self.settings)

    def _speech_started(self) -> None:
        """Voice-activity signals when asked for; the first piece of the input transcription."""
        assert self.config is not None
        if self.config.vad_signals:
            for message in voice_activity(True, self.conversation.audio_seconds):
                self._send(message)
        if self.config.input_transcription:
            self._send({"serverContent": {"inputTranscription": {"text": "[audio"}}})

    def _spoken_turn(self, seconds: float) -> None:
        """The end of speech: the transcription's last piece (`finished`), then the turn."""
        assert self.config is not None
        text = f"[audio {seconds:.2f} s]"
        if self.config.vad_signals:
            for message in voice_activity(False, self.conversation.audio_seconds):
                self._send(message)
        if self.config.input_transcription:
            piece = {"text": f" {seconds:.2f} s]", "finished": True}
            self._send({"serverContent": {"inputTranscription": piece}})
        self._user_turn(text, 0)

    # ----- turns ------------------------------------------------------------------------------

    def _user_turn(self, text: str, tokens: int) -> None:
        assert self.config is not None
        if self.turn in BUSY:
            if not self.config.interrupts:
                self._queued.append(text)
                return
            self._interrupt()
        self._remember("user", text, tokens + self._pending_tokens)
        self._pending_tokens = 0
        n, k = self.conversation.user_turns, self.conversation.remembered
        if waiting_for_more(text):  # the user trailed off: the model waits for the rest
            self._send(WAITING)
            self._emit(EventKind.TURN_COMPLETE, interrupted=False)
            return
        try:
            calls = requested_calls(text, self.config.functions)
        except MalformedCall:
            done = {"turnComplete": True, "turnCompleteReason": "MALFORMED_FUNCTION_CALL"}
            self._send({"serverContent": done})
            self._emit(EventKind.TURN_COMPLETE, interrupted=False)
            return
        if calls:
            self._call_functions(calls, text, n, k)
        else:
            self._start_reply(reply_text(text, n, k))

    def _call_functions(self, calls: list[tuple[str, JsonDict]], text: str, n: int, k: int) -> None:
        """One toolCall for every call the turn asks for; only blocking ones hold the reply."""
        assert self.config is not None
        wire, blocking = [], []
        for i, (name, args) in enumerate(calls):
            call_id = f"call-{n}-{self.conn_id}" + (f"-{i + 1}" if i else "")
            call = Call(call_id, name, self.config.functions[name])
            self._tools.open(call)
            wire.append({"id": call_id, "name": name, "args": args})
            if not call.non_blocking:
                blocking.append(call_id)
        if blocking:
            self._tools.blocking = BlockingTurn(text, n, k, blocking)
            self._go(TurnTrigger.TOOL_CALL)
            self._resumption_update("turn")
        self._send({"toolCall": {"functionCalls": wire}})
        for call_wire in wire:
            self._emit(EventKind.TOOL_CALL, id=call_wire["id"], name=call_wire["name"])
        if not blocking:  # NON_BLOCKING: the conversation goes on while the calls run
            self._start_reply(reply_text(text, n, k))

    def _remember(self, role: str, text: str, tokens: int) -> None:
        assert self.config is not None
        conv = self.conversation.add(role, text, tokens)
        if self.config.compression is not None:
            trigger, target = self.config.compression
            before = len(conv.turns)
            conv = conv.compress(trigger, target)
            if len(conv.turns) != before:
                self._emit(EventKind.COMPRESSED, dropped=before - len(conv.turns))
        elif conv.tokens > self.settings.context_window_tokens:
            self.conversation = conv
            raise ProtocolError(closes.CONTEXT_EXHAUSTED)
        self.conversation = conv

    def _start_reply(self, text: str) -> None:
        assert self.config is not None
        self._go(TurnTrigger.REPLY)
        config = self.config
        prompt = self.settings.preamble_tokens + config.instruction_tokens + config.tool_tokens
        plan = plan_reply(text, config, self.settings, prompt + self.conversation.tokens)
        self._reply = _Reply(text, plan=plan, next=next(plan, None))
        self._resumption_update("turn")
        self._out.append(SetTimer("step", self.clock.now() + self.settings.first_chunk_delay))

    def _step(self) -> None:
        reply = self._reply
        step = reply.next
        if step is None:
            return
        reply.next = next(reply.plan, None)
        for message in step.messages:
            self._send(message)
        if step.text:
            reply.sent += step.text
            if self.faults.take_drop_mid_turn():  # the reply is cut: no handle will include it
                self._go(Trigger.ABORT)
                self._drop_plan()
                self._release()
                self._out.append(Abort("drop mid-turn fault"))
                self._emit(EventKind.DROPPED_MID_TURN)
                return
        if step.generation_complete:
            self._emit(EventKind.GENERATION_COMPLETE)
        if step.turn_complete:
            self._finish_turn()
        elif reply.next is not None:
            self._out.append(SetTimer("step", self.clock.now() + reply.next.delay))

    def _finish_turn(self, text: str | None = None) -> None:
        spoken = self._reply.text if text is None else text
        self._go(TurnTrigger.FINISH if text is None else TurnTrigger.INTERRUPT)
        self._drop_plan()
        try:
            self._remember("model", spoken, self._text_tokens(spoken))
        finally:
            self._emit(EventKind.TURN_COMPLETE, interrupted=text is not None)
        if self.session_id is not None:
            self.registry.save(self.session_id, self.conversation)
        self._resumption_update("turn")
        if self._results:
            self._start_reply(self._results.pop(0))
        elif self._queued:
            self._user_turn(self._queued.pop(0), 0)

    def _interrupt(self) -> None:
        self._out.append(CancelTimer("step"))
        if cancelled := self._tools.take_blocking_ids():  # NON_BLOCKING calls run on
            self._send({"toolCallCancellation": {"ids": cancelled}})
        self._send({"serverContent": {"interrupted": True}})
        self._send({"serverContent": {"turnComplete": True}})
        self._emit(EventKind.INTERRUPTED)
        self._finish_turn(self._reply.sent)

    def _drop_plan(self) -> None:
        self._reply = _Reply()

    # ----- output -------------------------------------------------------------------------

    def _send(self, message: JsonDict) -> None:
        silent = self.state is State.GOING_AWAY and self.faults.silent_after_goaway
        if silent and "goAway" not in message:
            return
        self._out.append(Send(message))

    def _emit(self, kind: EventKind, **data: Any) -> None:
        self._out.append(Emit(kind, {"conn": self.conn_id, **data}))

    def _close(self, close: CloseReason) -> list[Action]:
        self._go(Trigger.CLOSE)
        self._drop_plan()
        self._release()
        self._out.append(Close(close.code, close.reason))
        return self._flush()

    def _flush(self) -> list[Action]:
        out, self._out = self._out, []
        return out
