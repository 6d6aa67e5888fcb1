"""`relive serve` refuses a bad setup with one line and exit status 2, before it listens."""

from __future__ import annotations

from pathlib import Path

import pytest

from relive.cli import main
from relive.store import _kv as kv_module
from relive.store import new_key


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--store", "mysql://db"], "unknown store 'mysql://db'"),
        (["--emulator-ca", "ca.pem"], "--emulator-ca needs --emulator"),
        (["--seal-key-file", "/nonexistent/seal.key"], "cannot read the seal key file"),
    ],
)
def test_bad_setups_are_one_line(
    args: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", *args]) == 2
    err = capsys.readouterr().err
    assert said in err and "Traceback" not in err


def test_a_bad_drain_timeout_is_an_argument_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--drain-timeout", "0"])
    assert exited.value.code == 2
    assert "--drain-timeout" in capsys.readouterr().err


def test_a_short_seal_key_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = tmp_path / "seal.key"
    key.write_text("c2hvcnQ=\n")
    assert main(["serve", "--seal-key-file", str(key)]) == 2
    assert "line 1: a key is 32 bytes, got 5" in capsys.readouterr().err


def test_real_gemini_needs_a_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("RELIVE_SEAL_KEY", raising=False)
    assert main(["serve", "--port", "0"]) == 2
    assert "set GEMINI_API_KEY for real Gemini, or give --emulator URL" in capsys.readouterr().err


def test_checking_the_store_url_opens_no_client(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The setup check names a bad URL without making a Redis client it would leave open (the
    replica opens its one client when it serves, and closes it on the way out)."""
    made: list[str] = []

    def no_client(self: object, url: str, **kw: object) -> None:
        made.append(url)

    monkeypatch.setattr(kv_module.RedisKV, "__init__", no_client)
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.setenv("RELIVE_SEAL_KEY", new_key())
    assert main(["serve", "--store", "redis://127.0.0.1:1/0", "--port", "0"]) == 2
    assert "set GEMINI_API_KEY" in capsys.readouterr().err
    assert made == []
