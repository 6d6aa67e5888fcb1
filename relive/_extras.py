"""The optional parts and the extras that bring them, so a missing one is one clear line.

`pip install relive` is the session manager alone (google-genai and what it needs); the
emulator, the web demo, the benchmarks and the terminal chat each come with an extra:
`relive[emulator]`, `relive[web]`, `relive[serve]` (several replicas: Redis, sealed handles),
`relive[bench]`, `relive[chat]`, or `relive[all]`. The framework adapters come with
`relive[pipecat]` and `relive[livekit]`.
"""

from __future__ import annotations

import importlib

from relive._errors import MissingExtraError

# extra -> the modules it brings that relive imports
EXTRAS: dict[str, tuple[str, ...]] = {
    "emulator": ("trustme", "numpy"),
    "web": ("starlette", "uvicorn", "trustme", "numpy"),
    "bench": ("psutil", "matplotlib", "trustme", "numpy"),
    "chat": ("prompt_toolkit", "trustme", "numpy"),
    "serve": ("starlette", "uvicorn", "trustme", "numpy", "redis", "cryptography"),
    # The framework adapters (not in `all`: an app runs on one framework).
    "pipecat": ("pipecat",),
    "livekit": ("livekit.agents", "livekit.plugins.google"),
}


def require(part: str, extra: str) -> None:
    """Raise `MissingExtraError` naming the extra when one of its modules cannot be imported."""
    missing = []
    for module in EXTRAS[extra]:
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise MissingExtraError(
            f"{part} needs the '{extra}' extra ({', '.join(missing)} not installed): "
            f"pip install 'relive[{extra}]'"
        )
