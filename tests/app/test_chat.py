"""`relive chat` fed through stdin, as a user would run it (a real subprocess)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys


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
    # "two", sent while "one"'s audio would still be playing, interrupts that playback (at most
    # once: nothing after it is sent before its answer is whole).
    assert notes.count("· interrupted") <= 1
    assert [note for note in notes if note != "· interrupted"] == [
        "· connected",
        "· the connection dropped; reconnecting...",
        "· The call could not be resumed, so a new one was started.",
        "· connected",
    ]


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
    ) as proc:
        assert proc.stderr is not None and proc.stdin is not None
        for line in proc.stderr:
            if line.startswith("· connected"):
                break
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)  # hung forever before the fix
        assert proc.returncode == 130, err
        assert "Traceback" not in err
