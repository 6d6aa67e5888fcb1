"""The fault plan: armed faults the per-connection state machines consult.

Faults that act at once on every open connection (drop, goAway now, close) are applied by the
server driver through `Faults`; the flags here are read by the state machines and the driver.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass


class FaultName(enum.StrEnum):
    """The faults the control endpoint takes (`POST /emulator/faults/NAME`): one vocabulary."""

    DROP = "drop"
    SILENT_DROP = "silent_drop"
    DROP_MID_TURN = "drop_mid_turn"
    GOAWAY_NOW = "goaway_now"
    SILENT_AFTER_GOAWAY = "silent_after_goaway"
    WITHHOLD_HANDLES = "withhold_handles"
    CLOSE = "close"
    REFUSE_NEXT_RESUMPTION = "refuse_next_resumption"
    EXPIRE_ALL_HANDLES = "expire_all_handles"
    LATENCY = "latency"
    PING_DELAY = "ping_delay"
    RESET = "reset"


# Older spellings the control endpoint still takes.
FAULT_ALIASES = {"set_latency": FaultName.LATENCY, "set_ping_delay": FaultName.PING_DELAY}


# Bounds of the timed faults: a latency of `inf` (or 1e308) would freeze every connection.
MAX_LATENCY = 60.0
MAX_PING_DELAY = 120.0
MAX_TIME_LEFT = 3600.0
MAX_HOLD = 86_400.0  # a silently dropped socket held for at most a day


def bounded(name: str, value: float, high: float) -> float:
    """`value` as seconds in [0, high]; `ValueError` for anything else (nan, inf, negative)."""
    seconds = float(value)
    if not math.isfinite(seconds) or not 0.0 <= seconds <= high:
        raise ValueError(f"{name} must be a number of seconds from 0 to {high:g}, got {value!r}")
    return seconds


@dataclass
class FaultPlan:
    """Armed and standing faults (mutable; one per emulator)."""

    drop_mid_turn: bool = False
    silent_after_goaway: bool = False
    withhold_handles: bool = False
    refuse_next_resumption: bool = False
    latency: float = 0.0
    ping_delay: float = 0.0

    def take_drop_mid_turn(self) -> bool:
        """Consume the armed mid-turn drop, if any."""
        armed, self.drop_mid_turn = self.drop_mid_turn, False
        return armed

    def take_refusal(self) -> bool:
        """Consume the armed resumption refusal, if any."""
        armed, self.refuse_next_resumption = self.refuse_next_resumption, False
        return armed
