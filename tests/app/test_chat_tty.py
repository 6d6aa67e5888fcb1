"""`relive chat` at a real terminal (a pseudo-terminal): status lines go above the prompt, never
into it, and Ctrl-C at the prompt ends the chat at once.
"""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a pty")

ESCAPES = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")  # prompt_toolkit's cursor and colour codes


class Terminal:
    """`relive chat` on a pty; `until()` reads its output up to a token (no sleeps)."""

    def __init__(self) -> None:
        master, slave = pty.openpty()
        env = {k: v for k, v in os.environ.items() if k != "GEMINI_API_KEY"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "relive.cli", "chat"],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env={**env, "TERM": "xterm"},
            start_new_session=True,
        )
        os.close(slave)
        self.master = master
        self.seen = b""

    def until(self, token: bytes, timeout: float = 20.0) -> None:
        """Read until `token` shows in what was printed since the call (escape codes aside)."""
        deadline = time.monotonic() + timeout
        start = len(self.seen)
        while token not in ESCAPES.sub(b"", self.seen[start:]):
            left = deadline - time.monotonic()
            assert left > 0, f"no {token!r} in {self.seen[-400:]!r}"
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                chunk = os.read(self.master, 4096)
                if b"\x1b[6n" in chunk:  # prompt_toolkit asks where the cursor is: answer
                    os.write(self.master, b"\x1b[1;1R")
                self.seen += chunk

    def type(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        os.close(self.master)


@pytest.fixture
def terminal() -> Iterator[Terminal]:
    term = Terminal()
    yield term
    term.close()


def test_status_lines_go_above_the_prompt_and_ctrl_c_ends_at_once(terminal: Terminal) -> None:
    terminal.until(b"connected")
    terminal.until(b"you:")
    terminal.type(b"hello\r")
    terminal.until(b"(turn 1, remembers 1)")
    terminal.until(b"you:")
    terminal.type(b"/drop\r")  # notes arrive while the prompt waits for the next line
    terminal.until(b"reconnected after")
    terminal.until(b"you:")
    # Before prompt_toolkit a note landed right after the prompt: "you: · connected".
    assert b"you: \x1b[2m" not in terminal.seen and b"you: \xc2\xb7" not in terminal.seen
    terminal.type(b"\x03")  # Ctrl-C at the prompt
    assert terminal.proc.wait(timeout=10) == 130  # it hung until Enter before
    assert b"Traceback" not in terminal.seen
