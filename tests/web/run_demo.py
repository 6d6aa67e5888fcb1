"""`relive demo` run as a user runs it: a subprocess, its URL read from what it prints."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from tests.signals import sigint_default

RELIVE = (sys.executable, "-m", "relive.cli")


@contextmanager
def demo(
    *args: str,
    key: str | None = None,
    command: Sequence[str | Path] = RELIVE,
    cwd: Path | None = None,
) -> Iterator[tuple[str, list[str]]]:
    """Run `relive demo ARGS`; yields its URL and the lines it printed up to it; stops it with
    Ctrl-C (SIGINT) and checks it exits 0. `key` sets GEMINI_API_KEY (unset otherwise)."""
    env = {k: v for k, v in os.environ.items() if k != "GEMINI_API_KEY"}
    if key:
        env["GEMINI_API_KEY"] = key
    with subprocess.Popen(
        [*command, "demo", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=sigint_default,
    ) as proc:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("relive demo: open "):
                break
        else:
            raise AssertionError(f"no URL printed: {proc.communicate(timeout=20)[1]}")
        try:
            yield lines[-1].split()[3].rstrip("/"), lines
        finally:
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=20)
        assert proc.returncode == 0, err
