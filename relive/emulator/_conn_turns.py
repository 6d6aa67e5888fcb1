"""The model's turns on one connection: a user turn answered (or held, or waiting for more),
function calls, the reply streamed step by step, interruptions."""

from __future__ import annotations

from relive.emulator._actions import Abort, CancelTimer, SetTimer
from relive.emulator._codec import JsonDict
from relive.emulator._conn_core import ConnectionCore, _Reply
from relive.emulator._model import reply_text
from relive.emulator._shapes import WAITING, waiting_for_more
from relive.emulator._states import BUSY, Trigger, TurnTrigger
from relive.emulator._stats import EventKind
from relive.emulator._tools import BlockingTurn, Call, MalformedCall, requested_calls
from relive.emulator._turns import plan_reply


class ConnectionTurns(ConnectionCore):
    """Turns, replies and function calls."""

    def _user_turn(self, text: str, tokens: int) -> None:
        assert self.config is not None
        if self.turn in BUSY:
            if not self.config.interrupts:
                self._queued.append(text)
                return
            self._interrupt()
        self._remember("user", text, tokens + round(self._pending_tokens))
        self._pending_tokens = 0.0
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
