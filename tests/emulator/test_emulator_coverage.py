"""The coverage table: every SDK field classified, and docs/emulator.md showing the same table."""

from __future__ import annotations

from pathlib import Path

from relive.emulator import _coverage as coverage
from tests.sdk_support import describes_this_sdk

DOC = Path(__file__).resolve().parents[2] / "docs" / "emulator.md"


def test_every_sdk_field_is_classified() -> None:
    missing = coverage.unclassified()
    assert not missing, (
        f"google-genai has fields the coverage table does not classify: {missing}; add them to "
        "relive/emulator/_coverage.py, then run python -m relive.emulator._coverage --write"
    )


@describes_this_sdk
def test_no_row_names_a_field_the_sdk_no_longer_has() -> None:
    for fields, table in (
        (coverage.config_fields(), coverage.CONFIG),
        (coverage.message_fields(), coverage.MESSAGES),
    ):
        for key in table:
            prefix = key.removesuffix("*")
            assert any(f == key or (key.endswith("*") and f.startswith(prefix)) for f in fields), (
                key
            )


@describes_this_sdk
def test_the_docs_show_the_generated_table() -> None:
    assert coverage.documented(DOC.read_text()) == coverage.markdown(), (
        "docs/emulator.md's coverage table is stale: python -m relive.emulator._coverage --write"
    )


def test_a_field_the_sdk_grows_is_caught(monkeypatch: object) -> None:
    import pytest

    assert isinstance(monkeypatch, pytest.MonkeyPatch)
    monkeypatch.setattr(coverage, "config_fields", lambda: ["response_modalities", "new_knob"])
    assert coverage.unclassified() == ["new_knob"]
