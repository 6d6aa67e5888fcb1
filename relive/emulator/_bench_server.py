"""The emulator process of `relive bench emulator`: serve until stdin closes.

Run by path (`runpy.run_path`), not as `relive.emulator._bench_server`, so that `relive` resolves
to the source tree the bench puts first on `sys.path`: it can measure an older emulator (a `git
worktree` of an earlier commit) beside this one in the same run, and checks which tree answered.
It uses only what every version of the emulator has had: `Emulator(settings, tls=...)`,
`EmulatorSettings`' reply pacing fields, `ws_url`, `ca_pem_path`. It prints one JSON line (URL,
CA file, pid, tree) when it is listening.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any


async def _serve(settings: dict[str, Any], tls: bool, tree: str) -> None:
    from relive.emulator import Emulator, EmulatorSettings

    async with Emulator(EmulatorSettings(**settings), tls=tls) as emu:
        ca = str(emu.ca_pem_path) if tls else None
        info = {"url": emu.ws_url, "ca": ca, "pid": os.getpid(), "tree": tree}
        print(json.dumps(info), flush=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.read)  # until the parent closes the pipe


def main(argv: list[str]) -> None:
    """`argv`: a JSON object {"settings": {...}, "tls": bool, "loop": "asyncio"|"uvloop"}."""
    import relive

    options = json.loads(argv[0])
    tree = os.path.dirname(os.path.dirname(os.path.realpath(relive.__file__)))
    factory = None
    if options["loop"] == "uvloop":
        import uvloop

        factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(_serve(options["settings"], bool(options["tls"]), tree))


if __name__ == "__main__":
    main(sys.argv[1:])
