"""How the web backend opens a relive session for (mode, page): model, config, handles, policy.

The google-genai client is passed in: one wired to the embedded emulator for the demo and the
tests, or a plain `genai.Client()` for real Gemini. The API key stays in that client, server side.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field

from google import genai
from google.genai import types

from relive.session import HandleStore, LiveSession, Policy, connect
from relive.store._handles import SharedHandles
from relive.web._bridge import Opener
from relive.web._protocol import Mode

# Current Live models speak natively; they answer in audio, so text mode reads the transcription.
GEMINI_MODEL = "gemini-2.5-flash-native-audio-preview-12-2025"
EMULATOR_MODEL = "models/gemini-live-2.5-flash-preview"

CALL_INSTRUCTION = "You are a friendly voice assistant. Keep answers short."
TEXT_INSTRUCTION = "You are a friendly assistant in a text chat. Keep answers short."


@dataclass(frozen=True)
class SessionSettings:
    """Which model each mode talks to, and whether text mode asks for audio (native models)."""

    call_model: str = EMULATOR_MODEL
    text_model: str = EMULATOR_MODEL
    text_as_audio: bool = False  # True: AUDIO + output transcription (native-audio models)
    voice: str | None = None
    policy: Policy = field(default_factory=Policy)


def live_config(mode: Mode, settings: SessionSettings) -> types.LiveConnectConfig:
    """The LiveConnectConfig of a mode. Compression is left to relive's default (on)."""
    audio = mode == "call" or settings.text_as_audio
    config = types.LiveConnectConfig(
        response_modalities=[types.Modality.AUDIO if audio else types.Modality.TEXT],
        system_instruction=CALL_INSTRUCTION if mode == "call" else TEXT_INSTRUCTION,
    )
    if audio:
        config.output_audio_transcription = types.AudioTranscriptionConfig()
    if mode == "call":
        config.input_audio_transcription = types.AudioTranscriptionConfig()
        if settings.voice:
            config.speech_config = types.SpeechConfig(
                voice_config=types.VoiceConfig(
                    prebuilt_voice_config=types.PrebuiltVoiceConfig(voice_name=settings.voice)
                )
            )
    return config


def make_opener(
    client: genai.Client, settings: SessionSettings, handles: HandleStore | None = None
) -> Opener:
    """An `Opener` for the bridge. Each opened session starts fresh and its handle dies with it.

    With `SharedHandles` (several replicas) a session resumes the conversation the store holds
    for (owner, mode): one another replica left when it drained or died. A session that ends
    here forgets it everywhere, unless this replica is draining (`keep_shared`).
    """
    store = handles if handles is not None else HandleStore()

    @contextlib.asynccontextmanager
    async def open_session(mode: Mode, owner: str) -> AsyncIterator[LiveSession]:
        if isinstance(store, SharedHandles):
            await store.load(owner, mode)
        else:
            store.forget(owner, mode)  # a new page session never resumes an older one
        model = settings.call_model if mode == "call" else settings.text_model
        try:
            async with connect(
                client,
                model=model,
                config=live_config(mode, settings),
                mode=mode,
                handles=store,
                owner=owner,
                policy=settings.policy,
            ) as session:
                yield session
        finally:
            store.forget(owner, mode)

    def opener(mode: Mode, owner: str) -> AbstractAsyncContextManager[LiveSession]:
        return open_session(mode, owner)

    return opener
