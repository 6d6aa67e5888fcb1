"""The conformance checks: each opens short Live sessions with the official SDK and compares what
the server does with what the real service is reported to do (`_families`), saying why a client
cares. A check that does not apply to a model family is left out for it."""

from __future__ import annotations

import base64
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from google.genai import types

from relive.conformance._families import Family
from relive.conformance._probe import Probe, ProbeClosedError, Record, record

SETUP_WAIT = 3.0  # seconds to watch for a handle before any input
TURN_WAIT = 30.0  # seconds for an answer to come
AFTER_TURN_WAIT = 3.0  # seconds to watch for the handle that follows a turn
CLOSE_WAIT = 3.0  # seconds for a close the server owes
GOAWAY_SLACK = 60.0  # beyond the lifetime, for the goAway and the deadline close
NOT_FOUND = "BidiGenerateContent session not found"
GOAWAY_CLOSE = "Connection aborted because the client failed to close the connection"
SILENCE = base64.b64encode(b"\0\0" * 1600).decode()  # 100 ms of 16 kHz PCM


@dataclass(frozen=True)
class Outcome:
    """What a check saw. `passed` None: nothing is reported to compare with (shown only)."""

    passed: bool | None
    observed: str


@dataclass(frozen=True)
class Check:
    """One rule of the real service, checked on the wire."""

    name: str
    why: str
    expects: Callable[[Family], str | None]  # None: the rule does not apply to the family
    run: Callable[[Probe], Awaitable[Outcome]]
    slow: bool = False  # takes minutes against the real service (a full connection lifetime)


def _close(expected_code: int, reason_start: str, closed: ProbeClosedError | None) -> Outcome:
    if closed is None:
        return Outcome(False, "no close")
    f = closed.failure
    ok = f.code == expected_code and f.reason.startswith(reason_start)
    return Outcome(ok, closed.short())


async def _expect_close(
    probe: Probe,
    code: int,
    reason_start: str,
    *,
    config: types.LiveConnectConfig | None = None,
    model: str | None = None,
    api_key: str | None = None,
    api_version: str | None = None,
    then: Callable[[object], Awaitable[None]] | None = None,
) -> Outcome:
    """Open a session (then send `then`'s message) and compare how the server closes it."""
    try:
        async with probe.session(
            config, model=model, api_key=api_key, api_version=api_version
        ) as session:
            if then is not None:
                await then(session)
            rec = await record(session, CLOSE_WAIT)
    except ProbeClosedError as refused:
        return _close(code, reason_start, refused)
    return _close(code, reason_start, rec.closed)


async def _turn(probe: Probe, session: object) -> Record:
    await probe.say(session, "Hello")
    rec = await record(session, TURN_WAIT, stop=lambda r: "turnComplete" in r.kinds())
    if rec.closed is None:
        more = await record(session, AFTER_TURN_WAIT, stop=lambda r: "handle" in r.kinds())
        rec.seen.extend(more.seen[1:])
        rec.closed = more.closed
        rec.handle = more.handle or rec.handle
    return rec


# -- the checks --------------------------------------------------------------------------------


async def _setup(probe: Probe) -> Outcome:
    try:
        async with probe.session() as session:
            rec = await record(session, 1.0)
    except ProbeClosedError as refused:
        return Outcome(False, refused.short())
    return Outcome(rec.closed is None, rec.closed.short() if rec.closed else "setupComplete")


def _by(flag: bool | None, *, unknown: str, yes: str, no: str) -> str:
    """The expectation for a reported yes/no, or what is shown when nothing is reported."""
    return unknown if flag is None else yes if flag else no


def _expects_handle_at_setup(f: Family) -> str:
    return _by(
        f.handle_at_setup,
        unknown="(not reported) whether a resumable handle comes before any input",
        yes=f"a resumable handle within {SETUP_WAIT:g}s of setupComplete, before any input",
        no=f"no resumable handle in the {SETUP_WAIT:g}s after setupComplete without input",
    )


async def _handle_at_setup(probe: Probe) -> Outcome:
    try:
        async with probe.session() as session:
            rec = await record(session, SETUP_WAIT, stop=lambda r: r.handle is not None)
    except ProbeClosedError as refused:
        return Outcome(False, refused.short())
    seen = rec.first("handle")
    observed = "no handle" if seen is None else f"handle after {seen:.1f}s"
    expected = probe.family.handle_at_setup
    return Outcome(None if expected is None else (seen is not None) == expected, observed)


def _expects_turn_order(f: Family) -> str:
    return _by(
        f.handle_after_turn,
        unknown="generationComplete, then turnComplete",
        yes="generationComplete, then turnComplete, then a resumable handle",
        no="generationComplete, then turnComplete, and no handle after it",
    )


