"""Coverage-guided fuzzing (atheris, libFuzzer) of the same properties as the hypothesis tests,
for the long runs `make fuzz` makes and docs/security.md reports:

    .venv/bin/python -m tests.fuzz_atheris codec|machine|parser -runs=100000 [libFuzzer flags]

`codec`: the bytes as a binary frame, and as a text frame when they are UTF-8, into the emulator's
codec. `machine`: a setup, then up to 8 steps (known-good frames, frames with fuzzed values,
raw bytes, timer moves) into the connection state machine. `parser`: the page protocol's parser,
with raw text and with well-formed messages carrying fuzzed values. Each starts from a small
seed corpus of good and hostile frames; a property violation is a crash that libFuzzer reports
with the input that caused it.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import atheris

with atheris.instrument_imports(include=["relive"]):
    from tests.emulator.test_emulator_fuzz_frames import (
        GOOD,
        check_codec,
        check_machine,
    )
    from tests.emulator.test_emulator_hostile import MALFORMED
    from tests.web.test_fuzz_protocol import PAGE, check_parser

SETUPS: list[dict[str, Any]] = [
    {"model": "m", "generationConfig": {"responseModalities": ["TEXT"]}},
    {"model": "m", "sessionResumption": {}, "contextWindowCompression": {"slidingWindow": {}}},
    {"model": "m", "tools": [{"functionDeclarations": [{"name": "get_weather"}, {"name": "f"}]}]},
    {"model": "m", "realtimeInputConfig": {"automaticActivityDetection": {"disabled": True}}},
    {
        "model": "m",
        "outputAudioTranscription": {},
        "generation_config": {"response_modalities": []},
    },
]
TEMPLATES = [
    lambda v: {"realtimeInput": {"text": v}},
    lambda v: {"realtimeInput": {"audio": {"data": v, "mimeType": "audio/pcm;rate=16000"}}},
    lambda v: {"realtimeInput": {"audio": {"data": "AAAA", "mimeType": v}}},
    lambda v: {
        "clientContent": {"turns": [{"role": v, "parts": [{"text": v}]}], "turn_complete": 1}
    },
    lambda v: {"toolResponse": {"functionResponses": [{"id": v, "response": {"r": v}}]}},
    lambda v: {"realtimeInput": {"text": f"call f with {v}"}},
]
PAGE_TEMPLATES = [
    lambda v: {"type": "hello", "page": PAGE, "secret": v},
    lambda v: {"type": "hello", "page": v, "secret": None},
    lambda v: {"type": "text", "text": v},
    lambda v: {"type": v},
    lambda v: {"type": "mute", "muted": v},
]
TIMERS = ["advance", "advance-long", "goaway"]


def _value(fdp: atheris.FuzzedDataProvider) -> Any:
    pick = fdp.ConsumeIntInRange(0, 3)
    if pick == 0:
        return fdp.ConsumeUnicode(fdp.ConsumeIntInRange(0, 64))  # may hold lone surrogates
    if pick == 1:
        return fdp.ConsumeInt(8)
    if pick == 2:
        return None
    return [fdp.ConsumeUnicodeNoSurrogates(8)] * fdp.ConsumeIntInRange(0, 3)


def codec(data: bytes) -> None:
    check_codec(data)
    try:
        text = data.decode()
    except UnicodeDecodeError:
        return
    check_codec(text)


def machine(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    setup = SETUPS[fdp.ConsumeIntInRange(0, len(SETUPS) - 1)]
    steps: list[Any] = []
    while fdp.remaining_bytes() and len(steps) < 8:
        kind = fdp.ConsumeIntInRange(0, 3)
        if kind == 0:
            steps.append(json.dumps(GOOD[fdp.ConsumeIntInRange(0, len(GOOD) - 1)]))
        elif kind == 1:
            template = TEMPLATES[fdp.ConsumeIntInRange(0, len(TEMPLATES) - 1)]
            steps.append(json.dumps(template(_value(fdp))))
        elif kind == 2:
            steps.append(fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 256)))
        else:
            steps.append(TIMERS[fdp.ConsumeIntInRange(0, len(TIMERS) - 1)])
    check_machine(setup, steps)


def parser(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    if fdp.ConsumeBool():
        check_parser(fdp.ConsumeUnicode(fdp.remaining_bytes()))
    else:
        template = PAGE_TEMPLATES[fdp.ConsumeIntInRange(0, len(PAGE_TEMPLATES) - 1)]
        check_parser(json.dumps(template(_value(fdp))))


TARGETS = {"codec": codec, "machine": machine, "parser": parser}


def _seed_corpus() -> str:
    """Good and hostile frames to start from (libFuzzer mutates and grows it)."""
    where = Path(tempfile.mkdtemp(prefix="relive-fuzz-"))
    seeds = [json.dumps(g) for g in GOOD] + [frame for _, frame in MALFORMED]
    seeds += [json.dumps({"setup": s}) for s in SETUPS]
    seeds += ['{"type": "hello", "page": "' + PAGE + '", "secret": null}']
    for i, seed in enumerate(seeds):
        (where / f"seed-{i}").write_bytes(seed.encode("utf-8", "surrogatepass")[:4096])
    return str(where)


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in TARGETS:
        raise SystemExit(f"usage: python -m tests.fuzz_atheris {'|'.join(TARGETS)} [-runs=N]")
    target = TARGETS[sys.argv[1]]
    args = [sys.argv[0], *sys.argv[2:]]
    if not any(not a.startswith("-") for a in args[1:]):
        args.append(_seed_corpus())
    atheris.Setup(args, target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
