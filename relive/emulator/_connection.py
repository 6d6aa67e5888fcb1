"""One Live connection as an I/O-free state machine: messages and timer ticks in, actions out.

The tables of `_states.py` hold the rules (which messages each state accepts, which turn states
new input interrupts, which trigger moves the connection and its turn where); every change of
state goes through `_go`, which checks them and logs the move. The driver owns the socket, the
timers and the clock; this class owns everything the service decides. It is built in layers, each
a module: what they share (`_conn_core.py`), the model's turns (`_conn_turns.py`), the client's
input (`_conn_input.py`), and here the connection's lifecycle: opening, setup and resumption,
timers, faults, closing.
"""

from __future__ import annotations

from typing import ClassVar

from relive.emulator import _closes as closes
from relive.emulator._actions import Action, CancelTimer, SetTimer
from relive.emulator._closes import CloseReason
from relive.emulator._codec import ClientMessage, JsonDict, ProtocolError, format_duration
from relive.emulator._config import parse_setup
from relive.emulator._conn_input import ConnectionInput
from relive.emulator._handles import HandleRejectedError
from relive.emulator._schema import check_message
from relive.emulator._shapes import session_label
from relive.emulator._states import ACCEPTS, State, Trigger
from relive.emulator._stats import EventKind
from relive.emulator._tokens import TokenRejectedError, constrain
from relive.emulator._vad import VoiceDetector


class LiveConnection(ConnectionInput):
    """The service side of one WebSocket connection."""

    # The method each kind of client message goes to, by name: looked up per message, so a
    # subclass (or a test) that replaces a method is the one called.
    _HANDLERS: ClassVar[dict[str, str]] = {
        "clientContent": "_on_client_content",
        "realtimeInput": "_on_realtime_input",
        "toolResponse": "_on_tool_response",
        "contextUpdate": "_on_context_update",
    }

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
                getattr(self, self._HANDLERS[message.kind])(message.body)
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

    def peer_closed(self) -> list[Action]:
        """The client's close frame came, and everything it sent before it is taken in: the
        server lets go of the session now, before the socket's own close completes."""
        self._release()
        return self._flush()

    def hold_on_drop(self, seconds: float) -> None:
        """Fault: when this socket dies, the server keeps holding it for `seconds`."""
        self._hold = max(0.0, seconds)

    # ----- setup and lifetime -----------------------------------------------------------------

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
