"""Extras: the core is google-genai alone; each other part names its extra when it is missing."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import requires

import pytest

from relive._extras import EXTRAS

HEAVY = sorted({module for modules in EXTRAS.values() for module in modules})


def without(modules: list[str], code: str) -> subprocess.CompletedProcess[str]:
    """Run `code` in a fresh interpreter where `modules` cannot be imported."""
    block = "".join(f"sys.modules[{m!r}] = None\n" for m in modules)
    return subprocess.run(
        [sys.executable, "-c", f"import sys\n{block}{code}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_core_requires_google_genai_and_what_it_needs_only() -> None:
    core = [r for r in requires("relive") or [] if "extra ==" not in r]
    assert sorted(r.split(">")[0] for r in core) == ["google-genai", "websockets"]
    for heavy in ("starlette", "uvicorn", "trustme", "matplotlib", "psutil"):
        assert all(heavy not in r for r in core)


def test_import_relive_and_its_command_work_without_any_extra() -> None:
    done = without(
        HEAVY,
        "import relive, relive.transcript\n"
        "assert relive.connect and relive.Transcript\n"
        "from relive.cli import main\n"
        "main(['--help'])\n",
    )
    assert done.returncode == 0, done.stderr
    assert "demo" in done.stdout and "unavailable" in done.stdout


@pytest.mark.parametrize(
    ("module", "part", "extra"),
    [
        ("relive.emulator", "relive.emulator", "emulator"),
        ("relive.web", "relive.web", "web"),
        ("relive.bench", "relive.bench", "bench"),
        ("relive._app.chat", "relive chat", "chat"),
        ("relive.integrations.pipecat", "relive.integrations.pipecat", "pipecat"),
        ("relive.integrations.livekit", "relive.integrations.livekit", "livekit"),
    ],
)
def test_importing_a_part_without_its_extra_is_one_clear_line(
    module: str, part: str, extra: str
) -> None:
    done = without(list(EXTRAS[extra])[:1], f"import {module}")
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("relive._errors.MissingExtraError: ")
    assert f"{part} needs the '{extra}' extra" in last
    assert f"pip install 'relive[{extra}]'" in last


def test_a_command_without_its_extra_says_which_and_fails() -> None:
    done = without(["starlette"], "from relive.cli import main\nsys.exit(main(['demo']))")
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "relive demo: relive.web needs the 'web' extra (starlette not installed): "
        "pip install 'relive[web]'"
    )
