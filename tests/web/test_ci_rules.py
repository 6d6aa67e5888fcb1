"""A missing browser skips the browser tests on a laptop but fails them under CI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run_browser_tests(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/web/test_browser.py",
            "-q",
            "-x",
            "-p",
            "no:cacheprovider",
        ],
        cwd=ROOT,
        env={**os.environ, "RELIVE_CHROMIUM": "/nonexistent/chromium", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_missing_browser_fails_under_ci() -> None:
    done = _run_browser_tests({"CI": "true"})
    assert done.returncode == 1, done.stdout[-2000:]
    assert "/nonexistent/chromium missing and CI is set" in done.stdout


def test_a_missing_browser_skips_outside_ci() -> None:
    done = _run_browser_tests({"CI": ""})
    assert done.returncode == 0, done.stdout[-2000:]
    assert "skipped" in done.stdout and "passed" not in done.stdout