async def _turn_order(probe: Probe) -> Outcome:
    try:
        async with probe.session() as session:
            rec = await _turn(probe, session)
    except ProbeClosedError as refused:
        return Outcome(False, refused.short())
    order = [k for k in rec.kinds() if k in ("generationComplete", "turnComplete", "handle")]
    observed = " → ".join(order) + (f"; {rec.closed.short()}" if rec.closed else "")
    if "generationComplete" not in order or "turnComplete" not in order:
        return Outcome(False, observed or "no answer")
    turn = order.index("turnComplete")
    ok = order.index("generationComplete") < turn and rec.closed is None
    after = "handle" in order[turn:]
    if probe.family.handle_after_turn is not None:
        ok = ok and after == probe.family.handle_after_turn
    return Outcome(ok, observed)


async def _invalid_handle(probe: Probe) -> Outcome:
    resumption = types.SessionResumptionConfig(handle="relive-conformance-no-such-handle")
    config = probe.config(session_resumption=resumption)
    return await _expect_close(probe, 1008, NOT_FOUND, config=config)


async def _unknown_model(probe: Probe) -> Outcome:
    model = "gemini-0.0-relive-no-such-model"
    return await _expect_close(probe, 1008, f"models/{model} is not found for API", model=model)


async def _bad_key(probe: Probe) -> Outcome:
    return await _expect_close(
        probe, 1007, "API key not valid", api_key="relive-conformance-invalid-key"
    )


async def _text_modality(probe: Probe) -> Outcome:
    config = probe.config(response_modalities=[types.Modality.TEXT])
    why = "The requested combination of response modalities (TEXT) is not supported"
    return await _expect_close(probe, 1007, why, config=config)


def _expects_client_content(f: Family) -> str:
    if f.client_content_mid_session:
        return "a clientContent user turn after setup is answered (turnComplete)"
    return 'close 1007 "Request contains an invalid argument."'


async def _client_content(probe: Probe) -> Outcome:
    turn = types.Content(role="user", parts=[types.Part(text="Hello")])
    if not probe.family.client_content_mid_session:

        async def send(session: object) -> None:
            await session.send_client_content(turns=turn, turn_complete=True)  # type: ignore[attr-defined]

        return await _expect_close(probe, 1007, "Request contains an invalid argument.", then=send)
    try:
        async with probe.session() as session:
            await session.send_client_content(turns=turn, turn_complete=True)
            rec = await record(session, TURN_WAIT, stop=lambda r: "turnComplete" in r.kinds())
    except ProbeClosedError as refused:
        return Outcome(False, refused.short())
    if "turnComplete" in rec.kinds():
        return Outcome(True, "answered")
    return Outcome(False, rec.closed.short() if rec.closed else "no answer")


def _expects_media_chunks(f: Family) -> str:
    return _by(
        f.media_chunks,
        unknown="(not reported) whether realtimeInput.mediaChunks is still taken",
        yes="realtimeInput.mediaChunks is taken",
        no='close 1007 "realtime_input.media_chunks is deprecated. Use audio, video, or text..."',
    )


async def _media_chunks(probe: Probe) -> Outcome:
    blob = types.Blob(data=base64.b64decode(SILENCE), mime_type="audio/pcm;rate=16000")

    async def send(session: object) -> None:
        await session.send_realtime_input(media=blob)  # type: ignore[attr-defined]

    outcome = await _expect_close(
        probe, 1007, "realtime_input.media_chunks is deprecated", then=send
    )
    if probe.family.media_chunks is None:
        return Outcome(None, outcome.observed)
    if probe.family.media_chunks:
        return Outcome(outcome.observed == "no close", outcome.observed)
    return outcome


async def _v1alpha_field(probe: Probe) -> Outcome:
    config = probe.config(proactivity=types.ProactivityConfig(proactive_audio=True))
    return await _expect_close(
        probe, 1007, 'Invalid JSON payload received. Unknown name "proactivity"', config=config
    )


def _answered_with_handle(rec: Record) -> bool:
    return rec.handle is not None and "turnComplete" in rec.kinds()


async def _resume_while_held(probe: Probe) -> Outcome:
    try:
        async with probe.session() as first:
            rec = await record(first, SETUP_WAIT, stop=lambda r: r.handle is not None)
            if rec.handle is None:  # 2.x: after the first turn; 3.1: while input comes
                await probe.say(first, "Hello")
                rec = await record(first, TURN_WAIT, stop=_answered_with_handle)
            if rec.handle is None:
                return Outcome(False, "no resumable handle came to try with")
            resumption = types.SessionResumptionConfig(handle=rec.handle)
            config = probe.config(session_resumption=resumption)
            return await _expect_close(probe, 1011, "Internal error", config=config)
    except ProbeClosedError as refused:
        return Outcome(False, f"the first session: {refused.short()}")


