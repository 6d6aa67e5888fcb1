"""`relive conformance`: against the embedded emulator it passes (the CI gate); against a URL
(a second emulator standing in for the real service) it prints both answers side by side and
fails where they differ."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from relive.conformance import CHECKS, DEFAULT_MODELS, FAMILIES, family_of

HALF_CASCADE = "gemini-live-2.5-flash-preview"


async def relive_cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "relive.cli",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    out, err = await asyncio.wait_for(proc.communicate(), 240)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


@pytest.mark.timeout(300)
async def test_conformance_against_the_emulator_passes_on_every_family() -> None:
    code, out, err = await relive_cli("conformance", "--target", "emulator", "--json")
    report = json.loads(out)
    failed = [
        f"{r['model']} {r['check']}: expected {r['expects']}, saw {r['target']['observed']}"
        for r in report["results"]
        if not r["passed"]
    ]
    assert not failed, "\n".join(failed)
    assert code == 0 and report["passed"], err
    seen = {(r["model"], r["check"]) for r in report["results"]}
    assert {m for m, _ in seen} == set(DEFAULT_MODELS)
    # Every check ran on each model its rule applies to, with a reason and an expectation.
    for model in DEFAULT_MODELS:
        family = family_of(model)
        wanted = {c.name for c in CHECKS if c.expects(family) is not None}
        assert {c for m, c in seen if m == model} == wanted
    assert all(r["why"] and r["expects"] for r in report["results"])
    assert {f.example for f in FAMILIES} == set(DEFAULT_MODELS)


async def conformance_against(
    tmp_path: Path, emulator_options: list[str], key: str, *args: str
) -> tuple[int, str, str, str]:
    """`relive conformance --target <url>` against a `relive emulator --tls` subprocess."""
    proc, url, ca_file = await start_emulator(tmp_path, *emulator_options)
    try:
        code, out, err = await relive_cli(
            "conformance",
            "--target",
            url,
            "--ca-file",
            ca_file,
            "--model",
            HALF_CASCADE,
            *args,
            env={"GEMINI_API_KEY": key},
        )
    finally:
        await stop(proc)
    return code, out, err, url


async def start_emulator(tmp_path: Path, *options: str) -> tuple[Any, str, str]:
    """A `relive emulator --tls` subprocess standing in for the real service."""
    ca_file = tmp_path / "ca.pem"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "relive.cli",
        "emulator",
        "--tls",
        "--ca-file",
        str(ca_file),
        "--chunk-interval",
        "0.005",
        *options,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    line = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode()
    assert line.startswith("relive emulator serving https://"), line
    return proc, line.split()[-1], str(ca_file)


async def stop(proc: Any) -> None:
    proc.terminate()
    await asyncio.wait_for(proc.wait(), 20)


@pytest.mark.timeout(240)
async def test_a_url_target_is_shown_beside_the_emulator(tmp_path: Path) -> None:
    code, out, err, url = await conformance_against(
        tmp_path,
        ["--api-key", "stand-in-key"],
        "stand-in-key",
        *("--check", "setup", "--check", "invalid_handle", "--check", "goaway"),
    )
    assert "stand-in-key" not in out + err  # the key is never printed
    assert f"relive conformance: target {url}, beside the emulator" in out
    assert f"model {HALF_CASCADE} (2.5-half-cascade)" in out
    lines = out.splitlines()
    setup = lines.index("  PASS setup")
    assert lines[setup + 3].split() == [url, "ok", "setupComplete"]
    assert lines[setup + 4].split() == ["emulator", "ok", "setupComplete"]
    # The goAway check takes a full lifetime on a non-emulator target: skipped unless --slow.
    assert "skipped: takes a full connection lifetime (pass --slow)" in out
    assert code == (0 if "FAIL" not in out else 1), out


@pytest.mark.timeout(240)
async def test_where_the_target_differs_the_run_fails_and_says_so(tmp_path: Path) -> None:
    # This stand-in takes any key: the real service answers a bad key with 1007.
    code, out, _, _ = await conformance_against(
        tmp_path, [], "any-key", "--check", "bad_key", "--json"
    )
    (result,) = json.loads(out)["results"]
    assert result["check"] == "bad_key" and result["differs"] and not result["passed"]
    assert result["target"] == {"passed": False, "observed": "no close"}
    assert "API key not valid" in result["emulator"]["observed"]  # the emulator refuses it
    assert code == 1


async def test_a_url_target_needs_a_key() -> None:
    env = {"GEMINI_API_KEY": "", "GOOGLE_API_KEY": ""}
    code, _, err = await relive_cli(
        "conformance", "--target", "https://127.0.0.1:9", "--check", "setup", env=env
    )
    assert code == 1 and "set GEMINI_API_KEY" in err


async def test_help_names_every_check_and_family() -> None:
    code, out, _ = await relive_cli("conformance", "--help")
    assert code == 0
    for check in CHECKS:
        assert check.name in out
    for family in FAMILIES:
        assert family.name in out
    assert "--target" in out and "--json" in out and "GEMINI_API_KEY" in out


def test_the_docs_describe_every_check() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "conformance.md").read_text()
    for check in CHECKS:
        assert f"| `{check.name}` |" in doc
    for family in FAMILIES:
        assert f"| {family.name} | {family.example} |" in doc
