"""What the emulator does with every `LiveConnectConfig` field and client message field.

The field list comes from the installed google-genai SDK's types, so a field the SDK grows shows
up here unclassified and `tests/emulator/test_emulator_coverage.py` fails until it is sorted in.
`python -m relive.emulator._coverage --write` regenerates the table in docs/emulator.md.
"""

from __future__ import annotations

import sys
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from relive.emulator._schema import fields_of

HANDLED = "handled"
IGNORED = "ignored on purpose"
REJECTED = "rejected where the real API rejects it"

_SCRIPTED = "the scripted model's words do not depend on it"

# Path (SDK field names; `x.*` covers everything below x) -> (status, what the emulator does).
CONFIG: dict[str, tuple[str, str]] = {
    "http_options": (IGNORED, "an SDK option, never sent"),
    "generation_config": (
        HANDLED,
        "sent as `setup.generationConfig`; its fields act as the same-named ones below",
    ),
    "response_modalities": (
        HANDLED,
        "exactly one, TEXT or AUDIO, and one the model produces (else 1007); AUDIO by default",
    ),
    "temperature": (IGNORED, f"sampling: {_SCRIPTED}"),
    "top_p": (IGNORED, f"sampling: {_SCRIPTED}"),
    "top_k": (IGNORED, f"sampling: {_SCRIPTED}"),
    "seed": (IGNORED, f"sampling: {_SCRIPTED}"),
    "max_output_tokens": (IGNORED, "scripted replies are short (a quote of at most 2000 chars)"),
    "media_resolution": (IGNORED, "video is counted at `video_tokens_per_frame` whatever it is"),
    "speech_config": (IGNORED, "output audio is a tone: no voice, no language"),
    "speech_config.*": (IGNORED, "output audio is a tone: no voice, no language"),
    "thinking_config": (HANDLED, "thinking on: `thoughtsTokenCount` in `usageMetadata`"),
    "thinking_config.include_thoughts": (HANDLED, "a `thought: true` part opens each reply"),
    "thinking_config.thinking_budget": (HANDLED, "0 turns thinking off; a positive one caps it"),
    "thinking_config.thinking_level": (IGNORED, "the scripted thought has one length"),
    "enable_affective_dialog": (
        REJECTED,
        "1007 outside v1alpha (Developer API) or on a model without it; else without effect",
    ),
    "system_instruction": (
        HANDLED,
        f"counted in `promptTokenCount`, replaced by `contextUpdate`; {_SCRIPTED}",
    ),
    "tools": (
        HANDLED,
        "declared functions are called by the phrase `call NAME with {JSON}`; counted in usage",
    ),
    "session_resumption": (HANDLED, "handles on the profile's cadence"),
    "session_resumption.handle": (HANDLED, "resumes that session's snapshot (or 1008/1011)"),
    "session_resumption.transparent": (
        HANDLED,
        "Vertex paths: `lastConsumedClientMessageIndex` on resumable updates",
    ),
    "input_audio_transcription": (HANDLED, "incremental `inputTranscription`, `finished` at end"),
    "input_audio_transcription.*": (IGNORED, "the transcript is always `[audio N s]`"),
    "output_audio_transcription": (HANDLED, "`outputTranscription` per chunk, last `finished`"),
    "output_audio_transcription.*": (IGNORED, "the transcript is the reply's text"),
    "realtime_input_config": (HANDLED, "activity detection and barge-in"),
    "realtime_input_config.automatic_activity_detection": (HANDLED, "see its fields"),
    "realtime_input_config.automatic_activity_detection.disabled": (
        HANDLED,
        "manual `activityStart`/`activityEnd` (mistakes: 1007)",
    ),
    "realtime_input_config.automatic_activity_detection.start_of_speech_sensitivity": (
        IGNORED,
        "one energy threshold (`vad_energy_threshold`)",
    ),
    "realtime_input_config.automatic_activity_detection.end_of_speech_sensitivity": (
        IGNORED,
        "one energy threshold (`vad_energy_threshold`)",
    ),
    "realtime_input_config.automatic_activity_detection.prefix_padding_ms": (
        IGNORED,
        "speech starts at the first loud 10 ms frame",
    ),
    "realtime_input_config.automatic_activity_detection.silence_duration_ms": (
        HANDLED,
        "silence that ends a spoken turn",
    ),
    "realtime_input_config.activity_handling": (HANDLED, "NO_INTERRUPTION queues input"),
    "realtime_input_config.turn_coverage": (IGNORED, "every chunk counts as media time"),
    "realtime_input_config.interim_transcript_timestamp_enabled": (
        IGNORED,
        "no interim transcripts",
    ),
    "context_window_compression": (HANDLED, "sliding window over the context"),
    "context_window_compression.trigger_tokens": (HANDLED, "when compression starts"),
    "context_window_compression.sliding_window": (HANDLED, "without it, no compression"),
    "context_window_compression.sliding_window.target_tokens": (HANDLED, "what it keeps"),
    "proactivity": (
        REJECTED,
        "1007 outside v1alpha (Developer API) or on a model without it; else without effect",
    ),
    "proactivity.*": (IGNORED, "the scripted model answers every turn"),
    "explicit_vad_signal": (
        HANDLED,
        "voice-activity messages at speech start and end (the Python SDK sends it on Vertex only)",
    ),
    "history_config": (HANDLED, "see its field"),
    "history_config.initial_history_in_client_content": (
        HANDLED,
        "clientContent up to its turnComplete is initial history, never answered (any model); "
        "3.1 takes clientContent only so (else 1007)",
    ),
    "avatar_config": (IGNORED, "avatars (video output) are not emulated"),
    "avatar_config.*": (IGNORED, "avatars (video output) are not emulated"),
    "safety_settings": (IGNORED, "scripted replies are never blocked"),
    "translation_config": (IGNORED, "no translation: replies quote the input"),
    "translation_config.*": (IGNORED, "no translation: replies quote the input"),
    "labels": (IGNORED, "billing labels: no effect on the conversation"),
}

