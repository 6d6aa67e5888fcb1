"""relive emulator: an offline Gemini Live server the official SDKs connect to unchanged.

    async with Emulator(EmulatorSettings(connection_lifetime=2.0, goaway_lead=1.0)) as emu:
        client = emu.client()
        async with client.aio.live.connect(model=MODEL, config=...) as session: ...

See docs/emulator.md for every rule, its default and the real service's value. The names here are
the emulator's whole public surface; its underscored modules are free to change.
"""

from relive._extras import require

require("relive.emulator", "emulator")

from relive._errors import EmulatorError  # noqa: E402
from relive.emulator._closes import CloseReason  # noqa: E402
from relive.emulator._emulator import Emulator, Faults  # noqa: E402
from relive.emulator._handles import TokenFactory  # noqa: E402
from relive.emulator._model import REPLY_FORMAT, REPLY_PATTERN  # noqa: E402
from relive.emulator._profiles import (  # noqa: E402
    PROFILES,
    FirstHandle,
    Handles,
    ModelProfile,
    TurnCompleteFrom,
    profile_for,
)
from relive.emulator._settings import EmulatorSettings  # noqa: E402
from relive.emulator._stats import EmulatorEvent, EmulatorStats, EventKind  # noqa: E402

__all__ = [
    "PROFILES",
    "REPLY_FORMAT",
    "REPLY_PATTERN",
    "CloseReason",
    "Emulator",
    "EmulatorError",
    "EmulatorEvent",
    "EmulatorSettings",
    "EmulatorStats",
    "EventKind",
    "Faults",
    "FirstHandle",
    "Handles",
    "ModelProfile",
    "TokenFactory",
    "TurnCompleteFrom",
    "profile_for",
]
