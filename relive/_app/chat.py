"""`relive chat`: a terminal chat on the session manager.

Against an in-process emulator by default (short connection lifetimes, so reconnects show),
or real Gemini when GEMINI_API_KEY is set. Lifecycle events go to stderr, dimmed, one line
each, in plain words; the conversation goes to stdout. With the emulator, `/drop`, `/goaway` and
`/expire` inject faults. `/quit`, end of input or Ctrl-C ends the chat at once.

At a terminal the prompt is prompt_toolkit's, and everything printed while it waits goes above it
(`patch_stdout`), so a status line never breaks what the user is typing. Piped input is read by a
daemon thread, so Ctrl-C never waits for a line that will not come.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import threading
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, TextIO

from google.genai import types

import relive
from relive import (
    BufferFullError,
    HandleStore,
    LiveSession,
    Metrics,
    Mode,
    SessionClosedError,
    SessionFailedError,
    _argtypes,
)
from relive._app.backing import Backing, gemini_or_emulator
from relive._extras import require

try:
    from prompt_toolkit import PromptSession
    from prompt_toolkit.patch_stdout import patch_stdout
except ImportError:  # pragma: no cover - the one clear line naming the extra
    require("relive chat", "chat")
    raise

if TYPE_CHECKING:
    from relive.emulator import Emulator

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
    p.add_argument(
        "--mode",
        choices=["text", "call"],
        default="text",
        help="text: the model answers in text; call: it answers in audio, shown as its "
        "transcription (default text)",
    )
    p.add_argument(
        "--model",
        default=DEFAULT_MODEL,
        help=f"Live model to ask on real Gemini (default {DEFAULT_MODEL}); the emulator takes any",
    )
    p.add_argument("--emulator", action="store_true", help="use the emulator even with a key")
    p.add_argument(
        "--lifetime",
        type=_argtypes.positive(float),
        default=30.0,
        metavar="SECONDS",
        help="emulator: seconds a connection lives before its goAway + close (default 30)",
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        if sys.stdin.isatty() and sys.stdout.isatty():
            with patch_stdout(raw=True):  # prints land above the prompt, never inside it
                return asyncio.run(_chat(args, None, sys.stdout, sys.stderr))
        return asyncio.run(_chat(args, sys.stdin, sys.stdout, sys.stderr))
    except KeyboardInterrupt:
        return 130


class _Printer:
    """Model text to stdout as it streams; lifecycle notes to stderr, dimmed."""

    def __init__(self, out: TextIO, err: TextIO) -> None:
        self.out, self.err = out, err
        self.dim = err.isatty()
        self.mid_line = False
        # The model is producing an answer (its generation is not complete): only then does an
        # interruption cut anything the user would miss. A line sent after generationComplete
        # interrupts the answer's audio playback on the server, but the whole text is printed.
        self.generating = False

    def note(self, text: str) -> None:
        if self.mid_line:
            self.out.write("\n")
            self.out.flush()
            self.mid_line = False
        line = f"\x1b[2m· {text}\x1b[0m" if self.dim else f"· {text}"
        self.err.write(line + "\n")
        self.err.flush()

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
        """Model words to stdout; lifecycle events as one plain line each."""
        if isinstance(event, relive.ServerMessage):
            self.server_content(event.message.server_content)
        elif isinstance(event, relive.GenerationComplete):
            self.generating = False
        elif isinstance(event, relive.TurnComplete):
            self.generating = False
            self.end_turn()
        elif isinstance(event, relive.Interrupted):
            if self.generating:  # the answer was cut short, not only its playback
                self.note("interrupted")
            self.generating = False
        elif isinstance(event, relive.Connected):
            if not event.resumed:  # a resumed connection is told by Resumed, with its downtime
                self.note("connected")
        elif isinstance(event, relive.Reconnecting):
            self.note(RECONNECTING[event.cause])
        elif isinstance(event, relive.Resumed):
            again = f"; {event.replayed} sent again" if event.replayed else ""
            self.note(f"reconnected after {event.downtime_s * 1000:.0f} ms, nothing lost{again}")
        elif isinstance(event, relive.NewSession):
            self.note(event.notice)
        elif isinstance(event, relive.GaveUp):
            self.note("could not reconnect, so the chat has ended")

    def server_content(self, content: types.LiveServerContent | None) -> None:
        """The model's words: the transcription of its speech, or its text parts."""
        if content is None:
            return
        if content.model_turn or content.output_transcription:
            self.generating = not content.generation_complete
        if content.output_transcription and content.output_transcription.text:
            self.text(content.output_transcription.text)
        elif content.model_turn:
            for part in content.model_turn.parts or []:
                if part.text and not part.thought:
                    self.text(part.text)

    def table(self, rows: list[tuple[str, str]]) -> None:
        """A small two-column table on stderr (e.g. /metrics)."""
        self.end_turn()
        width = max(len(name) for name, _ in rows)
        for name, value in rows:
            self.err.write(f"  {name.ljust(width)}  {value}\n")
        self.err.flush()


