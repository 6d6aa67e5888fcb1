"""The public API on paper: docs/api.md is current; every signature change is in the CHANGELOG."""

from __future__ import annotations

import re
from pathlib import Path

from tools import apidoc

ROOT = Path(__file__).resolve().parent.parent
RELEASED = ROOT / "tests" / "api_signatures_0.1.0.txt"  # `--signatures` at the 0.1.0 release


def released() -> dict[str, str]:
    out = {}
    for line in RELEASED.read_text().splitlines():
        name, _, signature = line.partition(" ")
        out[name] = signature
    return out


def unreleased_changelog() -> str:
    text = (ROOT / "CHANGELOG.md").read_text()
    return text.split("## Unreleased", 1)[1].split("\n## ", 1)[0]


def mentioned(name: str, text: str, new: set[str]) -> bool:
    """The changelog names it, or names the new class it belongs to."""

    def said(qualname: str) -> bool:
        return re.search(rf"\b{re.escape(qualname.rsplit('.', 1)[-1])}\b", text) is not None

    owner = name.rsplit(".", 1)[0]
    return said(name) or (owner in new and said(owner))


def unaccounted(before: dict[str, str], now: dict[str, str], changelog: str) -> list[str]:
    """Names added, removed or changed since the release that the changelog does not name."""
    changed = sorted(n for n in before.keys() | now.keys() if before.get(n) != now.get(n))
    new = now.keys() - before.keys()
    return [n for n in changed if not mentioned(n, changelog, new)]


def test_docs_api_md_is_current() -> None:
    assert (ROOT / "docs" / "api.md").read_text() == apidoc.markdown(), "run `make docs`"


def test_every_public_name_is_in_docs_api_md() -> None:
    text = (ROOT / "docs" / "api.md").read_text()
    for name in apidoc.signatures():
        module = apidoc.module_of(name)
        assert f"## `{module}`" in text
        assert f"`{name.removeprefix(module + '.')}` (" in text, name


def test_every_public_signature_change_since_the_release_is_in_the_changelog() -> None:
    assert unaccounted(released(), apidoc.signatures(), unreleased_changelog()) == []


def test_the_check_catches_a_signature_change_the_changelog_does_not_name() -> None:
    before = {"relive.connect": "function (client, *, model: str)"}
    now = {"relive.connect": "function (client, *, model: str, region: str = 'eu')"}
    assert unaccounted(before, now, "- nothing about it") == ["relive.connect"]
    assert unaccounted(before, now, "- `connect` takes `region`") == []
    added = {**now, "relive.Thing": "class ()", "relive.Thing.go": "method (self) -> None"}
    assert unaccounted(before, added, "- `connect` region; new `Thing`") == []
