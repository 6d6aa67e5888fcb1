"""relive emulator: an offline Gemini Live server the official SDKs connect to unchanged.

    async with Emulator(EmulatorSettings(connection_lifetime=2.0, goaway_lead=1.0)) as emu:
        client = emu.client()
        async with client.aio.live.connect(model="gemini-live", config=...) as session: ...

See docs/emulator.md for every rule, its default and the real service's value. The names here are
the emulator's whole public surface; its underscored modules are free to change.
"""

from relive._errors import EmulatorError
from relive.emulator._closes import CloseReason
from relive.emulator._emulator import Emulator, Faults
from relive.emulator._handles import TokenFactory
from relive.emulator._model import REPLY_FORMAT, REPLY_PATTERN
from relive.emulator._settings import EmulatorSettings
from relive.emulator._stats import EmulatorEvent, EmulatorStats

__all__ = [
    "REPLY_FORMAT",
    "REPLY_PATTERN",
    "CloseReason",
    "Emulator",
    "EmulatorError",
    "EmulatorEvent",
    "EmulatorSettings",
    "EmulatorStats",
    "Faults",
    "TokenFactory",
]
