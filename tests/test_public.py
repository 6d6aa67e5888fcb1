"""The public surface: one error family, public types for what public functions return."""

from __future__ import annotations

import dataclasses
import enum
import inspect
import typing

import pytest
from google import genai
from google.genai import types

import relive
import relive.bench
import relive.conformance
import relive.emulator
import relive.store
import relive.transcript
import relive.web

PUBLIC = [relive, relive.transcript, relive.emulator, relive.web, relive.bench]


@pytest.mark.parametrize("module", PUBLIC, ids=lambda m: m.__name__)
def test_every_exported_name_resolves(module: object) -> None:
    for name in getattr(module, "__all__", []):
        assert getattr(module, name) is not None, name


def test_every_public_exception_is_in_the_relive_family() -> None:
    errors = [
        obj
        for module in PUBLIC
        for name in module.__all__
        if inspect.isclass(obj := getattr(module, name))
        and issubclass(obj, BaseException)
        and not issubclass(obj, Warning)
    ]
    assert relive.SessionFailedError in errors
    for error in errors:
        assert issubclass(error, relive.ReliveError), error
        assert error.__name__.endswith("Error"), error
    assert issubclass(relive.SessionFailedError, relive.SessionError)
    assert issubclass(relive.SessionFailedError, ConnectionError)
    assert issubclass(relive.BufferFullError, relive.SessionError)
    assert issubclass(relive.SessionClosedError, relive.SessionError)
    assert issubclass(relive.emulator.EmulatorError, relive.ReliveError)
    assert issubclass(relive.web.WebError, relive.ReliveError)


def test_internal_errors_belong_to_their_parts_branch() -> None:
    from relive.emulator._codec import ProtocolError as EmulatorProtocolError
    from relive.emulator._handles import HandleRejectedError
    from relive.web._protocol import ProtocolError as WebProtocolError
    from relive.web._registry import BusyError, ForbiddenError

    for emulator_error in (EmulatorProtocolError, HandleRejectedError):
        assert issubclass(emulator_error, relive.EmulatorError)
    for web_error in (WebProtocolError, BusyError, ForbiddenError):
        assert issubclass(web_error, relive.WebError)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("SessionFailed", "SessionFailedError"),
        ("SessionClosed", "SessionClosedError"),
        ("BufferFull", "BufferFullError"),
    ],
)
def test_renamed_errors_still_resolve_with_a_deprecation_warning(old: str, new: str) -> None:
    with pytest.warns(DeprecationWarning, match=new):
        assert getattr(relive, old) is getattr(relive, new)
    with pytest.raises(AttributeError):
        relive.NoSuchName  # noqa: B018


def test_what_a_live_session_hands_out_is_public() -> None:
    hints = {
        name: typing.get_type_hints(getattr(relive.LiveSession, name).fget)["return"]
        for name in ("state", "transcript", "metrics")
    }
    assert hints == {
        "state": relive.State,
        "transcript": relive.Transcript,
        "metrics": relive.Metrics,
    }
    assert relive.Transcript is relive.transcript.Transcript
    gave_up = typing.get_type_hints(relive.GaveUp)["undelivered"]
    assert typing.get_args(gave_up) == (relive.Undelivered,)


def test_the_version_is_the_installed_packages() -> None:
    from importlib.metadata import version

    assert relive.__version__ == version("relive")


def undocumented(module: object) -> list[str]:
    """Public names of `module` (and their public members) without a docstring of their own."""
    missing = []
    for name in module.__all__:  # type: ignore[attr-defined]
        obj = getattr(module, name)
        if not (inspect.isclass(obj) or inspect.isfunction(obj)):
            continue  # constants and type aliases are described where they are listed
        if not (obj.__doc__ or "").strip():
            missing.append(name)
        if inspect.isclass(obj) and not issubclass(obj, BaseException):
            for member, value in vars(obj).items():
                if member.startswith("_") or (
                    not callable(value) and not isinstance(value, property)
                ):
                    continue
                if not (getattr(value, "__doc__", None) or "").strip():
                    missing.append(f"{name}.{member}")
    return missing


@pytest.mark.parametrize("module", PUBLIC, ids=lambda m: m.__name__)
def test_every_public_name_and_member_has_a_docstring(module: object) -> None:
    assert undocumented(module) == []


def _public_classes() -> set[type]:
    return {obj for m in PUBLIC for name in m.__all__ if inspect.isclass(obj := getattr(m, name))}


def test_the_emulator_and_the_web_backend_hand_out_no_private_type() -> None:
    emu = relive.emulator.Emulator(tls=False)
    backend = relive.web.WebBackend(lambda mode, owner: None, faults=emu.faults)  # type: ignore[arg-type, return-value]
    public = _public_classes()
    for obj in (emu, emu.faults, backend):
        for name, value in vars(obj).items():
            kind = type(value)
            if name.startswith("_") or value is None or kind.__module__.split(".")[0] != "relive":
                continue
            assert kind in public, f"{type(obj).__name__}.{name} is a private {kind.__name__}"
    faults = typing.get_type_hints(relive.web.WebBackend.__init__)["faults"]
    assert typing.get_args(faults) == (relive.web.FaultSwitch, type(None))
    assert isinstance(emu.faults, relive.emulator.Faults)


SIGNED = [*PUBLIC, relive.conformance, relive.store]


def _relive_classes(hint: object) -> typing.Iterator[type]:
    """The classes of relive a type hint names, however deeply (Callable's argument lists too)."""
    if isinstance(hint, list | tuple):
        for item in hint:
            yield from _relive_classes(item)
        return
    if inspect.isclass(hint) and hint.__module__.split(".")[0] == "relive":
        yield hint
    for arg in typing.get_args(hint):
        yield from _relive_classes(arg)


def _signatures(obj: object) -> typing.Iterator[tuple[str, object]]:
    """(where, hint) for a public function, or a public class's constructor, fields, methods."""
    targets = [obj]
    if inspect.isclass(obj):
        methods = [v for k, v in vars(obj).items() if not k.startswith("_") and callable(v)]
        targets = [obj.__init__, *methods]
        if dataclasses.is_dataclass(obj):
            targets.append(obj)
    names = {n: getattr(m, n) for m in SIGNED for n in m.__all__}
    names.update(genai=genai, types=types)
    for target in targets:
        if not callable(target) or (isinstance(target, type) and issubclass(target, enum.Enum)):
            continue
        try:
            hints = typing.get_type_hints(target, localns=names)
        except TypeError:  # a Literal alias, not a function
            continue
        for field, hint in hints.items():
            yield f"{getattr(target, '__qualname__', target)}.{field}", hint


def test_no_public_signature_names_a_private_type() -> None:
    public = {obj for m in SIGNED for n in m.__all__ if inspect.isclass(obj := getattr(m, n))}
    leaks = [
        f"{where}: {kind.__module__}.{kind.__qualname__}"
        for m in SIGNED
        for name in m.__all__
        for where, hint in _signatures(getattr(m, name))
        for kind in _relive_classes(hint)
        if kind not in public
    ]
    assert leaks == []
