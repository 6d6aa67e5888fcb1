"""docs/session.md's example runs and prints what the page says it prints."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "session.md"


def block(lang: str) -> str:
    match = re.search(rf"```{lang}\n(.*?)```", DOC.read_text(), re.DOTALL)
    assert match, f"no ```{lang} block in {DOC}"
    return match.group(1)


def test_the_example_runs_and_prints_what_the_doc_says() -> None:
    done = subprocess.run(
        [sys.executable, "-c", block("python")],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr

    def normal(text: str) -> list[str]:
        return re.sub(r"after \d+\.\d+s", "after Xs", text).strip().splitlines()

    assert normal(done.stdout) == normal(block("text"))
