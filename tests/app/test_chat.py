"""`relive chat` fed through stdin, as a user would run it (a real subprocess)."""

from __future__ import annotations

import os
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
    assert "· reconnecting: connection closed (1006)" in notes
    assert "· resumed after" in notes
    assert "'reconnects': {'drop': 1}" in notes


def test_chat_tells_of_a_new_session_in_call_mode() -> None:
    done = run_chat("one\n/expire\ntwo\n", "--mode", "call")
    assert done.returncode == 0, done.stderr
    assert "· The call could not be resumed, so a new one was started." in done.stderr
    assert done.stdout.splitlines() == [
        "model: You said: one. (turn 1, remembers 1)",
        "model: You said: two. (turn 1, remembers 1)",
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
    assert "--lifetime: must be more than 0 seconds" in done.stderr
