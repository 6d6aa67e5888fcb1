"""Where the checks run (the embedded emulator, the real service, any URL) and the report."""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from google import genai
from google.genai import types

from relive.conformance._checks import CHECKS, Check, Outcome
from relive.conformance._families import FAMILIES, family_of
from relive.conformance._probe import Probe

# The embedded emulator accepts only this key, so the bad-key check means something.
EMULATOR_KEY = "relive-conformance-key"
# Its connections are short (the real ten minutes shrunk), so the goAway check takes seconds.
EMULATOR_LIFETIME = 8.0
EMULATOR_GOAWAY_LEAD = 4.0
DEFAULT_MODELS = tuple(f.example for f in FAMILIES)


@dataclass(frozen=True)
class Result:
    """One check on one model: what it expects, and what the target (and emulator) did."""

    model: str
    family: str
    check: str
    expects: str
    why: str
    target: Outcome
    emulator: Outcome | None = None  # beside a non-emulator target

    @property
    def passed(self) -> bool:
        sides = [self.target] + ([self.emulator] if self.emulator else [])
        return all(side.passed is not False for side in sides)

    @property
    def differs(self) -> bool:
        """The target and the emulator answered differently."""
        return self.emulator is not None and self.emulator.observed != self.target.observed

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["passed"] = self.passed
        data["differs"] = self.differs
        return data


ClientFactory = Callable[[str, str | None], genai.Client]


@contextlib.asynccontextmanager
async def emulator_target() -> AsyncIterator[tuple[ClientFactory, str, float]]:
    """An embedded emulator: a client factory, its key, the connection lifetime."""
    from relive.emulator import Emulator, EmulatorSettings

    settings = EmulatorSettings(
        connection_lifetime=EMULATOR_LIFETIME,
        goaway_lead=EMULATOR_GOAWAY_LEAD,
        chunk_interval=0.005,
        turn_complete_lag_factor=0.0,
    )
    async with Emulator(settings, api_keys={EMULATOR_KEY}) as emu:
        yield (
            (lambda key, version: emu.client(api_key=key, api_version=version or "v1beta")),
            EMULATOR_KEY,
            EMULATOR_LIFETIME,
        )


def remote_factory(url: str | None, ca_file: str | None) -> ClientFactory:
    """Clients for the real service (`url` None) or a server at `url` speaking its protocol."""

    def make(key: str, version: str | None) -> genai.Client:
        if url is None:
            return genai.Client(api_key=key, http_options=types.HttpOptions(api_version=version))
        args: dict[str, Any] = {}
        if ca_file:
            args["ssl"] = ssl.create_default_context(cafile=ca_file)
        options = types.HttpOptions(
            base_url=url, api_version=version or "v1beta", async_client_args=args
        )
        return genai.Client(api_key=key, http_options=options)

    return make


def api_key_from_env() -> str:
    key = os.environ.get("GEMINI_API_KEY") or os.environ.get("GOOGLE_API_KEY")
    if not key:
        raise SystemExit("relive conformance: set GEMINI_API_KEY for --target real or a URL")
    return key


async def _run_one(check: Check, probe: Probe) -> Outcome:
    try:
        return await check.run(probe)
    except Exception as exc:  # a check must report, never crash the run
        return Outcome(False, f"error: {type(exc).__name__}: {exc}")


async def run_model(
    model: str,
    factory: ClientFactory,
    key: str,
    lifetime: float,
    *,
    target: str,
    slow: bool,
    only: Sequence[str] = (),
) -> list[tuple[Check, Outcome]]:
    """Every check that applies to `model`'s family, one after another."""
    family = family_of(model)
    probe = Probe(target, model, family, factory, key, lifetime)
    out = []
    for check in CHECKS:
        if check.expects(family) is None or (only and check.name not in only):
            continue
        if check.slow and not slow:
            outcome = Outcome(None, "skipped: takes a full connection lifetime (pass --slow)")
        else:
            outcome = await _run_one(check, probe)
        out.append((check, outcome))
    return out


async def run(
    target: str,
    models: Sequence[str] = DEFAULT_MODELS,
    *,
    slow: bool = False,
    ca_file: str | None = None,
    only: Sequence[str] = (),
    api_key: str | None = None,
) -> list[Result]:
    """Run the checks on `target` ("emulator", "real" or a URL); beside the embedded emulator
    when the target is not the emulator. On the emulator models run side by side; on another
    target one after another (a key allows only a few sessions at once). `api_key` for a
    non-emulator target defaults to GEMINI_API_KEY."""
    if target != "emulator" and api_key is None:
        api_key = api_key_from_env()
    async with emulator_target() as (emu_factory, emu_key, emu_life):
        emulated = asyncio.gather(
            *(
                run_model(
                    m, emu_factory, emu_key, emu_life, target="emulator", slow=True, only=only
                )
                for m in models
            )
        )
        if target == "emulator":
            theirs, ours = await emulated, None
        else:
            factory = remote_factory(None if target == "real" else target, ca_file)
            key = api_key or ""

            async def one_by_one() -> list[list[tuple[Check, Outcome]]]:
                # A real key allows few sessions at once: one model after another there.
                return [
                    await run_model(m, factory, key, 600.0, target=target, slow=slow, only=only)
                    for m in models
                ]

            ours, theirs = await asyncio.gather(emulated, one_by_one())
    results = []
    for i, model in enumerate(models):
        family = family_of(model)
        mine = dict((c.name, o) for c, o in ours[i]) if ours is not None else {}
        for check, outcome in theirs[i]:
            results.append(
                Result(
                    model=model,
                    family=family.name,
                    check=check.name,
                    expects=check.expects(family) or "",
                    why=check.why,
                    target=outcome,
                    emulator=mine.get(check.name),
                )
            )
    return results
