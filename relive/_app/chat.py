"""`relive chat`: a terminal chat on the session manager.

Against an in-process emulator by default (short connection lifetimes, so reconnects show),
or real Gemini when GEMINI_API_KEY is set. Lifecycle events go to stderr, dimmed, one line
each; the conversation goes to stdout. With the emulator, `/drop`, `/goaway` and `/expire`
inject faults. `/quit` or end of input ends the chat.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, TextIO

from google.genai import types

from relive._app.backing import Backing, gemini_or_emulator

if TYPE_CHECKING:
    from relive.emulator import Emulator
import relive
from relive import HandleStore, LiveSession, Mode, SessionFailedError

DEFAULT_MODEL = "gemini-live-2.5-flash-preview"
HELP = "commands: /drop /goaway /expire (emulator faults), /metrics, /quit"


def register(subparsers: Any) -> None:
    """Add the `chat` subcommand."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "chat",
        help="chat in the terminal on a resilient Live session",
        description=(
            "A terminal chat on the relive session manager: against an in-process emulator, "
            "or real Gemini when GEMINI_API_KEY is set (unless --emulator)."
        ),
    )
    p.add_argument("--mode", choices=["text", "call"], default="text")
    p.add_argument("--model", default=DEFAULT_MODEL)
    p.add_argument("--emulator", action="store_true", help="use the emulator even with a key")
    p.add_argument(
        "--lifetime",
        type=_positive,
        default=30.0,
        help="emulator: seconds a connection lives before its goAway + close (default 30)",
    )
    p.set_defaults(handler=run)


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, got {text}")
    return value


def run(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_chat(args, sys.stdin, sys.stdout, sys.stderr))
    except KeyboardInterrupt:
        return 130


class _Printer:
    """Model text to stdout as it streams; lifecycle notes to stderr, dimmed."""

    def __init__(self, out: TextIO, err: TextIO) -> None:
        self.out, self.err = out, err
        self.dim = err.isatty()
        self.mid_line = False

    def note(self, text: str) -> None:
        if self.mid_line:
            self.out.write("\n")
            self.out.flush()
            self.mid_line = False
        line = f"\x1b[2m· {text}\x1b[0m" if self.dim else f"· {text}"
        self.err.write(line + "\n")
        self.err.flush()

    def prompt(self) -> None:
        self.end_turn()
        self.out.write("you: ")
        self.out.flush()

    def text(self, text: str) -> None:
        if not self.mid_line:
            self.out.write("model: ")
        self.out.write(text)
        self.out.flush()
        self.mid_line = True

    def end_turn(self) -> None:
        if self.mid_line:
            self.out.write("\n")
            self.out.flush()
            self.mid_line = False

    def event(self, event: relive.Event) -> None:
        if isinstance(event, relive.ServerMessage):
            content = event.message.server_content
            if content is None:
                return
            if content.output_transcription and content.output_transcription.text:
                self.text(content.output_transcription.text)
            elif content.model_turn:
                for part in content.model_turn.parts or []:
                    if part.text and not part.thought:
                        self.text(part.text)
        elif isinstance(event, relive.TurnComplete):
            self.end_turn()
        elif isinstance(event, relive.Interrupted):
            self.note("interrupted")
        elif isinstance(event, relive.Connected):
            self.note("connected (resumed)" if event.resumed else "connected")
        elif isinstance(event, relive.Reconnecting):
            self.note(f"reconnecting: {event.reason}")
        elif isinstance(event, relive.Resumed):
            self.note(f"resumed after {event.downtime_s:.2f}s ({event.replayed} replayed)")
        elif isinstance(event, relive.NewSession):
            self.note(event.notice)
        elif isinstance(event, relive.GaveUp):
            self.note(f"gave up: {event.reason}")


def _config(mode: Mode) -> types.LiveConnectConfig:
    if mode == "call":
        return types.LiveConnectConfig(
            response_modalities=[types.Modality.AUDIO],
            output_audio_transcription=types.AudioTranscriptionConfig(),
        )
    return types.LiveConnectConfig(response_modalities=[types.Modality.TEXT])


@contextlib.asynccontextmanager
async def _backend(args: argparse.Namespace, printer: _Printer) -> AsyncIterator[Backing]:
    from relive.emulator import EmulatorSettings

    lead = min(5.0, args.lifetime / 3)
    settings = EmulatorSettings(connection_lifetime=args.lifetime, goaway_lead=lead)
    async with gemini_or_emulator(force_emulator=args.emulator, emulator_settings=settings) as it:
        if it.emulator is None:
            printer.note(f"real Gemini, model {args.model}")
        else:
            printer.note(
                f"emulator at {it.emulator.url}; a connection lives {args.lifetime:g}s. {HELP}"
            )
        yield it


async def _read_line(stdin: TextIO) -> str | None:
    line = await asyncio.to_thread(stdin.readline)
    return line.rstrip("\n") if line else None


async def _chat(args: argparse.Namespace, stdin: TextIO, out: TextIO, err: TextIO) -> int:
    printer = _Printer(out, err)
    mode: Mode = args.mode
    async with _backend(args, printer) as backing:
        emu = backing.emulator
        session = LiveSession(
            backing.client,
            model=args.model,
            config=_config(mode),
            mode=mode,
            handles=HandleStore(),
            owner="terminal",
        )
        try:
            await session.start()
        except SessionFailedError as e:
            printer.note(f"could not connect: {e.reason}")
            return 1
        pump = asyncio.create_task(_pump(session, printer))
        try:
            return await _loop(session, emu, stdin, printer)
        finally:
            await session.close()
            await pump
            printer.end_turn()


async def _pump(session: LiveSession, printer: _Printer) -> None:
    async for event in session.events():
        printer.event(event)


async def _answered(session: LiveSession, timeout: float = 60.0) -> None:  # noqa: ASYNC109
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def finished() -> None:
        if not done.done():
            done.set_result(None)

    session.after_generation_complete(finished)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done, timeout)


async def _loop(
    session: LiveSession, emu: Emulator | None, stdin: TextIO, printer: _Printer
) -> int:
    while True:
        if stdin.isatty():
            printer.prompt()
        line = await _read_line(stdin)
        if line is None or line.strip() == "/quit":
            await _answered(session)
            return 0 if session.state.value not in ("failed",) else 1
        text = line.strip()
        if not text:
            continue
        if text.startswith("/"):
            _command(text, session, emu, printer)
            continue
        try:
            await session.send_client_content(
                turns=types.Content(role="user", parts=[types.Part(text=text)])
            )
        except Exception as e:  # closed, buffer full: say so, keep the terminal
            printer.note(f"not sent: {e}")
            continue
        await _answered(session)


def _command(text: str, session: LiveSession, emu: Emulator | None, printer: _Printer) -> None:
    if text == "/metrics":
        printer.note(str(session.metrics.to_dict()))
        return
    if emu is None:
        printer.note("faults need the emulator (run with --emulator or without GEMINI_API_KEY)")
        return
    if text == "/drop":
        emu.faults.drop()
    elif text == "/goaway":
        emu.faults.goaway_now(time_left=2.0)
    elif text == "/expire":
        emu.faults.expire_all_handles()
        emu.faults.drop()
    else:
        printer.note(HELP)
