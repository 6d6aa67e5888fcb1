"""The garbage collector of a process that is an emulator server: the `relive emulator` command
and the benches' emulator process, never an app's or a test's process that embeds `Emulator`.

CPython's full collection walks every tracked object, and it comes whenever the objects that
survived into the oldest generation grow by a quarter. A server whose connections come in a
crowd grows that fast: in a 1,000-connection reconnect wave each connection adds ~150 tracked
objects, and the emulator paused for two full collections per wave, 0.12-0.48 s each, walking
~120,000 objects of its startup (modules, the SDK's types the strict checks read) beside the
connections every time. So: what startup made is frozen (never walked again), and the young
generation is collected every 10,000 net allocations instead of 700, which makes full
collections ~14x rarer (none in a wave). Garbage in reference cycles is still collected, a
little later; a closed connection leaves none (tests/emulator/test_emulator_freed.py).
"""

from __future__ import annotations

import gc

THRESHOLDS = (10_000, 10, 10)
DESCRIPTION = f"startup frozen, thresholds {'/'.join(map(str, THRESHOLDS))}"


def tune_for_serving() -> None:
    """Freeze what the process made so far and collect less often (call once it serves)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
