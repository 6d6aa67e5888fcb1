"""What the manager adds to the app's config, and how it reads the ways a connection ends."""

from __future__ import annotations

import warnings

import pytest
import websockets
from google.genai import errors, types
from websockets.frames import Close

from relive import CompressionWarning, Policy
from relive.session import _config as session_config
from relive.session._failures import Failure, classify
from relive.session._link import failure_from


def test_sliding_window_and_resumption_are_on_by_default() -> None:
    cfg = session_config.prepare(None, policy=Policy(), mode="text")
    assert cfg.context_window_compression is not None
    assert cfg.context_window_compression.sliding_window is not None
    assert cfg.session_resumption == types.SessionResumptionConfig()


def test_the_apps_own_compression_wins_and_its_config_is_not_mutated() -> None:
    own = types.ContextWindowCompressionConfig(
        trigger_tokens=1000, sliding_window=types.SlidingWindow(target_tokens=500)
    )
    app = types.LiveConnectConfig(context_window_compression=own)
    cfg = session_config.prepare(app, policy=Policy(), mode="call")
    assert cfg.context_window_compression == own
    assert app.session_resumption is None  # a copy was changed, not the app's object


def test_audio_without_sliding_window_warns() -> None:
    with pytest.warns(CompressionWarning, match="slidingWindow"):
        session_config.prepare(
            {"response_modalities": ["AUDIO"]}, policy=Policy(compression=False), mode="text"
        )
    with pytest.warns(CompressionWarning):
        session_config.prepare(None, policy=Policy(compression=False), mode="call")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        session_config.prepare(
            {"response_modalities": ["TEXT"]}, policy=Policy(compression=False), mode="call"
        )
        session_config.prepare({"response_modalities": ["AUDIO"]}, policy=Policy(), mode="call")


def test_with_handle_keeps_transparent() -> None:
    cfg = session_config.prepare(
        {"session_resumption": {"transparent": True}}, policy=Policy(), mode="text"
    )
    resumed = session_config.with_handle(cfg, "h")
    assert resumed.session_resumption == types.SessionResumptionConfig(handle="h", transparent=True)
    assert cfg.session_resumption is not None and cfg.session_resumption.handle is None


def test_bad_config_is_a_clear_error() -> None:
    with pytest.raises(TypeError, match="LiveConnectConfig"):
        session_config.prepare("TEXT", policy=Policy(), mode="text")  # type: ignore[arg-type]


def test_client_keepalive_timeout_is_a_drop_worth_retrying() -> None:
    # websockets closes with 1011 when the server answers pings too slowly (the SDK keeps the
    # default 20 s ping timeout); the close frame is one the client sent, not received.
    exc = websockets.ConnectionClosedError(None, Close(1011, "keepalive ping timeout"), None)
    failure = failure_from(exc)
    assert failure.code == 1011 and "keepalive" in failure.reason
    assert classify(failure, with_handle=True, saw_traffic=True) == "transient"
    # The SDK reports the same close as APIError 1006 (it reads only received frames).
    sdk = failure_from(errors.APIError(1006, "Abnormal closure."))
    assert sdk == Failure(reason="Abnormal closure.", code=1006)
    assert classify(sdk, with_handle=True, saw_traffic=False) == "transient"


GOAWAY_CLOSE = (
    "Connection aborted because the client failed to close the connection after receiving a "
    "GoAway signal once the session durat"
)


@pytest.mark.parametrize(
    ("failure", "with_handle", "verdict"),
    [
        (Failure("Resumption failed: expired", code=1007), True, "rejected_handle"),
        (Failure("session not found", code=1008), True, "rejected_handle"),
        # Resumption refused while the server holds the old connection: retried, and timed
        # (Policy.resume_refused_for); it used to be plain "transient".
        (Failure("Internal error encountered.", code=1011), True, "resume_refused"),
        (Failure(GOAWAY_CLOSE, code=1008), True, "transient"),
        (Failure(GOAWAY_CLOSE, code=1008), False, "transient"),
        (Failure("The operation was aborted.", code=1008), True, "transient"),  # 3.1 idle
        (Failure("API key not valid", code=1008), False, "fatal"),
        (Failure("nope", http_status=403), False, "fatal"),
        (Failure("Deadline expired", code=1011), False, "transient"),
        (Failure("network error: refused"), True, "transient"),
    ],
)
def test_classify(failure: Failure, with_handle: bool, verdict: str) -> None:
    assert classify(failure, with_handle=with_handle, saw_traffic=False) == verdict
