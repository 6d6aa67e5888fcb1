"""Shared by the fuzz tests: how many inputs a run tries, and JSON-ish strategies.

`make test` runs each surface for a few seconds (`EXAMPLES`); `make fuzz` drives the same
properties with atheris, 100,000 inputs per surface (tests/fuzz_atheris.py, docs/security.md).
"""

from __future__ import annotations

import json
import os
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

EXAMPLES = int(os.environ.get("RELIVE_FUZZ_EXAMPLES", "150"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name)


def keys(names: list[str]) -> st.SearchStrategy[str]:
    """Known field names in both casings, and now and then anything at all."""
    known = st.sampled_from(sorted({*names, *(snake(n) for n in names)}))
    return st.one_of(known, known, known, st.text(max_size=12))


SCALARS: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.sampled_from(["", "TEXT", "AUDIO", "audio/pcm;rate=16000", "audio/pcm;rate=0", "AAAA"]),
)


def json_values(names: list[str], leaves: int = 25) -> st.SearchStrategy[Any]:
    return st.recursive(
        SCALARS,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys(names), inner, max_size=5),
        max_leaves=leaves,
    )


def nested(depth: int, inner: str = "0") -> str:
    return "[" * depth + inner + "]" * depth


def with_lone_surrogate(frame: str, at: int) -> str:
    """Put a `\\udXXX` escape inside the first JSON string after `at`, if any."""
    quote = frame.find('"', min(at, len(frame)))
    if quote < 0:
        return frame
    return frame[: quote + 1] + "\\udc80" + frame[quote + 1 :]


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
