"""Helpers for driving the real google-genai SDK against the emulator."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from google.genai import types
from google.genai.live import AsyncSession

MODEL = "gemini-live-2.5-flash-preview"


def text_config(**kwargs: Any) -> types.LiveConnectConfig:
    return types.LiveConnectConfig(response_modalities=[types.Modality.TEXT], **kwargs)


def resumable_config(handle: str | None = None, **kwargs: Any) -> types.LiveConnectConfig:
    return text_config(session_resumption=types.SessionResumptionConfig(handle=handle), **kwargs)


@dataclass
class Reply:
    """What one `receive()` round (up to turnComplete) brought."""

    text: str = ""
    messages: list[types.LiveServerMessage] = field(default_factory=list)

    def trace(self) -> list[str]:
        out = []
        for m in self.messages:
            for name in type(m).model_fields:
                value = getattr(m, name)
                if value is None:
                    continue
                if name == "server_content":
                    fields = [f for f in type(value).model_fields if getattr(value, f) is not None]
                    out.append("server_content." + ",".join(fields))
                else:
                    out.append(name)
        return out


async def read_turn(session: AsyncSession) -> Reply:
    reply = Reply()
    async for message in session.receive():
        reply.messages.append(message)
        content = message.server_content
        if content and content.model_turn and content.model_turn.parts:
            reply.text += "".join(p.text or "" for p in content.model_turn.parts)
    return reply


async def say(session: AsyncSession, text: str) -> Reply:
    await session.send_realtime_input(text=text)
    return await read_turn(session)


async def next_message(session: AsyncSession) -> types.LiveServerMessage:
    async for message in session.receive():
        return message
    raise AssertionError("receive() ended without a message")


async def next_handle(session: AsyncSession) -> str:
    """Read until a resumable sessionResumptionUpdate arrives; return its handle."""
    while True:
        message = await next_message(session)
        update = message.session_resumption_update
        if update is not None and update.resumable and update.new_handle:
            return update.new_handle


async def next_tool_call(session: AsyncSession) -> types.FunctionCall:
    """Read until a `toolCall` arrives; return its first function call."""
    message = await next_message(session)
    while message.tool_call is None:
        message = await next_message(session)
    assert message.tool_call.function_calls
    return message.tool_call.function_calls[0]
