"""How one scripted reply is streamed: paced chunks, generationComplete, then turnComplete.

TEXT: `modelTurn` text parts (after a `thought: true` part when thoughts are asked for). AUDIO:
`modelTurn` inlineData of 24 kHz 16-bit PCM lasting as long as the text takes to say, each
followed by an `outputTranscription` chunk when asked for (the last one `finished`); the
`turnComplete` comes when the audio would have finished playing: playback time after
`generationComplete` (2.x), or after the first audio chunk (3.1; audio streams faster than real
time), times `turn_complete_lag_factor`.

Steps are made one at a time as the connection sends them, never a whole reply in advance.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Iterator
from dataclasses import dataclass

from relive.emulator._codec import JsonDict
from relive.emulator._config import SessionConfig
from relive.emulator._model import speech_pcm, split_chunks, text_tokens
from relive.emulator._profiles import TurnCompleteFrom
from relive.emulator._settings import EmulatorSettings
from relive.emulator._shapes import thought_text, thought_tokens


@functools.lru_cache(maxsize=256)
def _speech_b64(samples_seconds: float, rate: int) -> str:
    return base64.b64encode(speech_pcm(samples_seconds, rate)).decode()


@dataclass
class Step:
    """One paced send of a reply: its messages and the delay before them."""

    delay: float
    messages: list[JsonDict]
    text: str = ""
    generation_complete: bool = False
    turn_complete: bool = False


def usage(
    prompt_tokens: int, response_tokens: int, modality: str, vertex: bool, thoughts: int = 0
) -> JsonDict:
    """`usageMetadata` as the real server shapes it (Vertex names the response "candidates");
    the total counts thoughts too, as the SDK documents."""
    response = "candidates" if vertex else "response"
    shaped: JsonDict = {
        "promptTokenCount": prompt_tokens,
        f"{response}TokenCount": response_tokens,
        "totalTokenCount": prompt_tokens + response_tokens + thoughts,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt_tokens}],
        f"{response}TokensDetails": [{"modality": modality, "tokenCount": response_tokens}],
    }
    if thoughts:
        shaped["thoughtsTokenCount"] = thoughts
    return shaped


def _lookahead(chunks: Iterator[str]) -> Iterator[tuple[str, bool]]:
    """Each chunk with whether it is the last."""
    previous = next(chunks, None)
    for chunk in chunks:
        assert previous is not None
        yield previous, False
        previous = chunk
    if previous is not None:
        yield previous, True


def plan_reply(
    text: str, config: SessionConfig, settings: EmulatorSettings, prompt_tokens: int
) -> Iterator[Step]:
    """The paced steps of a reply to be sent on a timer, made lazily."""
    interval = settings.chunk_interval
    playback = 0.0
    thinking = config.thinking
    thoughts = thought_tokens(thinking, text, settings.chars_per_text_token) if thinking else 0
    chunks = _lookahead(split_chunks(text, settings.chunk_words))
    count = 0
    for i, (chunk, last) in enumerate(chunks):
        count += 1
        delay = settings.first_chunk_delay if i == 0 else interval
        if config.modality == "AUDIO":
            seconds = len(chunk) * settings.speech_seconds_per_char
            playback += seconds
            rate = settings.output_sample_rate
            audio = {
                "inlineData": {
                    "mimeType": f"audio/pcm;rate={rate}",
                    "data": _speech_b64(seconds, rate),
                }
            }
            messages: list[JsonDict] = [{"serverContent": {"modelTurn": {"parts": [audio]}}}]
            if config.output_transcription:
                said: JsonDict = {"text": chunk, "finished": True} if last else {"text": chunk}
                messages.append({"serverContent": {"outputTranscription": said}})
        else:
            messages = [{"serverContent": {"modelTurn": {"parts": [{"text": chunk}]}}}]
        if i == 0 and thinking is not None and thinking.include_thoughts:
            thought = {"text": thought_text(text), "thought": True}
            messages.insert(0, {"serverContent": {"modelTurn": {"parts": [thought]}}})
        yield Step(delay, messages, text=chunk)
    if config.modality == "AUDIO":
        response_tokens = round(playback * settings.audio_tokens_per_second)
    else:
        response_tokens = text_tokens(text, settings.chars_per_text_token)
    yield Step(
        interval, [{"serverContent": {"generationComplete": True}}], generation_complete=True
    )
    rules = config.rules
    lag = playback * rules.turn_complete_lag_factor
    if rules.profile.turn_complete_from is TurnCompleteFrom.FIRST_AUDIO:
        lag = max(0.0, lag - count * interval)  # first audio to generationComplete
    done = {
        "serverContent": {"turnComplete": True},
        "usageMetadata": usage(
            prompt_tokens, response_tokens, config.modality, config.vertex, thoughts
        ),
    }
    yield Step(lag, [done], turn_complete=True)
