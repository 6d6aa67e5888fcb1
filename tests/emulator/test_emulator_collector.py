"""The collector settings of a process that is an emulator server (`_collector.py`), applied by
`relive emulator` and the benches' emulator process, and never by `import relive.emulator`."""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys

import pytest

from relive.emulator import _cli
from relive.emulator._collector import THRESHOLDS

PROBE = """
import gc
import relive.emulator
before = (gc.get_threshold(), gc.get_freeze_count())
from relive.emulator._collector import tune_for_serving
kept = [[] for _ in range(1000)]  # made before: frozen with the rest
tune_for_serving()
print(before, gc.get_threshold(), gc.get_freeze_count() >= 1000, sep="|")
"""


def test_tuning_freezes_what_startup_made_and_collects_less_often() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60
    ).stdout.strip()
    # Importing the emulator changes nothing; tuning sets the thresholds and freezes.
    assert out == f"{((700, 10, 10), 0)}|{THRESHOLDS}|True"


async def test_the_emulator_command_tunes_its_collector_once_it_serves(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tuned = asyncio.Event()
    monkeypatch.setattr(_cli, "tune_for_serving", tuned.set)
    parser = argparse.ArgumentParser()
    _cli.register(parser.add_subparsers())
    serving = asyncio.create_task(_cli._serve(parser.parse_args(["emulator", "--port", "0"])))
    try:
        await asyncio.wait_for(tuned.wait(), 10)
    finally:
        serving.cancel()
        await asyncio.gather(serving, return_exceptions=True)
