"""docs/api.md from the docstrings, and the public signatures the CHANGELOG must account for.

pdoc reads the public modules (their `__all__`: every public name, its members, their
docstrings); signatures are written on one line as the source spells them, so the output only
changes when the code does. `python -m tools.apidoc` writes docs/api.md; `--check` fails when it
is stale (run by `make test`); `--signatures` prints one line per public name for the snapshot
the API test compares against (tests/api_signatures_0.1.0.txt is the released 0.1.0).
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import re
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pdoc.doc

PUBLIC = [
    "relive",
    "relive.transcript",
    "relive.emulator",
    "relive.web",
    "relive.bench",
    "relive.conformance",
]
API_MD = Path(__file__).resolve().parent.parent / "docs" / "api.md"
_PRIVATE_PATH = re.compile(r"\brelive(?:\.\w+)*\.([A-Z]\w*)")  # relive.x._y.Name -> Name


@dataclass(frozen=True)
class Entry:
    """One public name (or member): where it is, what it is, how it is called, what it does."""

    qualname: str  # relive.LiveSession.events
    kind: str  # class, function, variable
    signature: str  # "(self, ...) -> X", ": float = 0.2", or ""
    doc: str


def _annotation(annotation: object) -> str:
    if isinstance(annotation, str):  # `from __future__ import annotations`: as written
        return annotation
    return inspect.formatannotation(annotation)


def _default(value: object) -> str:
    """A default as source would spell it: a function by its name (its repr has an address)."""
    name = getattr(value, "__name__", None)
    if callable(value) and isinstance(name, str):
        return name
    if isinstance(value, set | frozenset):  # sorted: a set's order changes from run to run
        items = ", ".join(sorted(repr(v) for v in value))
        return f"{type(value).__name__}({{{items}}})" if value else f"{type(value).__name__}()"
    return repr(value)


def _variable_default(member: pdoc.doc.Variable) -> str:
    if member.default_value is inspect.Signature.empty:
        return ""
    if isinstance(member.default_value, set | frozenset):
        return _default(member.default_value)
    return _PRIVATE_PATH.sub(r"\1", member.default_value_str)


def module_of(qualname: str) -> str:
    """The public module a qualified name is listed under (the longest that prefixes it)."""
    return next(m for m in sorted(PUBLIC, key=len, reverse=True) if qualname.startswith(m + "."))


def _one_line(obj: object) -> str:
    """`(a: int, *, b: str = 'x') -> T`, annotations as the source spells them."""
    try:
        signature = inspect.signature(obj)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""
    parts: list[str] = []
    star_done = False
    kinds = inspect.Parameter
    for i, p in enumerate(signature.parameters.values()):
        if p.kind is kinds.KEYWORD_ONLY and not star_done:
            parts.append("*")
            star_done = True
        stars = (
            "*" if p.kind is kinds.VAR_POSITIONAL else "**" if p.kind is kinds.VAR_KEYWORD else ""
        )
        text = stars + p.name
        if p.kind is kinds.VAR_POSITIONAL:
            star_done = True
        if p.annotation is not p.empty:
            text += f": {_annotation(p.annotation)}"
        if p.default is not p.empty:
            default = _default(p.default)
            text += f" = {default}" if p.annotation is not p.empty else f"={default}"
        parts.append(text)
        following = list(signature.parameters.values())[i + 1 : i + 2]
        if p.kind is kinds.POSITIONAL_ONLY and (
            not following or following[0].kind is not kinds.POSITIONAL_ONLY
        ):
            parts.append("/")
    out = f"({', '.join(parts)})"
    if signature.return_annotation is not signature.empty:
        out += f" -> {_annotation(signature.return_annotation)}"
    return _PRIVATE_PATH.sub(r"\1", out)


def _member_entries(owner: str, cls: pdoc.doc.Class) -> Iterator[Entry]:
    for member in cls.own_members:
        if member.name.startswith("_") and member.name != "__init__":
            continue
        if member.name == "__init__":
            continue  # the class line carries the constructor's signature
        qualname = f"{owner}.{member.name}"
        if isinstance(member, pdoc.doc.Function):
            yield Entry(qualname, "method", _one_line(member.obj), member.docstring)
        elif isinstance(member, pdoc.doc.Variable):
            is_property = isinstance(inspect.getattr_static(cls.obj, member.name, None), property)
            annotation = _PRIVATE_PATH.sub(r"\1", member.annotation_str)
            default = "" if is_property else _variable_default(member)
            sig = annotation + (f" = {default}" if default else "")
            yield Entry(qualname, "property" if is_property else "attribute", sig, member.docstring)


def entries() -> list[Entry]:
    """Every public name of every public module, with its public members."""
    out: list[Entry] = []
    warnings.filterwarnings("ignore", message="Found '.*' in .*__all__, but it does not resolve")
    for module_name in PUBLIC:
        module = importlib.import_module(module_name)
        doc = pdoc.doc.Module(module)
        for name in module.__all__:
            member = doc.members.get(name)
            qualname = f"{module_name}.{name}"
            obj = getattr(module, name)
            if inspect.isfunction(obj) and not isinstance(member, pdoc.doc.Function):
                # imported on first use (relive.bench's runs): pdoc cannot follow them
                doc_text = inspect.getdoc(obj) or ""
                out.append(Entry(qualname, "function", _one_line(obj), doc_text))
            elif member is None or name == "__version__":  # the version is not a signature
                out.append(Entry(qualname, "variable", "", "The installed package's version."))
            elif isinstance(member, pdoc.doc.Class):
                plain = issubclass(member.obj, BaseException) or getattr(
                    member.obj, "_is_protocol", False
                )
                signature = "" if plain else _one_line(member.obj).removesuffix(" -> None")
                out.append(Entry(qualname, "class", signature, member.docstring))
                out.extend(_member_entries(qualname, member))
            elif isinstance(member, pdoc.doc.Function):
                out.append(Entry(qualname, "function", _one_line(member.obj), member.docstring))
            else:
                value = _PRIVATE_PATH.sub(r"\1", getattr(member, "default_value_str", ""))
                out.append(Entry(qualname, "variable", f" = {value}" if value else "", ""))
    return out


def signatures() -> dict[str, str]:
    """qualified name -> its kind and signature: what the API test compares."""
    return {e.qualname: f"{e.kind} {e.signature}".rstrip() for e in entries()}


def markdown() -> str:
    """docs/api.md: every public name, module by module, with its signature and docstring."""
    lines = [
        "# API reference",
        "",
        "Generated from the docstrings by `make docs` (tools/apidoc.py, with pdoc); do not edit.",
        "`make test` fails when it is stale. Every name here is public; anything else (every",
        "underscored module) may change without notice.",
    ]
    module = ""
    for entry in entries():
        owner = next(
            m for m in sorted(PUBLIC, key=len, reverse=True) if entry.qualname.startswith(m + ".")
        )
        if owner != module:
            module = owner
            doc = (importlib.import_module(module).__doc__ or "").strip()
            lines += ["", f"## `{module}`", "", doc]
        name = entry.qualname.removeprefix(module + ".")
        level = "####" if entry.kind in ("method", "property", "attribute") else "###"
        lines += ["", f"{level} `{name}` ({entry.kind})", ""]
        if entry.signature:
            lines += ["```python", f"{name.rsplit('.', 1)[-1]}{entry.signature}", "```", ""]
        if entry.doc.strip():
            lines += [entry.doc.strip(), ""]
    return "\n".join(line.rstrip() for line in lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write docs/api.md, check it is current, or print the signatures."""
    parser = argparse.ArgumentParser(prog="python -m tools.apidoc", description=__doc__)
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--check", action="store_true", help="fail if docs/api.md is stale")
    what.add_argument("--signatures", action="store_true", help="print the public signatures")
    args = parser.parse_args(argv)
    if args.signatures:
        for name, signature in signatures().items():
            print(f"{name} {signature}")
        return 0
    text = markdown()
    if args.check:
        if not API_MD.exists() or API_MD.read_text() != text:
            print("docs/api.md is stale: run `make docs`", file=sys.stderr)
            return 1
        return 0
    API_MD.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
