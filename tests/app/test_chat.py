"""`relive chat` fed through stdin, as a user would run it (a real subprocess)."""

from __future__ import annotations

import asyncio
import io
import os
import re
import signal
import subprocess
import sys

import pytest
from google.genai import types

import relive
from relive._app.chat import _answered, _Printer
from relive.emulator import Emulator
from tests.emulator.sdk_helpers import MODEL
from tests.signals import sigint_default


def run_chat(stdin: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "GEMINI_API_KEY"}
    return subprocess.run(
        [sys.executable, "-m", "relive.cli", "chat", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
        check=False,
    )


def test_chat_survives_a_drop_and_shows_it_unobtrusively() -> None:
    done = run_chat("hello\n/drop\nagain\n/metrics\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "model: You said: hello. (turn 1, remembers 1)",
        "model: You said: again. (turn 2, remembers 2)",
    ]
    notes = done.stderr
    assert "· connected" in notes
    # Plain words, not close codes (issue 8 changed these lines from "reconnecting: connection
    # closed (1006): abnormal closure [internal]" and a raw metrics dict).
    assert "· the connection dropped; reconnecting..." in notes
    assert "1006" not in notes and "abnormal" not in notes
    assert re.search(r"· reconnected after \d+ ms, nothing lost", notes)
    rows = dict(line.split(None, 1) for line in notes.splitlines() if line.startswith("  "))
    assert rows["connections"] == "2" and rows["reconnects"] == "1 (drop 1)"
    assert rows["downtime"].endswith(" ms in all")


def test_chat_tells_of_a_new_session_in_call_mode() -> None:
    # The first handle comes after the first turn (2.x models): by the second answer it is held.
    # Each line is sent once the previous answer's generation is complete, so "two" is answered
    # whole before /expire, and "three" is the first turn of the new (empty) session.
    done = run_chat("one\ntwo\n/expire\nthree\n", "--mode", "call")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "model: You said: one. (turn 1, remembers 1)",
        "model: You said: two. (turn 2, remembers 2)",
        "model: You said: three. (turn 1, remembers 1)",
    ]
    notes = done.stderr.splitlines()[1:]  # after the emulator's address
    # "two", sent while "one"'s audio would still be playing, interrupts that playback on the
    # server, but every answer was printed whole: no "interrupted" line.
    assert notes == [
        "· connected",
        "· the connection dropped; reconnecting...",
        "· The call could not be resumed, so a new one was started.",
        "· connected",
    ]


def test_call_mode_says_interrupted_only_when_an_answer_was_cut() -> None:
    # Each line goes once the previous answer's generation is complete, while its audio would
    # still be playing: the server interrupts that playback, and the chat says nothing of it.
    done = run_chat("one\ntwo\nthree\n", "--mode", "call")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"model: You said: {word}. (turn {n}, remembers {n})"
        for n, word in enumerate(["one", "two", "three"], 1)
    ]
    assert done.stderr.splitlines()[1:] == ["· connected"]


def test_the_printer_says_interrupted_when_generation_was_cut() -> None:
    out, err = io.StringIO(), io.StringIO()
    printer = _Printer(out, err)
    words = types.LiveServerMessage(
        server_content=types.LiveServerContent(
            output_transcription=types.Transcription(text="You said")
        )
    )
    printer.event(relive.ServerMessage(words))
    printer.event(relive.Interrupted())  # mid-answer: the rest will not come
    printer.event(relive.TurnComplete())
    printer.event(relive.ServerMessage(words))
    printer.event(relive.GenerationComplete())
    printer.event(relive.Interrupted())  # only the playback of a whole answer
    printer.event(relive.TurnComplete())
    assert err.getvalue().splitlines() == ["· interrupted"]
    assert out.getvalue().splitlines() == ["model: You said", "model: You said"]


def test_emulator_flag_wins_over_a_key() -> None:
    env = {**os.environ, "GEMINI_API_KEY": "not-a-real-key"}
    done = subprocess.run(
        [sys.executable, "-m", "relive.cli", "chat", "--emulator"],
        input="hi\n",
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "· emulator at https://127.0.0.1:" in done.stderr
    assert "not-a-real-key" not in done.stderr + done.stdout
    assert done.stdout.strip() == "model: You said: hi. (turn 1, remembers 1)"


def test_bad_options_are_a_clear_error() -> None:
    done = run_chat("", "--lifetime", "-1")
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1] == (
        "relive chat: error: argument --lifetime: -1 must be above 0"
    )


def test_ctrl_c_ends_the_chat_at_once() -> None:
    """Ctrl-C while the chat waits for input that never comes: it ends, it does not hang."""
    env = {k: v for k, v in os.environ.items() if k != "GEMINI_API_KEY"}
    with subprocess.Popen(
        [sys.executable, "-m", "relive.cli", "chat"],
        stdin=subprocess.PIPE,  # kept open: no end of input
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=sigint_default,
    ) as proc:
        assert proc.stderr is not None and proc.stdin is not None
        for line in proc.stderr:
            if line.startswith("· connected"):
                break
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)  # hung forever before the fix
        assert proc.returncode == 130, err
        assert "Traceback" not in err


async def test_a_cancel_as_the_last_answer_is_awaited_is_never_swallowed(
    relive_emulator: Emulator,
) -> None:
    """Ctrl-C (a cancel of the main task) landing just as the input ended and the chat waits
    for the last answer must end it with 130: Python 3.11's `wait_for` returned its result
    instead when its future was done by then, and the chat exited 0 (seen under load)."""
    async with relive.connect(relive_emulator.client(), model=MODEL, mode="text") as session:
        for yields in range(8):  # the cancel at each step of the wait
            waiting = asyncio.create_task(_answered(session))
            for _ in range(yields):
                await asyncio.sleep(0)
            if waiting.done():
                break
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