async def _ephemeral_token(probe: Probe) -> Outcome:
    with warnings.catch_warnings():  # the SDK marks auth_tokens experimental
        warnings.simplefilter("ignore")
        minter = probe.client(api_version="v1alpha")
        try:
            token = await minter.aio.auth_tokens.create(config=types.CreateAuthTokenConfig(uses=1))
        except Exception as exc:
            return Outcome(False, f"auth_tokens.create failed: {type(exc).__name__}: {exc}"[:160])
    name = token.name or ""
    if not name.startswith("auth_tokens/"):
        return Outcome(False, "auth_tokens.create returned no auth_tokens/ name")
    try:
        async with probe.session(api_key=name, api_version="v1alpha") as session:
            first = await record(session, 1.0)
    except ProbeClosedError as refused:
        return Outcome(False, f"the token's first session: {refused.short()}")
    if first.closed is not None:
        return Outcome(False, f"the token's first session: {first.closed.short()}")
    again = await _expect_close(
        probe, 1011, "Token has been used too many times", api_key=name, api_version="v1alpha"
    )
    return Outcome(again.passed, f"minted, one session, then {again.observed}")


async def _goaway(probe: Probe) -> Outcome:
    try:
        async with probe.session() as session:
            rec = await record(session, probe.lifetime + GOAWAY_SLACK)
    except ProbeClosedError as refused:
        return Outcome(False, refused.short())
    goaways = [k for k in rec.kinds() if k.startswith("goAway")]
    observed = ", ".join(goaways) or "no goAway"
    if rec.closed is None:
        return Outcome(False, f"{observed}; no close")
    ok = bool(goaways) and rec.closed.failure.code == 1008
    ok = ok and rec.closed.failure.reason.startswith(GOAWAY_CLOSE)
    return Outcome(ok, f"{observed}; {rec.closed.short()}")


def _always(text: str) -> Callable[[Family], str]:
    return lambda _family: text


CHECKS: tuple[Check, ...] = (
    Check(
        "setup",
        "everything else starts here: a Live socket answers setup with setupComplete",
        _always("setupComplete, and the socket stays open"),
        _setup,
    ),
    Check(
        "handle_at_setup",
        "a client dropped before its first handle cannot resume and must start anew; when the "
        "first handle comes decides how often that happens",
        _expects_handle_at_setup,
        _handle_at_setup,
    ),
    Check(
        "turn_order",
        "the SDK's receive() stops at turnComplete, so the handle that follows it is missed "
        "unless the client keeps receiving; a handle taken before the turn ends lacks it",
        _expects_turn_order,
        _turn_order,
    ),
    Check(
        "invalid_handle",
        "a refused handle means start anew, a drop means resume again: the close tells them apart",
        _always(f'close 1008 "{NOT_FOUND}"'),
        _invalid_handle,
    ),
    Check(
        "resume_while_held",
        "the service refuses a resumption while it holds the old socket: a client must close "
        "the old connection first, and retry (for ~15 min after a silent network drop)",
        _always('close 1011 "Internal error encountered."'),
        _resume_while_held,
    ),
    Check(
        "unknown_model",
        "a wrong model name is a configuration error: give up at once, do not retry",
        _always('close 1008 "models/<id> is not found for API version v1beta, or is not ..."'),
        _unknown_model,
    ),
    Check(
        "bad_key",
        "a bad key must end the attempts at once; the real service says so with 1007, not "
        "HTTP 401 or 1008",
        _always('close 1007 "API key not valid. Please pass a valid API key."'),
        _bad_key,
    ),
    Check(
        "text_modality",
        "native-audio and 3.x models speak only: asking for TEXT fails the setup",
        lambda f: (
            None
            if f.text_output
            else 'close 1007 "The requested combination of response modalities (TEXT) is not ..."'
        ),
        _text_modality,
    ),
    Check(
        "client_content_mid_session",
        "3.1 takes clientContent only as initial history: text must go as realtimeInput.text, "
        "and restoring history mid-session kills the socket",
        _expects_client_content,
        _client_content,
    ),
    Check(
        "media_chunks",
        "the deprecated mediaChunks field (the SDK's `media=`) is refused by 3.1",
        _expects_media_chunks,
        _media_chunks,
    ),
    Check(
        "v1alpha_field",
        "proactivity and affective dialog exist only in v1alpha: on v1beta the setup is refused",
        _always('close 1007 "Invalid JSON payload received. Unknown name "proactivity" at ..."'),
        _v1alpha_field,
    ),
    Check(
        "ephemeral_token",
        "browser apps connect to Gemini with short-lived tokens, not the API key: the minted "
        "token opens the Constrained endpoint, and `uses` is enforced",
        _always(
            "auth_tokens.create (v1alpha) gives an auth_tokens/ name; it opens one session; a "
            'second new session with it (uses=1) closes 1011 "Token has been used too many times"'
        ),
        _ephemeral_token,
    ),
    Check(
        "goaway",
        "a connection lives about ten minutes: goAway warns first, and a client that stays past "
        "the deadline is cut with 1008 (1011 before 2026); a client must reconnect in time",
        _always(f'goAway(<timeLeft>), then close 1008 "{GOAWAY_CLOSE}..."'),
        _goaway,
        slow=True,
    ),
)