MESSAGES: dict[str, tuple[str, str]] = {
    "client_content.turns": (HANDLED, "user texts make a turn; `model` turns prefill history"),
    "client_content.turn_complete": (HANDLED, "the user turn is answered"),
    "realtime_input.media_chunks": (HANDLED, "audio/video media (3.1: 1007, deprecated)"),
    "realtime_input.audio": (HANDLED, "16-bit PCM: media time, energy activity detection"),
    "realtime_input.audio_stream_end": (HANDLED, "ends the spoken turn"),
    "realtime_input.video": (HANDLED, "one frame: media time and tokens"),
    "realtime_input.text": (HANDLED, "a user turn, answered"),
    "realtime_input.activity_start": (HANDLED, "manual activity detection only (else 1007)"),
    "realtime_input.activity_end": (HANDLED, "manual activity detection only (else 1007)"),
    "tool_response.function_responses": (HANDLED, "answers the open calls by id"),
    "tool_response.function_responses.id": (HANDLED, "which call it answers"),
    "tool_response.function_responses.name": (IGNORED, "the id names the call"),
    "tool_response.function_responses.response": (HANDLED, "quoted in the reply"),
    "tool_response.function_responses.will_continue": (HANDLED, "the call stays open"),
    "tool_response.function_responses.scheduling": (HANDLED, "INTERRUPT, WHEN_IDLE, SILENT"),
    "tool_response.function_responses.parts": (IGNORED, "only `response` is quoted"),
    "tool_response.function_responses.parts.*": (IGNORED, "only `response` is quoted"),
    "context_update.system_instruction": (HANDLED, "replaces it for the turns that follow"),
    "context_update.tools": (HANDLED, "replaces the declared functions"),
    "context_update.tools.tools": (HANDLED, "the new declarations"),
}