RECONNECTING = {
    "goaway": "the server is moving this chat to a new connection...",
    "drop": "the connection dropped; reconnecting...",
    "deadline": "the connection reached its time limit; reconnecting...",
}


def metrics_rows(m: Metrics) -> list[tuple[str, str]]:
    """/metrics: what happened to the connection, in a few rows."""
    causes = ", ".join(f"{cause} {n}" for cause, n in sorted(m.reconnects.items()))
    reconnects = sum(m.reconnects.values())
    return [
        ("connections", str(m.connections)),
        ("reconnects", f"{reconnects} ({causes})" if causes else "0"),
        ("downtime", f"{m.downtime_s * 1000:.0f} ms in all"),
        ("sent again", str(m.replayed)),
        ("new sessions", str(m.new_sessions)),
    ]


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


class _Lines:
    """Lines typed by the user: prompt_toolkit at a terminal, else a daemon reader thread.

    `None` is the end: end of input, Ctrl-D, or Ctrl-C at the prompt (which also sets
    `interrupted`). A daemon thread never keeps the process alive on Ctrl-C.
    """

    def __init__(self, stdin: TextIO | None) -> None:
        self.interrupted = False
        self._prompt: PromptSession[str] | None = PromptSession() if stdin is None else None
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        if stdin is not None:
            loop = asyncio.get_running_loop()
            threading.Thread(target=self._read, args=(stdin, loop), daemon=True).start()

    def _read(self, stdin: TextIO, loop: asyncio.AbstractEventLoop) -> None:
        try:
            for line in stdin:
                loop.call_soon_threadsafe(self._queue.put_nowait, line.rstrip("\n"))
            loop.call_soon_threadsafe(self._queue.put_nowait, None)
        except RuntimeError:  # the loop closed first (Ctrl-C): nobody is left to read lines
            return

    async def next(self) -> str | None:
        if self._prompt is None:
            return await self._queue.get()
        try:
            return await self._prompt.prompt_async("you: ")
        except EOFError:
            return None
        except KeyboardInterrupt:
            self.interrupted = True
            return None


async def _chat(args: argparse.Namespace, stdin: TextIO | None, out: TextIO, err: TextIO) -> int:
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
            return await _loop(session, emu, _Lines(stdin), printer)
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
    # Not wait_for: on Python 3.11 it returns the result when its future is done by the time a
    # cancel arrives, so a Ctrl-C landing as the input ended was swallowed (exit 0, not 130).
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            await done


async def _loop(
    session: LiveSession, emu: Emulator | None, lines: _Lines, printer: _Printer
) -> int:
    while True:
        printer.end_turn()
        line = await lines.next()
        if lines.interrupted:
            return 130  # Ctrl-C: at once, no waiting for a reply
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
        except SessionClosedError:
            printer.note("not sent: the chat has ended (/quit to leave)")
            continue
        except BufferFullError:
            printer.note("not sent: too much is waiting for the connection; try again shortly")
            continue
        except ValueError as e:  # a message this model does not take (see docs/session.md)
            printer.note(f"not sent: {e}")
            continue
        await _answered(session)


def _command(text: str, session: LiveSession, emu: Emulator | None, printer: _Printer) -> None:
    if text == "/metrics":
        printer.table(metrics_rows(session.metrics))
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
