"""What every part of a Live connection's state machine shares: its state, its one door for
moves (`_go`), handles, the context, and the actions it puts out.

`LiveConnection` (`_connection.py`) is this plus the model's turns (`_conn_turns.py`), the
client's input (`_conn_input.py`) and the connection's own lifecycle; each layer is a subclass of
the one before, so a handler calls what it needs by name and mypy checks it.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from typing import Any

from relive._clock import Clock
from relive._transitions import move
from relive.emulator import _closes as closes
from relive.emulator._actions import Action, Close, Emit, Send
from relive.emulator._closes import CloseReason
from relive.emulator._codec import JsonDict, ProtocolError
from relive.emulator._config import SessionConfig
from relive.emulator._faults import FaultPlan
from relive.emulator._handles import HandleRegistry
from relive.emulator._model import Conversation, text_tokens
from relive.emulator._profiles import PRE_SETUP, FirstHandle, Handles, rules_for
from relive.emulator._settings import EmulatorSettings
from relive.emulator._states import (
    EVENT_TRIGGERED_TRANSITIONS,
    TURN_TRANSITIONS,
    Auth,
    State,
    Trigger,
    TurnState,
    TurnTrigger,
)
from relive.emulator._stats import EventKind
from relive.emulator._tokens import TokenRegistry
from relive.emulator._tools import ToolLedger
from relive.emulator._turns import Step
from relive.emulator._vad import VoiceDetector

log = logging.getLogger("relive.emulator")
# Moves are logged below DEBUG: a bench serves thousands of connections, and a malformed frame
# is worth one DEBUG line, not one per move (enable with `log.setLevel(TRACE)`).
TRACE = 5


@dataclasses.dataclass
class _Reply:
    """The reply being sent: replaced whole when a turn starts or ends."""

    text: str = ""
    sent: str = ""  # what of it went out so far (an interrupted turn keeps only this)
    plan: Iterator[Step] = dataclasses.field(default_factory=lambda: iter(()))  # made lazily
    next: Step | None = None


class ConnectionCore:
    """The state of one connection and the actions it has decided on, not yet taken."""

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
        self._pending_tokens = 0.0  # media since the last user turn, rounded once there
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

    # ----- handles and context ---------------------------------------------------------------

    def _release(self) -> None:
        """From the close on, the session is free to resume elsewhere (after a hold, if any)."""
        if self.session_id is not None:
            hold = max(self._hold, self.settings.release_delay)
            self.registry.detach(self.session_id, self.conversation, hold)
            self.session_id = None

    def _resumption_update(self, event: str) -> None:
        """A handle, if the profile sends one at this `event` (setup, turn, input)."""
        config = self.config
        if config is None or self.session_id is None or self.faults.withhold_handles:
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

    def _take_pending_user(self) -> str:
        """The user texts sent since the last complete turn, as one, and forget them."""
        user_text = " ".join(t for t in self._pending_user if t)
        self._pending_user = []
        return user_text

    def _text_tokens(self, text: str) -> int:
        return text_tokens(text, self.settings.chars_per_text_token)

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
