"""Sealed handles: only the key ring opens them, only for the record they were sealed for."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from relive.store import Sealer, SealError, new_key

KEY_A = new_key()
KEY_B = new_key()


def test_a_sealed_handle_opens_with_its_key_and_context() -> None:
    sealer = Sealer.from_text(KEY_A)
    sealed = sealer.seal("handle-secret-123", "handle:x:call")
    assert "handle-secret-123" not in sealed and sealed.startswith("v1.")
    assert sealer.open(sealed, "handle:x:call") == "handle-secret-123"
    assert sealer.seal("same", "k") != sealer.seal("same", "k")  # a fresh nonce each time


@given(st.text(min_size=1, max_size=300), st.text(max_size=40))
def test_any_text_survives_sealing(plain: str, context: str) -> None:
    sealer = Sealer.from_text(KEY_A)
    assert sealer.open(sealer.seal(plain, context), context) == plain


def test_a_handle_moved_to_another_record_does_not_open() -> None:
    sealer = Sealer.from_text(KEY_A)
    sealed = sealer.seal("h", "handle:page-a:call")
    with pytest.raises(SealError, match="does not open"):
        sealer.open(sealed, "handle:page-b:call")


def test_a_tampered_value_does_not_open() -> None:
    sealer = Sealer.from_text(KEY_A)
    sealed = sealer.seal("h", "k")
    flipped = sealed[:-3] + ("A" if sealed[-3] != "A" else "B") + sealed[-2:]
    for bad in (flipped, "v1.nokey.AAAA", "not sealed", "v2." + sealed[3:]):
        with pytest.raises(SealError):
            sealer.open(bad, "k")


def test_rotation_new_key_first_and_old_values_still_open() -> None:
    old = Sealer.from_text(KEY_A)
    sealed_before = old.seal("h1", "k")
    rotated = Sealer.from_text(
        f"{KEY_B}\n# the previous key, until the handle TTL has passed\n{KEY_A}"
    )
    assert rotated.open(sealed_before, "k") == "h1"
    sealed_after = rotated.seal("h2", "k")
    with pytest.raises(SealError, match="does not hold"):
        old.open(sealed_after, "k")  # a replica not rolled yet cannot open the new key's values
    dropped = Sealer.from_text(KEY_B)
    assert dropped.open(sealed_after, "k") == "h2"
    with pytest.raises(SealError):
        dropped.open(sealed_before, "k")


def test_bad_key_files_say_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(SealError, match="cannot read"):
        Sealer.from_file(tmp_path / "missing")
    empty = tmp_path / "empty"
    empty.write_text("# nothing\n\n")
    with pytest.raises(SealError, match="no key"):
        Sealer.from_file(empty)
    short = tmp_path / "short"
    short.write_text(base64.b64encode(b"x" * 16).decode())
    with pytest.raises(SealError, match="line 1: a key is 32 bytes, got 16"):
        Sealer.from_file(short)
    junk = tmp_path / "junk"
    junk.write_text(f"{KEY_A}\n***\n")
    with pytest.raises(SealError, match="line 2: not base64"):
        Sealer.from_file(junk)
    good = tmp_path / "good"
    good.write_text(KEY_A + "\n")
    assert Sealer.from_file(good).open(Sealer.from_text(KEY_A).seal("h", "k"), "k") == "h"


def test_the_key_ring_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RELIVE_SEAL_KEY", raising=False)
    assert Sealer.from_env() is None
    monkeypatch.setenv("RELIVE_SEAL_KEY", f"{KEY_B},{KEY_A}")
    sealer = Sealer.from_env()
    assert sealer is not None
    assert sealer.open(Sealer.from_text(KEY_A).seal("h", "k"), "k") == "h"
    assert KEY_A not in repr(sealer) and KEY_B not in repr(sealer)
