"""Children a test stops with Ctrl-C (SIGINT), as a user would.

A shell runs a background command (`make test &`, `nohup ... &`) with SIGINT ignored, and an
ignored signal stays ignored across exec: such a child never sees the test's SIGINT (the chat
then ended only at the end of its input, with 0; the emulator never stopped). Each child takes
SIGINT back to its default before it starts (Python then raises KeyboardInterrupt on it).
"""

from __future__ import annotations

import signal


def sigint_default() -> None:
    """`preexec_fn` of a child the test will stop with SIGINT."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
