"""Hostile soak of the emulator, for the figures in docs/security.md (not a test: it measures).

    .venv/bin/python -m tests.soak_hostile [--rounds 20] [--idle 200]

Attackers open connection after connection, each sending one hostile frame (every case of
tests/emulator/test_emulator_hostile.py plus megabyte frames), while a bystander session keeps
talking; then `--idle` connections are opened and never send setup. Prints the close codes seen,
the bystander's turns and its longest wait for a reply chunk, the emulator's RSS, and how many
idle connections the setup timeout closed.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import json
import time
from typing import Any

import psutil
import websockets
from websockets.exceptions import ConnectionClosed

from relive.emulator import Emulator, EmulatorSettings
from tests.emulator.test_emulator_hostile import MALFORMED, MALFORMED_SETUP, SETUP

PATH = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent?key=k"
COMPRESSED = {"setup": {**SETUP["setup"], "contextWindowCompression": {"slidingWindow": {}}}}
PCM_3MIB = base64.b64encode(bytes(3 * 2**20)).decode()


def _text(text: str) -> str:
    return json.dumps({"realtimeInput": {"text": text}})


def _audio(mime: str) -> str:
    return json.dumps({"realtimeInput": {"audio": {"data": PCM_3MIB, "mimeType": mime}}})


BIG = [
    ("1 MiB of spaces as text (compression on)", _text(" " * 2**20)),
    ("4 MiB of words as text", _text("ab " * (2**22 // 3))),
    ("3 MiB of audio at rate=100", _audio("audio/pcm;rate=100")),
    ("3 MiB of audio at 16 kHz", _audio("audio/pcm;rate=16000")),
]


async def _attack(url: str, frame: str, setup: dict[str, Any] | None) -> int:
    async with websockets.connect(url, max_size=None, ping_interval=None) as ws:
        if setup is not None:
            await ws.send(json.dumps(setup))
            await ws.recv()
        await ws.send(frame)
        try:
            while True:
                message = json.loads(await asyncio.wait_for(ws.recv(), 30))
                if message.get("serverContent", {}).get("turnComplete"):
                    return 0  # accepted and answered (a reply quoting at most 2000 characters)
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else 1006
        except TimeoutError:
            return -1  # neither answered nor closed within 30 s


async def _bystander(url: str, stop: asyncio.Event, figures: dict[str, Any]) -> None:
    async with websockets.connect(url, ping_interval=None) as ws:
        await ws.send(json.dumps(SETUP))
        await ws.recv()
        turns, worst = 0, 0.0
        while not stop.is_set():
            await ws.send(json.dumps({"realtimeInput": {"text": f"turn {turns}"}}))
            last = time.monotonic()
            while True:
                message = json.loads(await ws.recv())
                now = time.monotonic()
                worst, last = max(worst, now - last), now
                if message.get("serverContent", {}).get("turnComplete"):
                    break
            turns += 1
        figures["bystander_turns"], figures["bystander_worst_wait_s"] = turns, round(worst, 3)


async def main(rounds: int, idle: int) -> dict[str, Any]:
    settings = EmulatorSettings(setup_timeout=2.0)
    process = psutil.Process()
    figures: dict[str, Any] = {"rss_start_mib": round(process.memory_info().rss / 2**20, 1)}
    codes: collections.Counter[str] = collections.Counter()
    peak = 0
    async with Emulator(settings, tls=False) as emu:
        url = emu.ws_url + PATH
        stop = asyncio.Event()
        bystander = asyncio.create_task(_bystander(url, stop, figures))
        started = time.monotonic()
        sent = 0
        for _ in range(rounds):
            for _, frame in MALFORMED:
                codes[str(await _attack(url, frame, SETUP))] += 1
                sent += 1
            for _, body in MALFORMED_SETUP:
                setup = json.dumps({"setup": {**SETUP["setup"], **body}})
                codes[str(await _attack(url, setup, None))] += 1
                sent += 1
            for _, frame in BIG:
                codes[str(await _attack(url, frame, COMPRESSED))] += 1
                sent += 1
                peak = max(peak, process.memory_info().rss)
        figures["hostile_frames"] = sent
        figures["hostile_seconds"] = round(time.monotonic() - started, 1)
        figures["close_codes"] = dict(codes)
        figures["rss_peak_mib"] = round(peak / 2**20, 1)
        stop.set()
        await bystander
        before = process.memory_info().rss
        idlers = [await websockets.connect(url, ping_interval=None) for _ in range(idle)]
        figures["rss_per_idle_connection_kib"] = round(
            (process.memory_info().rss - before) / max(1, idle) / 1024, 1
        )
        await emu.wait_for(lambda s: s.open_connections == 0, timeout=30)
        await asyncio.gather(*(ws.wait_closed() for ws in idlers))
        figures["idle_closed_by_setup_timeout"] = sum(ws.close_code == 1008 for ws in idlers)
        for ws in idlers:
            await ws.close()
        figures["rss_end_mib"] = round(process.memory_info().rss / 2**20, 1)
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--idle", type=int, default=200)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.rounds, args.idle)), indent=2))
