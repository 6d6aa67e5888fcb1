"""The client's input on one connection: clientContent (turns and history), realtimeInput (text,
audio and video, voice activity), toolResponse and contextUpdate, each checked as the real
service checks it."""

from __future__ import annotations

import dataclasses

from relive.emulator import _closes as closes
from relive.emulator._codec import JsonDict, ProtocolError
from relive.emulator._conn_turns import ConnectionTurns
from relive.emulator._media import (
    add_media,
    audio_rate,
    check_session_limit,
    decode_bytes,
    media_tokens,
)
from relive.emulator._model import reply_text
from relive.emulator._shapes import instruction_tokens, tool_tokens, voice_activity
from relive.emulator._states import BUSY, TurnState, TurnTrigger
from relive.emulator._stats import EventKind
from relive.emulator._tools import Call, declared_functions, result_text, scheduling_of
from relive.emulator._vad import SpeechEnd, SpeechStart, VadEvent, pcm_seconds

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


class ConnectionInput(ConnectionTurns):
    """The handlers of client messages after setup."""

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
