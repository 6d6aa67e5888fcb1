"""`relive conformance`: wire checks of a Live endpoint against the real service's reported rules.

    results = await relive.conformance.run("emulator")            # or "real", or a base URL
    assert all(r.passed for r in results)

Each check opens short sessions with the official SDK; against a non-emulator target the
embedded emulator answers beside it, so a disagreement shows where the emulator is wrong.
"""

from relive._extras import require

require("relive.conformance", "emulator")  # it runs an embedded emulator beside any target

from relive.conformance._checks import CHECKS, Check, Outcome  # noqa: E402
from relive.conformance._families import FAMILIES, Family, family_of  # noqa: E402
from relive.conformance._probe import Probe, ProbeClosedError  # noqa: E402
from relive.conformance._run import DEFAULT_MODELS, Result, run  # noqa: E402

__all__ = [
    "CHECKS",
    "DEFAULT_MODELS",
    "FAMILIES",
    "Check",
    "Family",
    "Outcome",
    "Probe",
    "ProbeClosedError",
    "Result",
    "family_of",
    "run",
]