def _sdk() -> Any:
    from google.genai import types

    return types


def _model_of(kind: Any) -> type[BaseModel] | None:
    if typing.get_origin(kind) is list:
        args = typing.get_args(kind)
        kind = args[0] if args else None
    return kind if isinstance(kind, type) and issubclass(kind, BaseModel) else None


def _walk(model: type[BaseModel], prefix: str, stop: frozenset[Any], out: list[str]) -> None:
    for field in fields_of(model).values():
        path = f"{prefix}{field.name}"
        out.append(path)
        nested = _model_of(field.kind)
        if nested is not None and nested not in stop:
            _walk(nested, path + ".", stop, out)


def config_fields() -> list[str]:
    """Every `LiveConnectConfig` field, nested config types included (data types not)."""
    t = _sdk()
    stop = frozenset({t.HttpOptions, t.GenerationConfig, t.Content, t.Tool, t.SafetySetting})
    out: list[str] = []
    _walk(t.LiveConnectConfig, "", stop, out)
    return out


def message_fields() -> list[str]:
    """Every field of the client messages after setup, down to function responses."""
    t = _sdk()
    stop = frozenset({t.Content, t.Blob, t.Tool, t.ActivityStart, t.ActivityEnd})
    out: list[str] = []
    messages = [
        ("client_content", t.LiveClientContent),
        ("realtime_input", t.LiveClientRealtimeInput),
        ("tool_response", t.LiveClientToolResponse),
        ("context_update", getattr(t, "LiveClientContextUpdate", None)),  # not in 2.25
    ]
    for name, model in messages:
        if model is not None:
            _walk(model, name + ".", stop, out)
    return out


def classify(path: str, table: dict[str, tuple[str, str]]) -> tuple[str, str] | None:
    """The row that covers `path`: its own, or the nearest `x.*` above it."""
    if path in table:
        return table[path]
    parts = path.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        row = table.get(".".join(parts[:cut]) + ".*")
        if row is not None:
            return row
    return None


def unclassified() -> list[str]:
    """SDK fields the tables do not classify (empty when the docs are complete)."""
    missing = [p for p in config_fields() if classify(p, CONFIG) is None]
    return missing + [p for p in message_fields() if classify(p, MESSAGES) is None]


def markdown() -> str:
    """The coverage tables as they stand in docs/emulator.md."""
    lines: list[str] = []
    for title, fields, table in (
        ("`LiveConnectConfig` field", config_fields(), CONFIG),
        ("client message field", message_fields(), MESSAGES),
    ):
        lines += [f"| {title} | status | what the emulator does |", "|---|---|---|"]
        shown: set[str] = set()
        for path in fields:
            key = path if path in table else None
            if key is None:
                parts = path.split(".")
                for cut in range(len(parts) - 1, 0, -1):
                    if ".".join(parts[:cut]) + ".*" in table:
                        key = ".".join(parts[:cut]) + ".*"
                        break
            if key is None or key in shown:
                continue
            shown.add(key)
            status, what = table[key]
            lines.append(f"| `{key}` | {status} | {what} |")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


START = "<!-- coverage: generated by python -m relive.emulator._coverage --write -->"
END = "<!-- coverage: end -->"
DOC = Path(__file__).resolve().parents[2] / "docs" / "emulator.md"


def documented(doc: str) -> str:
    """The generated part of docs/emulator.md."""
    return doc.partition(START)[2].partition(END)[0].strip("\n") + "\n"


def main(argv: list[str]) -> int:
    if unclassified():
        print("unclassified SDK fields: " + ", ".join(unclassified()), file=sys.stderr)
        return 1
    if argv[1:] == ["--write"]:
        doc = DOC.read_text()
        head, _, rest = doc.partition(START)
        _, _, tail = rest.partition(END)
        DOC.write_text(f"{head}{START}\n\n{markdown()}\n{END}{tail}")
        return 0
    print(markdown(), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
